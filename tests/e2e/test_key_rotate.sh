#!/usr/bin/env bash
# test_key_rotate.sh: key rotation (issue 6).  Snapshots from before and
# after "key rotate" restore and check --read-data is clean; after "key
# rotate --rewrite" no object names an old key id; SIGKILL at random points
# of --rewrite leaves every snapshot restorable and a rerun completes.
. "$(dirname "$0")/lib.sh"

# key ids in the headers of every index, snapshot and pack object
key_ids() {
	local f
	for f in $(objects index) $(objects snapshots) $(objects data); do
		head -c 16 "$f" | tail -c 8 | od -An -tx1 | tr -d ' \n'
		echo
	done | sort -u
}

restore_all_ok() {
	local n=0 id
	for id in $(dsb --json snapshots | python3 -c 'import json,sys; print(" ".join(s["id"] for s in json.load(sys.stdin)))'); do
		rm -rf "$T/rr"
		expect_rc 0 dsb restore "$id" --target "$T/rr"
		n=$((n + 1))
	done
	[ "$n" -ge 2 ] || fail "only $n snapshot(s)"
}

init_repo
mkdir -p "$T/src"
random_file "$T/src/a" 400000
expect_rc 0 dsb backup "$T/src"
expect_rc 0 dsb key generate --identity "$T/o.id"
cp "$OUT" "$T/o.rcpt"
expect_rc 0 dsb key add --recipient "$(cat "$T/o.rcpt")"
old_ids=$(key_ids)

step "rotate: old and new snapshots restore, check --read-data is clean"
expect_rc 0 dsb key rotate
random_file "$T/src/b" 300000
expect_rc 0 dsb backup "$T/src"
[ "$(key_ids | wc -l)" -eq 2 ] || fail "expected objects under two keys: $(key_ids)"
restore_all_ok
cmp "$T/src/b" "$T/rr$T/src/b" || fail "restored content differs"
expect_rc 0 dsb check --read-data
(unset DSBACKUP_PASSWORD; expect_rc 0 dsb --identity "$T/o.id" restore latest --target "$T/ri")
cmp "$T/src/a" "$T/ri$T/src/a" || fail "identity restore differs"

step "rotate --rewrite, killed at random points, then completed by a rerun"
for i in 1 2 3; do
	random_file "$T/src/c$i" 200000
	expect_rc 0 dsb backup "$T/src"
	expect_rc 0 dsb key rotate
	"$DSB" key rotate --rewrite >"$T/kill.out" 2>&1 &
	pid=$!
	sleep "0.$((RANDOM % 9 + 1))"
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	expect_rc 0 dsb unlock --all
	restore_all_ok
done
expect_rc 0 dsb key rotate --rewrite
ids=$(key_ids)
[ "$(echo "$ids" | wc -l)" -eq 1 ] || fail "objects under several keys after --rewrite: $ids"
for k in $old_ids; do
	[ "$k" != "$ids" ] || fail "an object still names the old key id $k"
done
restore_all_ok
expect_rc 0 dsb check --read-data
(unset DSBACKUP_PASSWORD; expect_rc 0 dsb --identity "$T/o.id" restore latest --target "$T/ri2")
cmp "$T/src/c3" "$T/ri2$T/src/c3" || fail "identity restore after --rewrite differs"
