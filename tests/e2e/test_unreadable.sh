#!/usr/bin/env bash
# test_unreadable.sh: a backup that cannot read some files (run as an
# unprivileged user over a tree where a file and a directory have mode 000)
# still writes its snapshot, exits 3, names each unreadable path on stderr,
# and everything else restores intact.
. "$(dirname "$0")/lib.sh"

NOBODY=65534
if [ "$(id -u)" -ne 0 ]; then
	skip_test "needs root to give the tree to an unprivileged user"
fi
if have setpriv; then
	as_user() { setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$@"; }
elif have runuser && getent passwd nobody >/dev/null; then
	as_user() { runuser -u nobody -- "$@"; }
else
	skip_test "neither setpriv nor runuser is available to drop privileges"
fi
if ! as_user test -x "$DSB"; then
	skip_test "the unprivileged user cannot execute $DSB"
fi

S="$T/src"
mkdir -p "$S/open/sub" "$S/closed"
printf 'readable\n' >"$S/open/readable"
random_file "$S/open/sub/big" 1500000
printf 'private\n' >"$S/open/secret"
printf 'hidden\n' >"$S/closed/inside"
ln -s secret "$S/open/link-to-secret"
chown -R $NOBODY:$NOBODY "$S"
chown root:root "$S/open/secret" "$S/closed"
chmod 000 "$S/open/secret" "$S/closed"
if as_user cat "$S/open/secret" >/dev/null 2>&1; then
	skip_test "the unprivileged user can read a mode 000 file (capabilities?)"
fi

mkdir -p "$REPO" "$DSBACKUP_STATE_DIR"
chown $NOBODY:$NOBODY "$REPO" "$DSBACKUP_STATE_DIR"
step "init and back up as the unprivileged user"
expect_rc 0 as_user "$DSB" init --kdf-log2n 10 --chunk-avg 65536
expect_rc 3 as_user "$DSB" --json backup "$S"
load_summary "$OUT"

step "stderr names the unreadable file and directory; the summary counts them"
expect_err "$S/open/secret"
expect_err "$S/closed"
[ "$(summary errors)" = 2 ] || fail "summary errors = $(summary errors), want 2"

step "the snapshot exists and lacks only the unreadable entries"
expect_rc 0 as_user "$DSB" snapshots --json
[ "$(json_get "$OUT" 'len(j)')" = 1 ] || fail "want 1 snapshot"
[ "$(json_get "$OUT" 'j[0]["id"]')" = "$SNAP" ] || fail "the listed snapshot is not the one written"
expect_rc 0 as_user "$DSB" ls "$SNAP"
grep -Fxq "$S/open/sub/big" "$OUT" || fail "ls misses a readable file"
grep -Fxq "$S/open/link-to-secret" "$OUT" || fail "ls misses the symlink"
if grep -Fxq "$S/open/secret" "$OUT"; then
	fail "the unreadable file is listed in the snapshot"
fi

step "the other files restore intact (restored as root)"
expect_rc 0 dsb restore "$SNAP" --target "$T/out"
for f in open/readable open/sub/big; do
	cmp "$S/$f" "$T/out$S/$f" || fail "$f differs"
	[ "$(stat -c %u "$T/out$S/$f")" = $NOBODY ] || fail "$f lost its owner"
done
[ "$(readlink "$T/out$S/open/link-to-secret")" = secret ] || fail "the symlink was not restored"
[ ! -e "$T/out$S/open/secret" ] || fail "the unreadable file was restored from nowhere"

step "a path that does not exist, given with one that does: exit 3, named, snapshot written"
expect_rc 3 as_user "$DSB" --json backup "$S/open" "$T/no-such-path"
expect_err "$T/no-such-path"
load_summary "$OUT"
expect_rc 0 as_user "$DSB" ls "$SNAP"
grep -Fxq "$S/open/readable" "$OUT" || fail "the existing path is not in the snapshot"
step "only paths that do not exist: exit 1, no snapshot"
expect_rc 1 as_user "$DSB" backup "$T/no-such-path"
expect_err "no-such-path"

step "a second backup still reports the unreadable file (not hidden by the parent snapshot)"
expect_rc 3 as_user "$DSB" backup "$S"
expect_err "$S/open/secret"
expect_rc 0 as_user "$DSB" check --read-data

step "a file whose size says 0 but that has content (/proc) is read to its end"
# reading stops at the size fstat gave, except at 0 (backup.c, read_fd)
expect_rc 0 as_user "$DSB" backup /proc/version
expect_err "changed while it was read"
expect_rc 0 dsb restore latest --target "$T/proc-out"
cmp /proc/version "$T/proc-out/proc/version" || fail "/proc/version was not stored whole"
