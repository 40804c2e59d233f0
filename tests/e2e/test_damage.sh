#!/usr/bin/env bash
# test_damage.sh: damaged storage is detected and contained.  (a) one
# flipped byte in a data pack: check --read-data names the pack; restore
# exits 3, names the damaged file, does not leave it under its own name,
# and restores every other file intact.  (b) a truncated pack and (c) a
# deleted pack: check (structure only) names the pack; restore exits 3.
# (d) the only key slot damaged: exit 1 with a message naming the slot as
# damaged (not 12, "wrong password"); with a second, good slot a wrong
# password is exit 12 and names the damaged slot, the right one opens.
# (e) a damaged 3 MiB file (restored through the O_DIRECT stage) is kept
# aside, holding exactly the source's bytes up to the damage.
# Each case uses a repository of its own.
. "$(dirname "$0")/lib.sh"

S="$T/src"
mkdir -p "$S/zz-small"
for i in 1 2 3 4 5 6 7 8; do
	random_file "$S/file$i" 700000
done
for i in 1 2 3; do
	printf 'small %s\n' "$i" >"$S/zz-small/s$i"
done

# new_repo NAME: a repository with 1 MiB packs holding one backup of $S; sets REPO
new_repo() {
	REPO="$T/$1"
	export DSBACKUP_REPOSITORY="$REPO"
	init_repo --pack-size 1048576
	backup_json "$S"
	npacks=$(count_objects data)
	[ "$npacks" -ge 4 ] || fail "expected several packs, got $npacks"
	# the largest pack is full of file data (trees are tiny and written last)
	PACK=$(objects data -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)
	PACK_ID=$(basename "$PACK")
	note "$npacks packs; damaging $PACK_ID"
}

# check_restore_contained DIR: after restore into DIR failed with 3, every
# file named on stderr is absent under its own name, at least one is, and
# every file not named is intact.
check_restore_contained() {
	local dir=$1 damaged=0 intact=0 f

	for f in $(cd "$S" && find . -type f | sed 's|^\./||' | sort); do
		if grep -Fq "restoring $S/$f:" "$ERR"; then
			damaged=$((damaged + 1))
			[ ! -e "$dir$S/$f" ] || fail "damaged $f was left under its own name"
			note "damaged: $f$( [ -e "$dir$S/$f.dsbackup-damaged" ] && echo " (kept as $f.dsbackup-damaged)")"
		else
			intact=$((intact + 1))
			cmp -s "$S/$f" "$dir$S/$f" || fail "$f is not named as damaged but differs from the source"
		fi
	done
	[ "$damaged" -ge 1 ] || { show_output restore; fail "restore named no damaged file"; }
	[ "$intact" -ge 1 ] || fail "no file was restored intact"
	note "$damaged damaged, $intact intact"
}

step "(a) flip one byte in the middle of a data pack"
new_repo repo-flip
size=$(stat -c %s "$PACK")
byte=$(od -An -tu1 -j $((size / 2)) -N1 "$PACK" | tr -d ' ')
printf "\\$(printf '%03o' $(((byte + 1) % 256)))" |
    dd of="$PACK" bs=1 seek=$((size / 2)) conv=notrunc status=none
step "(a) check --read-data fails and names the pack"
expect_rc 1 dsb check --read-data
expect_err "$PACK_ID"
step "(a) restore exits 3, names the damaged file, restores the others intact"
expect_rc 3 dsb restore latest --target "$T/out-flip"
expect_err "restoring $S/file[0-9]"
check_restore_contained "$T/out-flip"
for i in 1 2 3; do
	cmp -s "$S/zz-small/s$i" "$T/out-flip$S/zz-small/s$i" || fail "small file s$i not restored"
done

step "(b) truncate a pack: check without --read-data fails and names it"
new_repo repo-trunc
truncate -s $(($(stat -c %s "$PACK") / 2)) "$PACK"
expect_rc 1 dsb check
expect_err "$PACK_ID"
step "(b) restore exits 3, other files intact"
expect_rc 3 dsb restore latest --target "$T/out-trunc"
check_restore_contained "$T/out-trunc"

step "(c) delete a pack: check fails, saying it is missing"
new_repo repo-del
rm "$PACK"
expect_rc 1 dsb check
expect_err "$PACK_ID.*missing|missing.*$PACK_ID"
step "(c) restore exits 3, names the missing pack, other files intact"
expect_rc 3 dsb restore latest --target "$T/out-del"
expect_err "$PACK_ID"
check_restore_contained "$T/out-del"

step "(d) the only key slot damaged: exit 1 (the repository is damaged), not 12 (wrong password)"
new_repo repo-key
SLOT=$(objects keys | head -1)
truncate -s $(($(stat -c %s "$SLOT") / 2)) "$SLOT"
expect_rc 1 dsb snapshots
expect_err "ignoring key slot [0-9a-f]{16}: "
expect_err "no key slot of .* could be tried: 1 key slot\(s\) damaged, the first keys/[0-9a-f]{16}\.\.\.: .*the repository is damaged, not the password wrong"
step "(d) a wrong password with a damaged slot beside a good one: exit 12, naming the damaged slot"
new_repo repo-key2
printf 'second password\n' >"$T/pw2"
expect_rc 0 dsb key add --new-password-file "$T/pw2"
[ "$(count_objects keys)" = 2 ] || fail "expected 2 key slots"
SLOT=$(objects keys | head -1)
truncate -s $(($(stat -c %s "$SLOT") / 2)) "$SLOT"
DSBACKUP_PASSWORD=wrong expect_rc 12 dsb snapshots
expect_err "wrong password for .*; 1 other key slot\(s\) are damaged and could not be tried, the first keys/[0-9a-f]{16}"
step "(d) the undamaged slot still opens the repository with its own password"
if DSBACKUP_PASSWORD="second password" dsb snapshots >/dev/null 2>&1; then
	note "the second password opens its slot"
else
	expect_rc 0 dsb snapshots
	note "the first password opens its slot"
fi

step "(e) a damaged big file (restored with O_DIRECT) is kept aside as far as it came"
# 1 MiB and more go through restore's O_DIRECT stage (restore.c); one byte is flipped in the
# middle pack of a 3 MiB file, so blobs before it are written and the damaged one stops it
BIG="$T/src-big"
mkdir -p "$BIG"
random_file "$BIG/big" $((3 * 1024 * 1024 + 999))
REPO="$T/repo-big"
export DSBACKUP_REPOSITORY="$REPO"
init_repo --pack-size 1048576
backup_json "$BIG"
mapfile -t packs < <(objects data -printf '%s %p\n' | sort -n | awk '$1 > 500000 { print $2 }')
[ "${#packs[@]}" -ge 3 ] || fail "expected at least 3 full packs, got ${#packs[@]}"
pack=${packs[1]}
size=$(stat -c %s "$pack")
byte=$(od -An -tu1 -j $((size / 2)) -N1 "$pack" | tr -d ' ')
printf "\\$(printf '%03o' $(((byte + 1) % 256)))" | dd of="$pack" bs=1 seek=$((size / 2)) conv=notrunc status=none
expect_rc 3 dsb restore latest --target "$T/out-big"
expect_err "restoring $BIG/big:"
[ ! -e "$T/out-big$BIG/big" ] || fail "the damaged big file was left under its own name"
kept="$T/out-big$BIG/big.dsbackup-damaged"
[ -f "$kept" ] || fail "the damaged big file was not kept aside"
n=$(stat -c %s "$kept")
note "kept $n of $(stat -c %s "$BIG/big") bytes"
[ "$n" -gt 0 ] || fail "nothing of the damaged big file was kept"
cmp -n "$n" "$BIG/big" "$kept" || fail "what was kept of the damaged big file is not the source's start"
