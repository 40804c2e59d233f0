#!/usr/bin/env bash
# test_restore_readahead.sh: restore reads blobs ahead on worker threads
# (src/engine/reader.c) and writes plain files from inside their directory.
# (a) A file whose blobs lie in many packs, in an order unlike the file's
# (its pieces were backed up first, in two backups, then put together in
# another order), restores byte for byte, with many small files, a hard
# link, a sparse file, an empty file, a file with an ACL-free xattr and a
# symlink around it; the whole tree compares equal, with --include too.
# (b) One byte flipped in a pack holding only the middle of that file:
# restore exits 3, names the file and keeps it as NAME.dsbackup-damaged;
# every other file is intact.  (c) A pack deleted: the same containment.
. "$(dirname "$0")/lib.sh"

S="$T/src"
mkdir -p "$S/pieces-a" "$S/pieces-b" "$S/mix/small"
for i in 1 2 3 4; do
	random_file "$S/pieces-a/p$i" 600000
	random_file "$S/pieces-b/q$i" 600000
done

init_repo --pack-size 1048576
step "back up the pieces: first half, then second half (packs of their own)"
backup_json "$S/pieces-a"
find "$REPO/data" -type f ! -name '.tmp-*' | sort >"$T/packs-a"
backup_json "$S/pieces-b"
find "$REPO/data" -type f ! -name '.tmp-*' | sort >"$T/packs-ab"
comm -13 "$T/packs-a" "$T/packs-ab" >"$T/packs-b"
note "$(wc -l <"$T/packs-a") packs of the first half, $(wc -l <"$T/packs-b") of the second"

step "a file made of the pieces in another order, among many small files"
# starts and ends with pieces of the second backup: the first backup's packs hold only its middle
cat "$S/pieces-b/q1" "$S/pieces-a/p3" "$S/pieces-b/q3" "$S/pieces-a/p1" "$S/pieces-a/p4" \
    "$S/pieces-b/q2" "$S/pieces-a/p2" "$S/pieces-b/q4" >"$S/mix/big"
pad=$(head -c 2100 /dev/zero | tr '\0' x)
for i in $(seq 1 300); do
	printf 'small file %s %s\n' "$i" "${pad:0:$((i * 7))}" >"$S/mix/small/f$i"
done
ln "$S/mix/small/f7" "$S/mix/small/link-to-f7"
: >"$S/mix/empty"
truncate -s 3000000 "$S/mix/sparse"
printf 'in the middle' | dd of="$S/mix/sparse" bs=1 seek=1500000 conv=notrunc status=none
ln -s small/f1 "$S/mix/symlink"
if have setfattr; then
	setfattr -n user.note -v hello "$S/mix/small/f9" 2>/dev/null || note "no user xattrs here"
fi
touch -d '2020-01-02 03:04:05' "$S/mix/small" "$S/mix"
backup_json "$S"

step "(a) the whole tree restores equal to the source"
expect_rc 0 dsb restore latest --target "$T/out"
compare_trees "$S" "$T/out$S"
[ "$(stat -c %b "$T/out$S/mix/sparse")" -lt 2000 ] || fail "the sparse file was written whole"

step "(a) --include: the big file alone, and one small file"
expect_rc 0 dsb restore latest --target "$T/out-inc" --include "$S/mix/big" \
    --include "$S/mix/small/f150"
cmp "$S/mix/big" "$T/out-inc$S/mix/big" || fail "big file differs (--include)"
cmp "$S/mix/small/f150" "$T/out-inc$S/mix/small/f150" || fail "f150 differs (--include)"
[ ! -e "$T/out-inc$S/mix/small/f149" ] || fail "--include restored a file it does not match"

# check_contained DIR: after a restore into DIR that exited 3, the big file is
# named and kept as big.dsbackup-damaged, and every file not named is intact.
check_contained() {
	local dir=$1 intact

	expect_err "restoring $S/mix/big: "
	[ ! -e "$dir$S/mix/big" ] || fail "the damaged big file was left under its own name"
	sed -n "s|^dsbackup: error: restoring $S/\([^:]*\): .*|\1|p" "$ERR" | sort -u >"$T/named"
	(cd "$S" && find . -type f | sed 's|^\./||' | sort) | comm -23 - "$T/named" >"$T/unnamed"
	(cd "$S" && xargs -d '\n' -a "$T/unnamed" sha256sum) >"$T/sums"
	(cd "$dir$S" && sha256sum --quiet -c "$T/sums") ||
	    fail "files not named as damaged differ from the source"
	intact=$(wc -l <"$T/unnamed")
	[ "$intact" -ge 300 ] || fail "only $intact files restored intact"
	note "$intact files intact; named: $(tr '\n' ' ' <"$T/named")"
}

step "(b) bytes flipped in a pack of the first half: only the middle of the big file"
PACK=$(xargs -a "$T/packs-a" ls -S | head -1)
cp "$PACK" "$T/pack.orig"
size=$(stat -c %s "$PACK")
# eight blobs or so: whichever the big file shares with the pieces (not those cut at a piece's end)
for k in 1 2 3 4 5 6 7 8; do
	at=$((size * k / 9))
	byte=$(od -An -tu1 -j "$at" -N1 "$PACK" | tr -d ' ')
	printf "\\$(printf '%03o' $(((byte + 1) % 256)))" |
	    dd of="$PACK" bs=1 seek="$at" conv=notrunc status=none
done
expect_rc 3 dsb restore latest --target "$T/out-flip"
check_contained "$T/out-flip"
[ -f "$T/out-flip$S/mix/big.dsbackup-damaged" ] || fail "the damaged big file was not kept"
grep -Fq "the damaged content of $S/mix/big was kept as $S/mix/big.dsbackup-damaged" "$ERR" ||
    fail "restore did not say where the damaged content was kept"

step "(c) that pack deleted instead"
cp "$T/pack.orig" "$PACK"
rm "$PACK"
expect_rc 3 dsb restore latest --target "$T/out-gone"
check_contained "$T/out-gone"
