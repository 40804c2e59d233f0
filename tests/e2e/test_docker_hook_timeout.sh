#!/usr/bin/env bash
# test_docker_hook_timeout.sh: an exec-pre hook that sleeps past its timeout
# (label dsbackup.exec-timeout=2) is killed, with every process it started;
# the backup of that source fails naming the command and the timeout, the
# other source is still backed up, and the stopped writer runs again.  The
# default comes from DSBACKUP_EXEC_TIMEOUT when the label is absent.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/docker_lib.sh"

V="$DP-data"
docker volume create "$V" >/dev/null
docker volume create "$DP-other" >/dev/null
init_repo

# hook_sleeps NAME: processes of container $DP-NAME running the hook's "sleep 77"
hook_sleeps() {
	docker top "$DP-$1" -eo pid,args 2>/dev/null | grep -c "[s]leep 77" || true
}

writer w "$V" --label dsbackup.stop=true
sleeper h "$V" --label 'dsbackup.exec-pre=echo started; sleep 77; echo never' \
    --label dsbackup.exec-timeout=2

step "the hook outlives its 2 s timeout: killed, the source fails loudly, the other is backed up"
t0=$(date +%s)
expect_rc 1 dsb backup --source "volume:$V" --source "volume:$DP-other"
took=$(($(date +%s) - t0))
note "failed after $took s: $(grep -m1 "did not finish" "$ERR")"
expect_err "exec-pre hook of container $DP-h.*sleep 77.*did not finish within 2 s; it was killed"
expect_out "volume:$DP-other: snapshot"
[ "$took" -lt 30 ] || fail "the backup took $took s"
[ "$(hook_sleeps h)" = 0 ] || { docker top "$DP-h" >&2; fail "the hook's sleep still runs"; }
running w || fail "the writer is not running after the failed hook"
running h || fail "the hook's container was stopped"

step "without the label, DSBACKUP_EXEC_TIMEOUT sets the timeout"
docker rm -f "$DP-h" >/dev/null
sleeper h2 "$V" --label 'dsbackup.exec-pre=sleep 77'
DSBACKUP_EXEC_TIMEOUT=1 expect_rc 1 dsb backup --source "volume:$V"
expect_err "did not finish within 1 s; it was killed"
[ "$(hook_sleeps h2)" = 0 ] || fail "the hook's sleep still runs"
running w || fail "the writer is not running after the failed hook"
