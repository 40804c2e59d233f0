#!/usr/bin/env bash
# test_incremental.sh: a second backup reads only what changed (unchanged
# files are taken from the parent snapshot without being opened), each
# snapshot restores its own version, and identical content is stored once.
. "$(dirname "$0")/lib.sh"

S="$T/src"
mkdir -p "$S/sub/deep"
printf 'keep me\n' >"$S/keep.txt"
random_file "$S/big.bin" $((5 * 1024 * 1024))
random_file "$S/modify.bin" 200000
printf 'delete me\n' >"$S/sub/delete.txt"
printf 'deep\n' >"$S/sub/deep/file"
nfiles=5

init_repo

step "first backup reads every file"
backup_json "$S"
snap1=$SNAP
[ "$(summary files)" = $nfiles ] || fail "first backup: files = $(summary files), want $nfiles"
[ "$(summary files_new)" = $nfiles ] || fail "first backup: files_new = $(summary files_new)"
total=$(find "$S" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
[ "$(summary bytes_read)" = "$total" ] || fail "first backup read $(summary bytes_read) bytes, want $total"
cp -a "$S" "$T/old"   # the tree as in snapshot 1

step "modify one file (same size, new bytes), add one, delete one"
printf 'CHANGED!' | dd of="$S/modify.bin" bs=1 seek=100000 conv=notrunc status=none
printf 'a new file\n' >"$S/sub/new.txt"
rm "$S/sub/delete.txt"
new_size=$(stat -c %s "$S/sub/new.txt")
mod_size=$(stat -c %s "$S/modify.bin")

step "second backup: unchanged files are not read (bytes_read = modified + new only)"
backup_json "$S"
snap2=$SNAP
[ "$snap1" != "$snap2" ] || fail "the second backup has the same id"
[ "$(summary files)" = $nfiles ] || fail "second backup: files = $(summary files), want $nfiles"
[ "$(summary files_unchanged)" = 3 ] || fail "files_unchanged = $(summary files_unchanged), want 3"
[ "$(summary files_changed)" = 1 ] || fail "files_changed = $(summary files_changed), want 1"
[ "$(summary files_new)" = 1 ] || fail "files_new = $(summary files_new), want 1"
[ "$(summary bytes_read)" = $((new_size + mod_size)) ] ||
    fail "bytes_read = $(summary bytes_read), want $((new_size + mod_size)) (the 5 MiB file was read again?)"
expect_rc 0 dsb --json snapshots
parent=$(json_get "$OUT" "[s.get('parent') for s in j if s['id'] == '$snap2'][0]")
[ "$parent" = "$snap1" ] || fail "snapshot 2 names $parent as its parent, not snapshot 1"

step "restoring the older snapshot gives the old tree, the newer gives the new one"
expect_rc 0 dsb restore "$snap1" --target "$T/r1"
compare_trees "$T/old" "$T/r1$S"
[ -e "$T/r1$S/sub/delete.txt" ] || fail "the deleted file is missing from the old snapshot"
[ ! -e "$T/r1$S/sub/new.txt" ] || fail "the new file appears in the old snapshot"
expect_rc 0 dsb restore "$snap2" --target "$T/r2"
compare_trees "$S" "$T/r2$S"
[ ! -e "$T/r2$S/sub/delete.txt" ] || fail "the deleted file is in the new snapshot"
cmp -s "$T/old/modify.bin" "$T/r2$S/modify.bin" && fail "the new snapshot has the old content"

step "a third backup of an unchanged tree reads nothing"
backup_json "$S"
[ "$(summary bytes_read)" = 0 ] || fail "unchanged tree: bytes_read = $(summary bytes_read)"
[ "$(summary files_unchanged)" = $nfiles ] || fail "unchanged tree: files_unchanged = $(summary files_unchanged)"

step "dedup: the same 5 MiB under another name adds almost nothing"
cp "$S/big.bin" "$S/sub/big-copy.bin"
backup_json "$S"
added=$(summary bytes_added)
note "copy: bytes_read $(summary bytes_read), bytes_added $added"
[ "$(summary bytes_read)" = $((5 * 1024 * 1024)) ] || fail "the copy was not read: bytes_read = $(summary bytes_read)"
[ "$added" -lt 65536 ] || fail "the copy added $added bytes: content was not deduplicated"
expect_rc 0 dsb restore latest --target "$T/r4"
compare_trees "$S" "$T/r4$S"

step "nested directories: the parent's trees, read ahead of the walk, match what is found"
for a in 1 2 3 4 5; do
	for b in 1 2 3; do
		mkdir -p "$S/nest/a$a/b$b"
		printf 'file %s %s\n' $a $b >"$S/nest/a$a/b$b/f"
	done
done
backup_json "$S"
nested=$(find "$S" -type f | wc -l)
[ "$(summary files_new)" = 15 ] || fail "nested: files_new = $(summary files_new), want 15"
# same size and mtime, new bytes, deep down; a directory gone, one renamed, one added
printf 'FILE' | dd of="$S/nest/a4/b2/f" bs=1 seek=0 conv=notrunc status=none
touch -d "$(date -d @"$(stat -c %Y "$S/nest/a4/b1/f")")" "$S/nest/a4/b2/f"
rm -r "$S/nest/a2"
mv "$S/nest/a3" "$S/nest/a3-renamed"
mkdir -p "$S/nest/a6/b1" && printf 'six\n' >"$S/nest/a6/b1/f"
backup_json "$S"
[ "$(summary files)" = $((nested - 3 + 1)) ] || fail "nested: files = $(summary files)"
[ "$(summary files_changed)" = 1 ] || fail "nested: files_changed = $(summary files_changed), want 1"
[ "$(summary files_new)" = 4 ] || fail "nested: files_new = $(summary files_new), want 4 (3 renamed, 1 new)"
expect_rc 0 dsb restore latest --target "$T/r5"
compare_trees "$S" "$T/r5$S"

step "a change of metadata alone (mode, owner, xattr, ACL) is in the next snapshot"
chmod 0640 "$S/sub/deep/file"
chown 4321:4321 "$S/nest/a1/b1/f"
changed=2
if have setfattr && have setfacl; then
	setfattr -n user.note -v "added later" "$S/keep.txt"
	setfacl -m u:12345:r-- "$S/nest/a5/b3/f"
	setfattr -n user.dirnote -v "on a directory" "$S/nest/a1"
	changed=4
else
	note "setfattr/setfacl not installed (packages attr, acl): xattr and ACL changes not tested"
fi
backup_json "$S"
# the ctime of each moved: they are read again, not taken from the parent
[ "$(summary files_changed)" = $changed ] ||
    fail "metadata only: files_changed = $(summary files_changed), want $changed"
[ "$(summary files_unchanged)" = $((nested - 3 + 1 - changed)) ] ||
    fail "metadata only: files_unchanged = $(summary files_unchanged), want $((nested - 3 + 1 - changed))"
expect_rc 0 dsb restore latest --target "$T/r6"
compare_trees "$S" "$T/r6$S"
[ "$(stat -c %a "$T/r6$S/sub/deep/file")" = 640 ] || fail "the new mode is not in the snapshot"
[ "$(stat -c %u:%g "$T/r6$S/nest/a1/b1/f")" = 4321:4321 ] || fail "the new owner is not in the snapshot"
if [ $changed = 4 ]; then
	[ "$(getfattr --only-values -n user.note "$T/r6$S/keep.txt")" = "added later" ] ||
	    fail "the new xattr is not in the snapshot"
	getfacl -cp "$T/r6$S/nest/a5/b3/f" | grep -q '^user:12345:r--' ||
	    fail "the new ACL is not in the snapshot"
	[ "$(getfattr --only-values -n user.dirnote "$T/r6$S/nest/a1")" = "on a directory" ] ||
	    fail "the directory's new xattr is not in the snapshot"
fi

step "a parent's tree read ahead comes damaged: warned, the files below it read again"
# reads of data objects: the trees of / and of each directory above $S, that of $S, then
# those below $S, which the walk reads ahead on other threads: the next one is flipped
k=$(($(tr -cd / <<<"$S" | wc -c) + 2))
DSBACKUP_FAULTS="get/data:flip@$k" expect_rc 0 dsb -r "fault:$REPO" --json backup "$S"
grep -q 'fault injected' "$ERR" || fail "get/data:flip@$k: the fault was never hit"
expect_err "cannot read the tree of $S/[^ ]+ in the parent snapshot [0-9a-f]{16}: .*; reading every file below it again"
load_summary "$OUT"
[ "$(summary bytes_read)" -gt 0 ] || fail "the files below the damaged tree were not read again"
expect_rc 0 dsb restore latest --target "$T/r7"
compare_trees "$S" "$T/r7$S"

step "the repository is consistent"
expect_rc 0 dsb check --read-data
