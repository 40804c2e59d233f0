#!/usr/bin/env bash
# test_roundtrip_kinds.sh: every kind of file system entry and metadata
# survives backup and restore: content, types, owners, modes, times with
# nanoseconds, hard links, sparseness, xattrs and ACLs.  Also: ls lists the
# paths, snapshots --json is well-formed.
. "$(dirname "$0")/lib.sh"

S="$T/src"
mkdir -p "$S/dir/sub/deeper" "$S/links" "$S/special" "$S/owned" "$S/modes" "$S/times" "$S/names"

step "build a tree with every kind of entry"
: >"$S/empty"
printf 'small file\n' >"$S/small"
random_file "$S/dir/multichunk" $((3 * 1024 * 1024))
random_file "$S/dir/big-odd" $((5 * 1024 * 1024 + 777))   # written with O_DIRECT, with a tail
printf 'deep\n' >"$S/dir/sub/deeper/leaf"
printf 'second\n' >"$S/dir/sub/two"
ln -s ../small "$S/links/relative"
ln -s /etc/hostname "$S/links/absolute"
ln -s does/not/exist "$S/links/dangling"
touch -h -d '2011-11-11 11:11:11.111111111 UTC' "$S/links/relative"
printf 'linked twice\n' >"$S/links/h2a"
ln "$S/links/h2a" "$S/links/h2b"
printf 'linked three times\n' >"$S/links/h3a"
ln "$S/links/h3a" "$S/links/h3b"
ln "$S/links/h3a" "$S/dir/sub/h3c"
mkfifo "$S/special/fifo"
if mknod "$S/special/null" c 1 3 2>/dev/null; then
	note "char device created"
else
	note "mknod not permitted here: character devices are not tested"
fi
truncate -s 64M "$S/sparse"
printf 'data in the middle of a hole' | dd of="$S/sparse" bs=1 seek=$((32 * 1024 * 1024 + 12345)) \
    conv=notrunc status=none
printf 'foreign\n' >"$S/owned/file"
printf '#!/bin/sh\n' >"$S/owned/setid"
chmod 6755 "$S/owned/setid"
chown 12345:54321 "$S/owned/file" "$S/owned/setid" "$S/owned"
chmod 6755 "$S/owned/setid"   # chown cleared the set-id bits
ln -s file "$S/owned/link"
chown -h 23456:65432 "$S/owned/link"
printf '#!/bin/sh\n' >"$S/modes/setuid"
chmod 4755 "$S/modes/setuid"
printf '#!/bin/sh\n' >"$S/modes/setgid"
chmod 2711 "$S/modes/setgid"
mkdir "$S/modes/sticky" "$S/modes/setgid-dir" "$S/modes/private"
chmod 1777 "$S/modes/sticky"
chmod 2770 "$S/modes/setgid-dir"
chmod 0700 "$S/modes/private"
printf 'ro\n' >"$S/modes/readonly"
chmod 0444 "$S/modes/readonly"
printf 'ns\n' >"$S/times/nanoseconds"
touch -d '2021-03-04 05:06:07.123456789 UTC' "$S/times/nanoseconds"
printf '2100\n' >"$S/times/year2100"
touch -d '2100-06-01 12:00:00.5 UTC' "$S/times/year2100"
printf 'old\n' >"$S/times/1970"
touch -d '1970-01-02 00:00:00 UTC' "$S/times/1970"
printf 'before the epoch\n' >"$S/times/1960"
touch -d '1960-05-05 05:05:05.987654321 UTC' "$S/times/1960"
long=$(printf 'n%.0s' $(seq 255))
printf 'long name\n' >"$S/names/$long"
printf 'latin-1 bytes\n' >"$S/names/$(printf 'bad\xff\xfename')"
printf 'spaces\n' >"$S/names/with spaces and 'quotes'"
printf 'utf8\n' >"$S/names/grüße ☃"

if have setfattr && have setfacl; then
	step "add user xattrs and POSIX ACLs (access and default)"
	setfattr -n user.comment -v "hello xattr" "$S/small"
	setfattr -n user.binary -v 0x00ff10ee00 "$S/small"
	setfattr -n user.dirattr -v on-a-dir "$S/dir"
	setfattr -n user.big -v "$(head -c 3000 /dev/zero | tr '\0' x)" "$S/dir/multichunk"
	setfacl -m u:12345:rw-,g:54321:r-- "$S/small"
	setfacl -m u:4242:rwx "$S/dir/sub"
	setfacl -d -m u:4242:r-x,g:4343:rwx "$S/dir/sub"
	mkdir "$S/dir/sub/inherits"   # gets the default ACL as its own
	have_acl=1
else
	note "setfattr/setfacl not installed (packages attr, acl): xattrs and ACLs not tested"
	have_acl=0
fi

step "the sparse source file is really sparse"
src_blocks=$(stat -c '%b*%B' "$S/sparse")
note "source sparse file allocates $((src_blocks)) bytes"
[ $((src_blocks)) -lt $((4 * 1024 * 1024)) ] || note "the file system did not keep the hole"

step "back up and restore"
init_repo
backup_json "$S"
[ "$(summary errors)" = 0 ] || fail "backup reported errors"
expect_rc 0 dsb restore "$SNAP" --target "$T/out"
R="$T/out$S"

step "restored tree equals the source: types, content, modes, owners, mtimes, links, xattrs, ACLs"
compare_trees "$S" "$R"
[ -p "$R/special/fifo" ] || fail "fifo not restored as a fifo"
[ "$(readlink "$R/links/dangling")" = does/not/exist ] || fail "dangling symlink target"
[ "$(readlink "$R/links/absolute")" = /etc/hostname ] || fail "absolute symlink target"
[ "$(stat -c %h "$R/links/h3a")" = 3 ] || fail "three-way hard link not restored"
[ "$(stat -c %i "$R/links/h3a")" = "$(stat -c %i "$R/dir/sub/h3c")" ] ||
    fail "hard link across directories not restored"
[ "$(stat -c %y "$R/times/nanoseconds")" = "$(stat -c %y "$S/times/nanoseconds")" ] ||
    fail "nanosecond mtime lost"
[ "$(stat -c %Y "$R/times/year2100")" = "$(date -d '2100-06-01 12:00:00 UTC' +%s)" ] ||
    fail "year-2100 mtime lost"
[ "$(stat -c %u:%g "$R/owned/file")" = 12345:54321 ] || fail "foreign owner lost"
[ "$(stat -c %a "$R/modes/setuid")" = 4755 ] || fail "setuid bit lost"
[ -f "$R/names/$long" ] || fail "255-byte name not restored"
[ -f "$R/names/$(printf 'bad\xff\xfename')" ] || fail "non-UTF-8 name not restored"
if [ "$have_acl" = 1 ]; then
	getfacl -n -p -d "$R/dir/sub" | grep -q '^user:4242:r-x' || fail "default ACL not restored"
	getfattr -n user.binary -e hex "$R/small" 2>/dev/null | grep -q '^user.binary=0x00ff10ee00$' ||
	    fail "binary xattr not restored"
fi

step "without owners (--no-owner): set-id bits only where the owner or group is the recorded one"
expect_rc 0 dsb restore "$SNAP" --no-owner --target "$T/no-owner"
N="$T/no-owner$S"
[ "$(stat -c %u:%g:%a "$N/owned/setid")" = 0:0:755 ] ||
    fail "owned/setid, recorded 12345:54321 6755, is $(stat -c %u:%g:%a "$N/owned/setid") without owners"
[ "$(stat -c %u:%a "$N/modes/setuid")" = 0:4755 ] || fail "modes/setuid, root's, lost its setuid bit"
[ "$(stat -c %a "$R/owned/setid")" = 6755 ] || fail "owned/setid lost its set-id bits with its owner"

step "big files are restored around the page cache (O_DIRECT), their tails too"
cmp "$S/dir/big-odd" "$R/dir/big-odd" || fail "dir/big-odd differs"
# the --no-owner restore above: nothing has read its files since
if python3 - "$T/odirect-probe" <<'PY'
import os, sys
os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o600)
PY
then
	# fincore: pages of the file in the page cache (util-linux); before anything reads it again
	res=$(fincore --bytes --noheadings --output RES "$N/dir/big-odd") || fail "fincore failed"
	note "bytes of a fresh 5 MiB restore in the page cache: $res"
	[ "$res" -lt $((1024 * 1024)) ] ||
	    fail "dir/big-odd was restored through the page cache ($res bytes of it cached)"
else
	note "this file system does not take O_DIRECT: content checked only"
fi

step "sparse file: same content, holes kept (allocated blocks far below 64 MiB)"
cmp "$S/sparse" "$R/sparse" || fail "sparse file content differs"
blocks=$(stat -c '%b*%B' "$R/sparse")
note "restored sparse file allocates $((blocks)) bytes of 64 MiB"
[ $((blocks)) -lt $((4 * 1024 * 1024)) ] || fail "restored sparse file is not sparse ($((blocks)) bytes)"

if [ -e "$S/special/null" ]; then
	step "character device restored with its device number"
	[ -c "$R/special/null" ] || fail "char device not restored"
fi

step "restoring again over a changed restore puts every file back (names that exist: libarchive)"
printf 'changed\n' >"$N/dir/big-odd"
chmod 0600 "$N/dir/big-odd"
printf 'changed too\n' >"$N/modes/readonly.new" && mv -f "$N/modes/readonly.new" "$N/modes/readonly"
expect_rc 0 dsb restore "$SNAP" --no-owner --target "$T/no-owner"
cmp "$S/dir/big-odd" "$N/dir/big-odd" || fail "dir/big-odd was not put back"
[ "$(stat -c %a "$N/dir/big-odd")" = "$(stat -c %a "$S/dir/big-odd")" ] || fail "dir/big-odd's mode was not put back"
cmp "$S/modes/readonly" "$N/modes/readonly" || fail "modes/readonly was not put back"
[ "$(stat -c %a "$N/modes/readonly")" = 444 ] || fail "modes/readonly's mode was not put back"

step "ls lists the paths of the snapshot"
expect_rc 0 dsb ls "$SNAP"
for p in "$S/small" "$S/dir/sub/deeper/leaf" "$S/links/dangling" "$S/special/fifo" \
    "$S/names/$long" "$S/sparse" "$S"; do
	grep -Fxq -- "$p" "$OUT" || { show_output ls; fail "ls does not list $p"; }
done
expect_rc 0 dsb ls -l "$SNAP" "$S/times"
grep -q ' /.*/times/year2100$' "$OUT" || { show_output ls -l; fail "ls -l PATH does not list year2100"; }
if grep -q '/small$' "$OUT"; then
	show_output ls -l
	fail "ls PATH lists entries outside PATH"
fi

step "ls --json: one object per entry; a non-UTF-8 path comes as path_b64"
expect_rc 0 dsb ls "$SNAP"
nlines=$(wc -l <"$OUT")
expect_rc 0 dsb --json ls "$SNAP"
python3 - "$OUT" "$nlines" <<'EOF' || fail "ls --json is not as documented"
import base64, json, sys
lines = open(sys.argv[1], "rb").read().splitlines()
assert len(lines) == int(sys.argv[2]), (len(lines), sys.argv[2])
paths = set()
for l in lines:
    o = json.loads(l)
    assert ("path" in o) != ("path_b64" in o), o
    assert {"type", "mode", "size", "mtime"} <= set(o), o
    paths.add(o["path"].encode() if "path" in o else base64.b64decode(o["path_b64"]))
assert any(p.endswith(b"/names/bad\xff\xfename") for p in paths), "the non-UTF-8 name is missing"
EOF

step "snapshots --json is a JSON array of objects with id, time, host, paths, tags"
expect_rc 0 dsb --json snapshots
python3 - "$OUT" "$SNAP" "$S" <<'EOF' || fail "snapshots --json is not as documented"
import json, sys
a = json.load(open(sys.argv[1]))
assert isinstance(a, list) and len(a) == 1, a
s = a[0]
for k in ("id", "time", "host", "paths", "tags"):
    assert k in s, "missing " + k
assert s["id"] == sys.argv[2], s["id"]
assert s["paths"] == [sys.argv[3]], s["paths"]
assert s["tags"] == [] and isinstance(s["host"], str) and s["time"].endswith("Z")
EOF

step "a backup path that is not UTF-8 is refused before anything is stored (exit 2)"
bad="$T/$(printf 'not\xffutf8')"
mkdir "$bad"
printf 'x\n' >"$bad/file"
packs=$(count_objects data)
expect_rc 2 dsb backup "$bad"
expect_err "UTF-8"
[ "$(count_objects data)" = "$packs" ] || fail "the refused backup stored packs"
[ "$(count_objects snapshots)" = 1 ] || fail "the refused backup wrote a snapshot"
step "names below the backup path may be any bytes (backed up above)"
backup_json "$T" --exclude "$T/out" --exclude "$T/src" --exclude "$T/state" --exclude "$T/repo"
expect_rc 0 dsb restore "$SNAP" --target "$T/out2"
cmp "$bad/file" "$T/out2$bad/file" || fail "file below a non-UTF-8 directory name differs"

step "check --read-data is clean"
expect_rc 0 dsb check --read-data
