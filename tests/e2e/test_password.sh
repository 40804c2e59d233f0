#!/usr/bin/env bash
# test_password.sh: passwords (wrong, missing, from a file or the
# environment), a missing repository, init over an existing one, and usage
# errors, each with its documented exit code and a message that says what
# is wrong.
. "$(dirname "$0")/lib.sh"

S="$T/src"
mkdir -p "$S"
printf 'secret content\n' >"$S/file"
init_repo
backup_json "$S"

step "wrong password: exit 12 and says so"
DSBACKUP_PASSWORD=not-the-password expect_rc 12 dsb snapshots
expect_err "wrong password"
DSBACKUP_PASSWORD= expect_rc 12 dsb restore latest --target "$T/nope"
[ ! -e "$T/nope$S/file" ] || fail "restore with a wrong password wrote files"

step "no password and no terminal: fails, pointing at --password-file"
rc=0
env -u DSBACKUP_PASSWORD -u DSBACKUP_PASSWORD_FILE setsid -w "$DSB" snapshots </dev/null >"$OUT" 2>"$ERR" ||
    rc=$?
[ "$rc" -ne 0 ] || fail "snapshots without a password succeeded"
note "exit code $rc"
expect_err "password-file"

step "--password-file and DSBACKUP_PASSWORD_FILE"
printf '%s\n' "$DSBACKUP_PASSWORD" >"$T/pw"
chmod 600 "$T/pw"
env -u DSBACKUP_PASSWORD "$DSB" --password-file "$T/pw" snapshots >"$OUT" 2>"$ERR" ||
    { show_output --password-file; fail "--password-file did not open the repository"; }
expect_out "^${SNAP:0:8} "
env -u DSBACKUP_PASSWORD "$DSB" snapshots --password-file "$T/pw" >"$OUT" 2>"$ERR" ||
    { show_output --password-file; fail "--password-file after the command name was not accepted"; }
env -u DSBACKUP_PASSWORD DSBACKUP_PASSWORD_FILE="$T/pw" "$DSB" snapshots >"$OUT" 2>"$ERR" ||
    { show_output DSBACKUP_PASSWORD_FILE; fail "DSBACKUP_PASSWORD_FILE did not open the repository"; }
expect_out "^${SNAP:0:8} "
step "the password file wins over DSBACKUP_PASSWORD"
DSBACKUP_PASSWORD=wrong expect_rc 0 dsb --password-file "$T/pw" snapshots
printf 'wrong\n' >"$T/badpw"
expect_rc 12 dsb --password-file "$T/badpw" snapshots
expect_err "wrong password"
expect_rc 1 dsb --password-file "$T/does-not-exist" snapshots
expect_err "does-not-exist"

step "a repository that does not exist: exit 10"
expect_rc 10 dsb -r "$T/no-such-repo" snapshots
expect_err "no-such-repo"
mkdir "$T/empty-dir"
expect_rc 10 dsb -r "$T/empty-dir" backup "$S"
expect_err "no repository|not a repository|init"

step "init over an existing repository: exit 1, repository untouched"
repo_state >"$T/state.before"
expect_rc 1 dsb init --kdf-log2n 10
expect_err "already"
DSBACKUP_PASSWORD=another-password expect_rc 1 dsb init --kdf-log2n 10
repo_state >"$T/state.after"
diff -u "$T/state.before" "$T/state.after" || fail "init changed the existing repository"
expect_rc 0 dsb restore latest --target "$T/still"
cmp "$S/file" "$T/still$S/file" || fail "the repository no longer restores after init"
DSBACKUP_PASSWORD=another-password expect_rc 12 dsb snapshots

step "usage errors: exit 2 with a message"
expect_rc 2 dsb snapshots --no-such-option
expect_err "no-such-option|unrecognized|invalid option"
expect_rc 2 dsb --no-such-global snapshots
expect_rc 2 dsb restore latest
expect_err "--target"
expect_rc 2 dsb frobnicate
expect_err "unknown command"
expect_rc 2 dsb
expect_rc 2 dsb ls "${SNAP:0:7}"
expect_err "8 hex"
expect_rc 2 dsb restore "${SNAP:0:4}" --target "$T/x"
expect_err "8 hex"
expect_rc 2 dsb ls latest relative/path
expect_err "absolute"
expect_rc 2 dsb backup
expect_err "PATH"
expect_rc 2 dsb backup --time yesterday "$S"
expect_err "yesterday"
expect_rc 2 dsb init --chunk-avg lots
expect_rc 2 dsb check --read-data-subset 150%
expect_rc 2 env -u DSBACKUP_REPOSITORY "$DSB" snapshots
expect_err "DSBACKUP_REPOSITORY"
step "a snapshot that does not exist: exit 1"
expect_rc 1 dsb ls 0123abcd
expect_err "0123abcd"
