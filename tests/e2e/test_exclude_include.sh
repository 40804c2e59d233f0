#!/usr/bin/env bash
# test_exclude_include.sh: backup --exclude leaves out what its globs match
# (a pattern without "/" matches names anywhere; a pattern with "/" matches
# a path and everything below it); restore --include writes only matching
# entries and the directories above them, with their metadata.
. "$(dirname "$0")/lib.sh"

S="$T/src"
mkdir -p "$S/docs/drafts" "$S/cache/blobs" "$S/logs/old" "$S/keep"
for f in docs/a.txt docs/b.md docs/drafts/c.txt docs/drafts/scratch.tmp cache/blobs/x cache/top \
    logs/app.log logs/old/app.log.1 keep/k.txt keep/k.tmp top.tmp top.txt; do
	printf '%s\n' "$f" >"$S/$f"
done
chmod 0750 "$S/docs"
chmod 0700 "$S/docs/drafts"
touch -d '2020-02-02 02:02:02.2 UTC' "$S/docs/drafts" "$S/docs"

init_repo

step "backup --exclude '*.tmp' --exclude \$S/cache --exclude '\$S/logs/old'"
backup_json --exclude '*.tmp' --exclude "$S/cache" --exclude "$S/logs/old" "$S"
expect_rc 0 dsb ls "$SNAP"
cp "$OUT" "$T/listing"
for p in docs/drafts/scratch.tmp keep/k.tmp top.tmp cache cache/top cache/blobs/x logs/old logs/old/app.log.1; do
	if grep -Fxq "$S/$p" "$T/listing"; then
		cat "$T/listing"
		fail "excluded $p is in the snapshot"
	fi
done
for p in docs/a.txt docs/b.md docs/drafts/c.txt logs/app.log keep/k.txt top.txt logs; do
	grep -Fxq "$S/$p" "$T/listing" || { cat "$T/listing"; fail "$p is missing from the snapshot"; }
done
expect_rc 0 dsb --json snapshots
[ "$(json_get "$OUT" 'j[0]["excludes"]')" = '["*.tmp", "'"$S"'/cache", "'"$S"'/logs/old"]' ] ||
    fail "the snapshot does not record its excludes: $(json_get "$OUT" 'j[0].get("excludes")')"

step "restore of the whole snapshot has exactly the entries not excluded"
expect_rc 0 dsb restore "$SNAP" --target "$T/all"
(cd "$T/all$S" && find . | sort) >"$T/got"
(cd "$S" && find . ! -name '*.tmp' ! -path './cache*' ! -path './logs/old*' | sort) >"$T/want"
diff -u "$T/want" "$T/got" || fail "restored entries differ from the source minus the excludes"

step "a full backup for the include tests"
backup_json "$S"
full=$SNAP

step "restore --include \$S/docs: docs and everything below, the parents, nothing else"
expect_rc 0 dsb restore "$full" --target "$T/inc1" --include "$S/docs"
(cd "$T/inc1$S" && find . | sort) >"$T/got"
printf '%s\n' . ./docs ./docs/a.txt ./docs/b.md ./docs/drafts ./docs/drafts/c.txt \
    ./docs/drafts/scratch.tmp | sort >"$T/want"
diff -u "$T/want" "$T/got" || fail "--include $S/docs restored the wrong entries"
compare_trees "$S/docs" "$T/inc1$S/docs"

step "restore --include '*.txt': only .txt files, with their directories' metadata"
expect_rc 0 dsb restore "$full" --target "$T/inc2" --include '*.txt'
(cd "$T/inc2$S" && find . | sort) >"$T/got"
printf '%s\n' . ./docs ./docs/a.txt ./docs/drafts ./docs/drafts/c.txt ./keep ./keep/k.txt ./top.txt |
    sort >"$T/want"
diff -u "$T/want" "$T/got" || fail "--include '*.txt' restored the wrong entries"
for d in docs docs/drafts; do
	[ "$(stat -c '%a %y' "$T/inc2$S/$d")" = "$(stat -c '%a %y' "$S/$d")" ] ||
	    fail "parent directory $d restored as $(stat -c '%a %y' "$T/inc2$S/$d"), want $(stat -c '%a %y' "$S/$d")"
done
cmp "$S/docs/drafts/c.txt" "$T/inc2$S/docs/drafts/c.txt" || fail "included file content differs"

step "two --include patterns combine"
expect_rc 0 dsb restore "$full" --target "$T/inc3" --include "$S/logs/app.log" --include '*.md'
(cd "$T/inc3$S" && find . -type f | sort) >"$T/got"
printf '%s\n' ./docs/b.md ./logs/app.log >"$T/want"
diff -u "$T/want" "$T/got" || fail "two --include patterns restored the wrong files"

step "an --include that matches nothing restores nothing and says so in the summary"
expect_rc 0 dsb restore "$full" --target "$T/inc4" --include '*.nothing'
if [ -n "$(find "$T/inc4" -type f)" ]; then
	fail "--include '*.nothing' restored files"
fi
expect_out " 0 files"
