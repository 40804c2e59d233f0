#!/usr/bin/env bash
# test_disk_full.sh: a device that fills up.  Each case uses a small tmpfs
# (root needed: skipped with the reason when mount fails):
#   (a) the repository's: a backup fails with a clear "no space" message
#       (exit 1), writes no snapshot and leaves no temporary file; check is
#       clean, the earlier snapshot restores; once a big unrelated file is
#       deleted, the next backup succeeds;
#   (b) the catalog's (DSBACKUP_STATE_DIR): the same, the message naming
#       the catalog;
#   (c) the restore target's: restore fails (exit non-zero) with a message
#       naming the target and saying that it is full; once there is room,
#       the restore is bit for bit.
. "$(dirname "$0")/lib.sh"

MOUNTS=()
# mount_tmpfs DIR SIZE: a tmpfs of SIZE (as mount -o size= takes it) on DIR
mount_tmpfs() {
	mkdir -p "$1"
	mount -t tmpfs -o "size=$2,mode=0755" tmpfs "$1" 2>"$T/mount.err" ||
	    skip_test "cannot mount a tmpfs (root and CAP_SYS_ADMIN needed): $(cat "$T/mount.err")"
	MOUNTS+=("$1")
}
umount_all() {
	local m

	for m in "${MOUNTS[@]}"; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	MOUNTS=()
}
# unmount before lib.sh removes $T; e2e_cleanup reads the exit status from $?
trap 'rc=$?; umount_all; (exit $rc); e2e_cleanup' EXIT

# fill DIR KEEP_KIB: a big unrelated file on DIR's device leaves KEEP_KIB free
fill() {
	local free

	free=$(df -k --output=avail "$1" | tail -1)
	[ "$free" -gt "$2" ] || fail "$1 has only ${free} KiB free"
	head -c $(((free - $2) * 1024)) /dev/zero >"$1/big-unrelated-file"
}

S="$T/src"
mkdir -p "$S/small" "$S/big"
printf 'small file\n' >"$S/small/a"
random_file "$S/small/b" 100000
nsnapshots() {
	find "$REPO/snapshots" -type f | wc -l
}

step "(a) the repository on a 40 MiB tmpfs: a first small backup"
mount_tmpfs "$T/repofs" 40m
REPO="$T/repofs/repo"
export DSBACKUP_REPOSITORY="$REPO"
init_repo --pack-size 1048576
backup_json "$S"
FIRST=$SNAP
tree_listing "$S" >"$T/first.listing"

step "(a) fill it to 4 MiB free; a backup of 12 MiB more fails: no space, exit 1"
fill "$T/repofs" 4096
for i in 1 2 3 4 5 6; do
	random_file "$S/big/f$i" 2000000
done
expect_rc 1 dsb backup "$S"
expect_err 'putting data/[0-9a-f]{2}/[0-9a-f]{64}: .*[Nn]o space left on device'
note "$(grep -m1 -i 'no space' "$ERR" | cut -c1-200)"
[ "$(nsnapshots)" = 1 ] || fail "the failed backup left a snapshot"
leftover=$(find "$REPO" -name '.tmp-*' | wc -l)
[ "$leftover" = 0 ] || fail "the failed backup left $leftover temporary file(s) in the repository"

step "(a) check is clean, the first snapshot restores bit for bit"
expect_rc 0 dsb check
expect_rc 0 dsb restore "$FIRST" --target "$T/r1"
tree_listing "$T/r1$S" | diff -u "$T/first.listing" - >&2 || fail "the first snapshot differs"

step "(a) delete the unrelated file: the next backup succeeds and restores"
rm "$T/repofs/big-unrelated-file"
backup_json "$S"
tree_listing "$S" >"$T/second.listing"
SECOND=$SNAP
expect_rc 0 dsb check --read-data
expect_rc 0 dsb restore "$SECOND" --target "$T/r2"
tree_listing "$T/r2$S" | diff -u "$T/second.listing" - >&2 || fail "the second snapshot differs"

step "(b) the catalog on a 2 MiB tmpfs, filled: a backup fails naming the catalog"
mount_tmpfs "$T/statefs" 2m
export DSBACKUP_STATE_DIR="$T/statefs/state"
expect_rc 0 dsb snapshots   # builds the catalog there
catalog=$(find "$DSBACKUP_STATE_DIR" -name '*.db')
[ -n "$catalog" ] || fail "no catalog below $DSBACKUP_STATE_DIR"
fill "$T/statefs" 0
random_file "$S/big/g1" 3000000
before=$(nsnapshots)
rc=0
dsb backup "$S" >"$OUT" 2>"$ERR" || rc=$?
note "exit $rc: $(grep -m1 -iE 'full|space' "$ERR" | cut -c1-200)"
[ "$rc" = 1 ] || { show_output backup; fail "backup with a full catalog device exited $rc, want 1"; }
expect_err "catalog $catalog: .*[Nn]o space left on device"
[ "$(nsnapshots)" = "$before" ] || fail "a snapshot was written although the catalog could not record it"

step "(b) with the catalog's device still full, check (with a catalog elsewhere) is clean"
expect_rc 0 dsb --catalog "$T/elsewhere.db" check

step "(b) free the space: the next backup succeeds, the catalog catches up"
rm "$T/statefs/big-unrelated-file"
backup_json "$S"
tree_listing "$S" >"$T/third.listing"
expect_rc 0 dsb restore "$SNAP" --target "$T/r3"
tree_listing "$T/r3$S" | diff -u "$T/third.listing" - >&2 || fail "the third snapshot differs"
expect_rc 0 dsb check

step "(c) restore into a 4 MiB tmpfs: fails, naming the target and that it is full"
mount_tmpfs "$T/targetfs" 4m
rc=0
dsb restore "$SNAP" --target "$T/targetfs/out" >"$OUT" 2>"$ERR" || rc=$?
note "exit $rc: $(grep -m1 -iE 'space|full' "$ERR" | cut -c1-200)"
[ "$rc" != 0 ] || fail "restore into a full target exited 0"
expect_err "[Nn]o space left.*$T/targetfs/out|$T/targetfs/out.*[Nn]o space left"

step "(c) remount it bigger: the restore is bit for bit"
mount -o remount,size=64m "$T/targetfs"
rm -rf "$T/targetfs/out"
expect_rc 0 dsb restore "$SNAP" --target "$T/targetfs/out"
tree_listing "$T/targetfs/out$S" | diff -u "$T/third.listing" - >&2 || fail "the restore differs"
