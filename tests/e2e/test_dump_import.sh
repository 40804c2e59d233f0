#!/usr/bin/env bash
# test_dump_import.sh: "dump" writes a snapshot as an archive that GNU tar
# and bsdtar extract with its content and metadata (modes, times, owners,
# symlinks, hard links, xattrs, ACLs), as pax, tar, zip and tar.zst, whole
# or a subtree, or a source's data (dump latest --source ...); "import"
# reads archives made by tar, zstd and zip into snapshots that restore to
# the same tree, recorded as a volume with --source volume:NAME.  A
# truncated archive writes no snapshot; a damaged pack fails the dump.
. "$(dirname "$0")/lib.sh"

for tool in bsdtar zstd zip unzip; do
	have "$tool" || skip_test "$tool is not installed (scripts/lib/deps.sh)"
done

S="$T/src"
mkdir -p "$S/dir/sub" "$S/links" "$S/owned"
printf 'small file\n' >"$S/small"
random_file "$S/dir/multichunk" $((2 * 1024 * 1024))
printf 'deep\n' >"$S/dir/sub/leaf"
ln -s ../small "$S/links/relative"
ln -s does/not/exist "$S/links/dangling"
printf 'linked\n' >"$S/links/h1"
ln "$S/links/h1" "$S/dir/h2"
mkfifo "$S/fifo"
printf 'foreign\n' >"$S/owned/file"
chown 12345:54321 "$S/owned/file"
chmod 0640 "$S/owned/file"
chmod 2750 "$S/dir/sub"
touch -d '2021-03-04 05:06:07.123456789 UTC' "$S/small"
touch -d '1999-12-31 23:59:59 UTC' "$S/dir/multichunk"
touch -h -d '2011-11-11 11:11:11 UTC' "$S/links/relative"
if have setfattr && have setfacl; then
	setfattr -n user.comment -v "hello xattr" "$S/small"
	setfattr -n user.dirattr -v on-a-dir "$S/dir"
	setfacl -m u:12345:rw- "$S/owned/file"
fi
touch -d '2020-02-02 02:02:02 UTC' "$S/dir/sub" "$S/dir" "$S/links" "$S/owned" "$S"

init_repo
backup_json "$S"
BSNAP=$SNAP

# content_equal A B: same paths, types, symlink targets and file contents (what zip keeps)
content_equal() {
	diff <(cd "$1" && find . ! -type p -printf '%P|%y|%l\n' | sort) \
	    <(cd "$2" && find . ! -type p -printf '%P|%y|%l\n' | sort) || fail "$1 and $2 differ in entries"
	diff <(cd "$1" && find . -type f -print0 | sort -z | xargs -0r sha256sum) \
	    <(cd "$2" && find . -type f -print0 | sort -z | xargs -0r sha256sum) || fail "$1 and $2 differ in content"
}

step "dump SNAPSHOT PATH (pax) | GNU tar -x: the same tree, metadata and xattrs/ACLs"
mkdir "$T/gnu"
dsb -q dump "$BSNAP" "$S" | tar --xattrs --xattrs-include='*' --acls --numeric-owner -xpf - -C "$T/gnu" ||
    fail "dump | tar -x failed"
compare_trees "$S" "$T/gnu"

step "the whole snapshot through bsdtar (which leaves the times of an existing . alone)"
mkdir "$T/bsd"
dsb -q dump "$BSNAP" | bsdtar -xpf - --numeric-owner -C "$T/bsd" || fail "dump | bsdtar -x failed"
compare_trees "$S" "$T/bsd$S"

step "the whole snapshot: paths relative, the leading / stripped; --format tar (GNU)"
expect_rc 0 dsb dump latest --format tar
tar -tvf "$OUT" >"$T/list" || fail "GNU tar cannot list the dump"
grep -q " ${S#/}/dir/sub/leaf\$" "$T/list" || fail "no ${S#/}/dir/sub/leaf in the whole dump"
grep -q " ${S#/}/links/h1 link to ${S#/}/dir/h2\$" "$T/list" || fail "hard link not stored as one"
if grep -q ' /' "$T/list"; then fail "absolute paths in the dump"; fi

step "a subtree: a directory as . and its entries; a file under its own name"
expect_rc 0 dsb dump latest "$S/dir/sub"
[ "$(tar -tf "$OUT" | sort | tr '\n' ' ')" = "./ leaf " ] || fail "subtree dump lists $(tar -tf "$OUT")"
expect_rc 0 dsb dump latest "$S/dir/multichunk"
tar -xf "$OUT" -C "$T" && cmp "$T/multichunk" "$S/dir/multichunk" || fail "file dump differs"

step "--format zip | unzip, and tar.zst | zstd -d | tar -x"
expect_rc 0 dsb dump latest "$S" --format zip
cp "$OUT" "$T/dump.zip"
unzip -q "$T/dump.zip" -d "$T/zip" || fail "unzip failed"
content_equal "$S" "$T/zip"
mkdir "$T/zst"
dsb -q dump latest "$S" --format tar.zst | zstd -dc | tar --xattrs --xattrs-include='*' --acls -xpf - -C "$T/zst" ||
    fail "tar.zst dump does not extract"
compare_trees "$S" "$T/zst"

step "import tar.gz made by GNU tar, as volume:imported: restores and dumps to the same tree"
tar -C "$S" --xattrs --xattrs-include='*' --acls -czf "$T/src.tar.gz" .
expect_rc 0 dsb --json import "$T/src.tar.gz" --source volume:imported --tag migrated \
    --time 2024-01-02T03:04:05Z --host oldhost
load_summary "$OUT"
ISNAP=$SNAP
expect_rc 0 dsb --json snapshots --source volume:imported
python3 - "$OUT" "$ISNAP" <<'PY' || fail "the imported snapshot is not recorded as the volume"
import json, sys
s = json.load(open(sys.argv[1]))
assert [x["id"] for x in s] == [sys.argv[2]], s
assert s[0]["host"] == "oldhost" and s[0]["tags"] == ["migrated"], s[0]
assert s[0]["time"].startswith("2024-01-02T03:04:05"), s[0]["time"]
assert s[0]["paths"] == ["/var/lib/docker/volumes/imported/_data"], s[0]["paths"]
PY
expect_rc 0 dsb restore "$ISNAP" --target "$T/rgz"
compare_trees "$S" "$T/rgz/var/lib/docker/volumes/imported/_data"
mkdir "$T/vol"
dsb -q dump latest --source volume:imported | tar --xattrs --xattrs-include='*' --acls -xpf - -C "$T/vol" ||
    fail "dump latest --source volume:imported | tar -x failed"
compare_trees "$S" "$T/vol"

step "import a tar.zst (tar | zstd) and a zip (zip -r --symlinks) from standard input and a file"
tar -C "$S" --format=posix --xattrs --xattrs-include="*" --acls -cf - . | zstd -q -c >"$T/src.tar.zst"
expect_rc 0 dsb --json import - --source path:/srv/zst <"$T/src.tar.zst"
load_summary "$OUT"
expect_rc 0 dsb restore "$SNAP" --target "$T/rzst"
compare_trees "$S" "$T/rzst/srv/zst"
(cd "$S" && zip -q -r --symlinks "$T/src.zip" .)
expect_rc 0 dsb --json import "$T/src.zip"
load_summary "$OUT"
expect_rc 0 dsb restore "$SNAP" --target "$T/rzip"
content_equal "$S" "$T/rzip"
[ "$(stat -c %Y "$T/rzip/dir/multichunk")" = "$(stat -c %Y "$S/dir/multichunk")" ] || fail "zip mtime lost"

step "a truncated archive fails naming the archive and the entry; no snapshot is written"
nsnap=$(count_objects snapshots)
head -c $((1024 * 1024)) "$T/src.tar.gz" >"$T/cut.tar.gz"
expect_rc 1 dsb import "$T/cut.tar.gz"
expect_err "cut.tar.gz: entry .*multichunk"
expect_err "no snapshot was written"
tar -C "$S" -cf "$T/plain.tar" .
head -c $((512 * 1024)) "$T/plain.tar" >"$T/cut.tar"
expect_rc 1 dsb import "$T/cut.tar"
expect_err "cut.tar: entry "
expect_rc 1 dsb import /etc/hostname
expect_err "/etc/hostname"
[ "$(count_objects snapshots)" = "$nsnap" ] || fail "a failed import wrote a snapshot"

step "a damaged pack: dump names the file, exits non-zero, the archive has no end marker"
for p in $(objects data); do
	python3 - "$p" <<'PY'
import os, sys
p = sys.argv[1]
n = os.path.getsize(p)
with open(p, "r+b") as f:
    f.seek(n // 3)
    b = f.read(1)
    f.seek(n // 3)
    f.write(bytes([b[0] ^ 0xff]))
PY
done
rc=0
dsb dump "$BSNAP" "$S" >"$T/bad.tar" 2>"$ERR" || rc=$?
[ "$rc" -ne 0 ] || fail "dump of a damaged snapshot exited 0"
[ "$rc" -ne 3 ] || fail "dump of a damaged snapshot exited 3"
expect_err "dump: [^ ]+"
expect_err "incomplete"
if tar -tf "$T/bad.tar" >/dev/null 2>&1 && [ "$(tail -c 1024 "$T/bad.tar" | tr -d '\0' | wc -c)" = 0 ]; then
	fail "the damaged dump looks like a complete archive"
fi
