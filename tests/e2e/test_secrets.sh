#!/usr/bin/env bash
# test_secrets.sh: where the password may and may not end up.  While a
# backup runs (held still by a stall of the fault backend, so that it can be
# looked at), the password is in no process's command line (ps,
# /proc/PID/cmdline); it is in no file below the state directory (catalog,
# WAL, anything else), in no repository object, and in no output of any
# command (-v).  There is no option that takes a password.  Files holding
# secrets are 0600 and their directories 0700: the catalog and its WAL,
# the state and catalog directories, every repository object and directory,
# an identity file (and an identity readable by others is refused).  The
# process is not dumpable (its /proc/PID files belong to root when it runs
# as another user) and keeps key material in memory excluded from core dumps.
# TLS verification is the S3 and Docker tests' business.
. "$(dirname "$0")/lib.sh"

SECRET="s3cr3t-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export DSBACKUP_PASSWORD=$SECRET
# grep reads the pattern from a file: its own command line must not hold the password
printf '%s\n' "$SECRET" >"$T/secret.pat"
S="$T/src"
mkdir -p "$S"
random_file "$S/a" 300000
printf 'hello\n' >"$S/b"

step "a repository, a backup and a restore, all with -v, output kept"
init_repo --pack-size 1048576
cat "$OUT" "$ERR" >"$T/all-output"
for cmd in "backup $S" "snapshots" "ls latest" "check --read-data" "restore latest --target $T/r"; do
	# shellcheck disable=SC2086
	expect_rc 0 dsb -v $cmd
	cat "$OUT" "$ERR" >>"$T/all-output"
done

# in_argv PID: the password in PID's command line, or in any process's (ps)
in_argv() {
	tr '\0' ' ' <"/proc/$1/cmdline" | grep -Fqf "$T/secret.pat" && return 0
	ps -eo args= | grep -Fqf "$T/secret.pat"
}

# wait_stalled PID: until the fault backend logs the stall (the process is then well into its work)
wait_stalled() {
	local i

	for i in $(seq 1 1500); do
		[ -s "$T/faults.log" ] && return 0
		kill -0 "$1" 2>/dev/null || break
		sleep 0.02
	done
	cat "$T/held.err" >&2
	fail "the held backup did not reach its stall"
}

# hold_backup HOW: a backup that stalls 4 s on its first pack; sets PID once it stalls
hold_backup() {
	printf 'more %s\n' "$1" >>"$S/b"
	: >"$T/faults.log"
	DSBACKUP_FAULTS='put/data:stall@1:4s' DSBACKUP_FAULTS_LOG="$T/faults.log" \
	    "$DSB" -r "fault:$REPO" -v backup "$S" >"$T/held.out" 2>"$T/held.err" &
	PID=$!
	wait_stalled "$PID"
}

step "while a backup runs (password from the environment): not in argv"
hold_backup env
in_argv "$PID" && fail "the password is in a command line"
wait "$PID" || fail "the held backup failed: $(cat "$T/held.err")"
cat "$T/held.out" "$T/held.err" >>"$T/all-output"

step "while a backup runs (password from a file): not in argv"
printf '%s\n' "$SECRET" >"$T/pwfile"
chmod 0600 "$T/pwfile"
(
	unset DSBACKUP_PASSWORD
	export DSBACKUP_PASSWORD_FILE="$T/pwfile"
	hold_backup file
	in_argv "$PID" && fail "the password is in a command line"
	wait "$PID" || fail "the held backup failed: $(cat "$T/held.err")"
)
cat "$T/held.out" "$T/held.err" >>"$T/all-output"

step "no command-line option takes a password"
for opt in --password --passphrase --pass -p; do
	rc=0
	"$DSB" "$opt" "$SECRET" snapshots >"$OUT" 2>"$ERR" || rc=$?
	[ "$rc" = 2 ] || fail "$opt PASSWORD: exit $rc, want 2 (usage)"
	grep -Fqf "$T/secret.pat" "$OUT" "$ERR" && fail "$opt: the usage error repeats the password"
done

step "the password is in no output, no state file (catalog, WAL) and no repository object"
grep -Fqf "$T/secret.pat" "$T/all-output" && fail "the password appears in the output of a command"
[ -n "$(find "$DSBACKUP_STATE_DIR" -name '*.db')" ] || fail "no catalog below $DSBACKUP_STATE_DIR"
if grep -rFaqlf "$T/secret.pat" "$DSBACKUP_STATE_DIR" "$REPO"; then
	fail "the password is stored in the files above"
fi
note "searched $(find "$DSBACKUP_STATE_DIR" "$REPO" -type f | wc -l) files and $(wc -l <"$T/all-output") lines of output"

step "modes: catalog files 0600, state and catalog directories 0700, repository 0600/0700"
bad=$(find "$DSBACKUP_STATE_DIR" -name '*.db*' -type f ! -perm 0600 -printf '%m %p\n')
[ -z "$bad" ] || fail "catalog files not 0600: $bad"
bad=$(find "$DSBACKUP_STATE_DIR" -type d ! -perm 0700 -printf '%m %p\n')
[ -z "$bad" ] || fail "state directories not 0700: $bad"
bad=$(find "$REPO" -type f ! -perm 0600 -printf '%m %p\n'; find "$REPO" -type d ! -perm 0700 -printf '%m %p\n')
[ -z "$bad" ] || fail "repository objects or directories too open: $bad"
note "$(find "$DSBACKUP_STATE_DIR" "$REPO" | wc -l) paths checked"

step "an identity file is created 0600; one readable by others is refused"
expect_rc 0 dsb key generate --identity "$T/id"
[ "$(stat -c %a "$T/id")" = 600 ] || fail "identity file mode $(stat -c %a "$T/id")"
chmod 0644 "$T/id"
rc=0
"$DSB" --identity "$T/id" snapshots >"$OUT" 2>"$ERR" || rc=$?
[ "$rc" != 0 ] || fail "an identity readable by others was used"
expect_err "$T/id"
note "refused: $(head -1 "$ERR" | cut -c1-150)"

step "the process is not dumpable, and holds key material in memory excluded from core dumps"
if [ "$(id -u)" = 0 ] && have setpriv; then
	chmod 0755 "$T"
	chmod -R a+rX "$S"
	chown -R nobody "$REPO" "$DSBACKUP_STATE_DIR"
	: >"$T/faults.log"
	chmod 0666 "$T/faults.log"
	setpriv --reuid=nobody --regid=nogroup --clear-groups env DSBACKUP_FAULTS='put/data:stall@1:4s' \
	    DSBACKUP_FAULTS_LOG="$T/faults.log" HOME="$T" "$DSB" -r "fault:$REPO" backup "$S" \
	    >"$T/held.out" 2>"$T/held.err" &
	PID=$!
	wait_stalled "$PID"
	[ "$(stat -c %U "/proc/$PID/status")" = root ] ||
	    fail "/proc/$PID/status belongs to $(stat -c %U "/proc/$PID/status"): the process is dumpable"
	grep -q '^VmFlags:.* dd' "/proc/$PID/smaps" ||
	    fail "no memory of the process is marked MADV_DONTDUMP"
	note "/proc/$PID/status belongs to root; $(grep -c '^VmFlags:.* dd' "/proc/$PID/smaps") mapping(s) marked dd"
	wait "$PID" || fail "the backup as nobody failed: $(cat "$T/held.err")"
	chown -R root "$REPO" "$DSBACKUP_STATE_DIR"
else
	note "not root or no setpriv: dumpability not checked"
fi
