#!/usr/bin/env bash
# test_mount.sh: "dsbackup mount" (FUSE).  Mounted in the background, the
# view's tree of a snapshot equals a restore of it (content, modes, owners,
# mtimes, symlinks, xattrs), a ranged read of a multi-chunk file returns the
# source's bytes, a new snapshot appears without remounting, and
# fusermount3 -u unmounts.  Then a damaged pack: the file it holds reads as
# EIO (logged with its path), every other file reads intact, and SIGTERM to
# the foreground process unmounts.  Exit 77 (skipped) without /dev/fuse,
# fusermount3, or the right to mount.

skip77() {
	echo "SKIP: test_mount: $*"
	exit 77
}
[ -c /dev/fuse ] && [ -r /dev/fuse ] && [ -w /dev/fuse ] || skip77 "no usable /dev/fuse"
command -v fusermount3 >/dev/null 2>&1 || skip77 "fusermount3 is not installed (Debian package fuse3)"
command -v mountpoint >/dev/null 2>&1 || skip77 "mountpoint is not installed (util-linux)"

. "$(dirname "$0")/lib.sh"

# skip_here REASON: after lib.sh, skip without its FAIL line
skip_here() {
	fusermount3 -u -z "$MP" 2>/dev/null || true
	trap - EXIT
	rm -rf "$T"
	skip77 "$@"
}
MP="$T/mnt"
if { "$DSB" -r "$T/none" mount "$T" 2>&1 || true; } | grep -q "built without FUSE"; then
	skip_here "this dsbackup was built without FUSE (libfuse3-dev)"
fi

mkdir -p "$MP"
# never leave a mount behind, whatever happens
trap 'rc=$?; fusermount3 -u -z "$MP" 2>/dev/null || true; (exit $rc); e2e_cleanup' EXIT

# wait_for TEST...: up to 20 s for the command to succeed
wait_for() {
	local i

	for i in $(seq 100); do
		"$@" 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}

S="$T/src"
mkdir -p "$S/dir/deeper" "$S/empty-dir"
random_file "$S/big1" 3000000
random_file "$S/big2" 2000000
for i in 1 2 3 4 5; do
	printf 'small file %s\n' "$i" >"$S/dir/s$i"
done
printf 'deep\n' >"$S/dir/deeper/d"
: >"$S/empty"
printf '#!/bin/sh\n' >"$S/dir/script"
chmod 0750 "$S/dir/script"
chmod 0604 "$S/dir/s2"
chown 1234:2345 "$S/dir/s3"
ln -s ../big1 "$S/dir/link-to-big1"
ln -s /nowhere/at/all "$S/dangling"
touch -d '2001-02-03 04:05:06.123456789' "$S/dir/s4"
if have setfattr; then
	setfattr -n user.color -v blue "$S/dir/s1"
	setfattr -n user.empty "$S/dir/s5"
fi

init_repo --pack-size 1048576
backup_json "$S"
SNAP1=$SNAP

step "mount in the background"
rc=0
"$DSB" mount "$MP" </dev/null >/dev/null 2>"$T/mount1.log" || rc=$?
if [ "$rc" -ne 0 ]; then
	cat "$T/mount1.log" >&2
	grep -Eq "cannot mount|cannot set up FUSE" "$T/mount1.log" &&
	    skip_here "mounting with FUSE is not permitted here: $(grep -m1 -E "cannot" "$T/mount1.log")"
	fail "mount exited $rc"
fi
wait_for mountpoint -q "$MP" || { cat "$T/mount1.log" >&2; fail "the mount did not appear"; }
wait_for test -d "$MP/snapshots/$SNAP1" || fail "snapshots/$SNAP1 is not in the view"
ls "$MP" >"$T/top"
[ "$(tr '\n' ' ' <"$T/top")" = "by-host by-source by-time latest snapshots " ] ||
    fail "top directories: $(cat "$T/top")"

step "the view of the snapshot equals its restore (content, metadata, symlinks, xattrs)"
expect_rc 0 dsb restore "$SNAP1" --target "$T/restored"
compare_trees "$T/restored$S" "$MP/snapshots/$SNAP1$S"
(cd "$S" && find . -type f) | while read -r f; do
	cmp "$S/$f" "$MP/snapshots/$SNAP1$S/$f" || fail "$f differs from the source"
done
[ "$(readlink "$MP/snapshots/$SNAP1$S/dir/link-to-big1")" = "../big1" ] || fail "readlink"
[ "$(readlink "$MP/snapshots/$SNAP1$S/dangling")" = "/nowhere/at/all" ] || fail "readlink (dangling)"
stat -c '%A %u %g %s %y' "$S/dir/s3" "$S/dir/s4" "$S/dir/script" >"$T/stat.src"
stat -c '%A %u %g %s %y' "$MP/snapshots/$SNAP1$S/dir/"{s3,s4,script} >"$T/stat.mnt"
diff "$T/stat.src" "$T/stat.mnt" || fail "ls -l metadata differs"
if have getfattr; then
	[ "$(getfattr --only-values -n user.color "$MP/snapshots/$SNAP1$S/dir/s1")" = blue ] ||
	    fail "xattr user.color"
fi
touch "$MP/snapshots/$SNAP1$S/dir/s1" 2>/dev/null && fail "the view is writable"

step "a ranged read (dd skip=) of a multi-chunk file"
dd if="$MP/snapshots/$SNAP1$S/big1" bs=4096 skip=300 count=200 status=none >"$T/range.mnt"
dd if="$S/big1" bs=4096 skip=300 count=200 status=none >"$T/range.src"
cmp "$T/range.src" "$T/range.mnt" || fail "ranged read differs"
[ "$(stat -c %s "$T/range.mnt")" -eq 819200 ] || fail "ranged read is short"

step "the links: by-time, by-host, by-source, latest"
group=${S//\//%2F}
[ "$(ls "$MP/by-time" | wc -l)" -eq 1 ] || fail "by-time: $(ls "$MP/by-time")"
[ "$(readlink "$MP/latest/$group")" = "../snapshots/$SNAP1" ] || fail "latest/$group: $(ls -l "$MP/latest")"
cmp "$S/big2" "$MP/latest/$group$S/big2" || fail "big2 through latest/"
[ "$(ls "$MP/by-source/$group" | wc -l)" -eq 1 ] || fail "by-source/$group"
[ "$(ls "$MP/by-host"/*/ | wc -l)" -eq 1 ] || fail "by-host: $(ls -R "$MP/by-host")"
note "by-host: $(ls "$MP/by-host")"

step "a new snapshot appears without remounting"
printf 'new\n' >"$S/dir/new-file"
backup_json "$S"
SNAP2=$SNAP
wait_for test -d "$MP/snapshots/$SNAP2" || { ls "$MP/snapshots"; fail "$SNAP2 did not appear"; }
wait_for test "$(readlink "$MP/latest/$group")" = "../snapshots/$SNAP2" || fail "latest/ still $(readlink "$MP/latest/$group")"
[ "$(ls "$MP/by-time" | wc -l)" -eq 2 ] || fail "by-time: $(ls "$MP/by-time")"
[ "$(cat "$MP/latest/$group$S/dir/new-file")" = new ] || fail "new-file through latest/"

step "fusermount3 -u unmounts"
fusermount3 -u "$MP" || fail "fusermount3 -u failed"
wait_for bash -c "! mountpoint -q '$MP'" || fail "still mounted"
if grep -E "ERROR|AddressSanitizer|runtime error" "$T/mount1.log"; then
	fail "the mount logged errors"
fi

step "a damaged pack: its file is EIO (logged), the others intact"
PACK=$(objects data -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)
size=$(stat -c %s "$PACK")
byte=$(od -An -tu1 -j $((size / 2)) -N1 "$PACK" | tr -d ' ')
printf "\\$(printf '%03o' $(((byte + 1) % 256)))" |
    dd of="$PACK" bs=1 seek=$((size / 2)) conv=notrunc status=none
"$DSB" mount --foreground "$MP" 2>"$T/mount2.log" &
pid=$!
wait_for test -d "$MP/snapshots/$SNAP1$S" || { cat "$T/mount2.log" >&2; fail "second mount"; }
bad=0
good=0
for f in $(cd "$S" && find . -type f | sed 's|^\./||' | sort); do
	if cat "$MP/snapshots/$SNAP2$S/$f" >"$T/read.out" 2>"$T/read.err"; then
		cmp -s "$S/$f" "$T/read.out" || fail "$f read without error but differs"
		good=$((good + 1))
	else
		grep -q "Input/output error" "$T/read.err" || fail "$f: not EIO: $(cat "$T/read.err")"
		grep -Fq "$S/$f" "$T/mount2.log" || { cat "$T/mount2.log" >&2; fail "$f: EIO not logged with its path"; }
		bad=$((bad + 1))
		note "EIO: $f"
	fi
done
[ "$bad" -eq 1 ] || fail "$bad files failed, expected exactly one"
[ "$good" -ge 10 ] || fail "only $good files read intact"

step "SIGTERM unmounts the foreground mount"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/mount2.log" >&2; fail "mount exited $rc after SIGTERM"; }
! mountpoint -q "$MP" || fail "still mounted after SIGTERM"
if grep -E "AddressSanitizer|runtime error" "$T/mount2.log"; then
	fail "sanitizer errors"
fi
