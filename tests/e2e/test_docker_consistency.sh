#!/usr/bin/env bash
# test_docker_consistency.sh: a container labelled dsbackup.stop=true that
# writes without pause is stopped during its volume's snapshot and running
# again afterwards; one labelled dsbackup.pause=true is paused and
# unpaused; exec-pre output lands in the snapshot.  The writer runs again
# also when the backup fails midway (another container's exec-pre hook
# fails, loudly, with its output), when it is interrupted (SIGTERM), and
# when it is killed (SIGKILL: the next run starts it again).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/docker_lib.sh"

V="$DP-data"
docker volume create "$V" >/dev/null
init_repo

writer w "$V" --label dsbackup.stop=true
sleeper p "$V" --label dsbackup.pause=true
# the hook runs after the stops: it sees whether the log still grows, and dumps
sleeper h "$V" --label 'dsbackup.exec-pre=a=$(wc -c < /data/log); sleep 0.5; b=$(wc -c < /data/log); [ "$a" = "$b" ] && echo quiet > /data/quiet.txt; echo dump > /data/dump.sql' \
    --label 'dsbackup.exec-post=echo post > /data/post.txt'
wait_until 10 test -s "$(mountpoint_of "$V")/log" || fail "the writer does not write"

step "backup --source volume:NAME stops the writer, pauses p, runs the hooks, starts them again"
since=$(date +%s.%N)
expect_rc 0 dsb --json backup --source "volume:$V"
snap=$(json_get "$OUT" 'j["snapshot_id"]')
[ "$(json_get "$OUT" 'j["source"]')" = "volume:$V" ] || fail "the summary does not name the source"
expect_err "container $DP-w: stopping"
expect_err "container $DP-p: pausing"
if grep -q "changed while it was read" "$ERR"; then
	cat "$ERR" >&2
	fail "a file changed while it was read: the writer was not stopped"
fi
running w || fail "the writer is not running after the backup"
running p && ! paused p || fail "p is not running (unpaused) after the backup"
events w "$since" >"$T/events.w"
events p "$since" >"$T/events.p"
grep -qx die "$T/events.w" || fail "no die event of the writer"
grep -qx start "$T/events.w" || fail "no start event of the writer"
grep -qx pause "$T/events.p" || fail "no pause event of p"
grep -qx unpause "$T/events.p" || fail "no unpause event of p"
[ ! -e "$DSBACKUP_STATE_DIR/docker-stopped.json" ] || fail "the state file still names containers"
size1=$(stat -c %s "$(mountpoint_of "$V")/log")
wait_until 10 test "$(stat -c %s "$(mountpoint_of "$V")/log")" -gt "$size1" ||
    fail "the writer does not write again"
grep -qx post "$(mountpoint_of "$V")/post.txt" || fail "the exec-post hook did not run"

step "the snapshot holds the hook's dump, taken while the writer was stopped"
expect_rc 0 dsb restore "$snap" --source "volume:$V" --to-volume "$DP-copy"
copy=$(mountpoint_of "$DP-copy")
grep -qx dump "$copy/dump.sql" || fail "dump.sql is not in the snapshot"
grep -qx quiet "$copy/quiet.txt" || fail "the log grew while the hook ran: the writer was not stopped"
[ "$(tail -c 1 "$copy/log" | od -An -c | tr -d ' ')" = '\n' ] || fail "the log in the snapshot ends mid-line"
expect_rc 0 dsb snapshots --json --source "volume:$V"
[ "$(json_get "$OUT" 'len(j)')" = 1 ] || fail "snapshots --source lists $(json_get "$OUT" 'len(j)')"
[ "$(json_get "$OUT" 'j[0]["source_meta"]["volume"]["name"]')" = "$V" ] || fail "source_meta lacks the volume"

step "a failing exec-pre hook on another container fails the source loudly; the writer runs again"
sleeper f "$V" --label 'dsbackup.exec-pre=echo boom-out; echo boom-err >&2; exit 3'
docker volume create "$DP-other" >/dev/null
expect_rc 1 dsb backup --source "volume:$V" --source "volume:$DP-other"
expect_err "exec-pre hook of container $DP-f .*failed with exit code 3"
expect_err "boom-out"
expect_err "boom-err"
expect_out "volume:$DP-other: snapshot"   # the other source was still backed up
running w || fail "the writer is not running after the failed backup"
[ ! -e "$DSBACKUP_STATE_DIR/docker-stopped.json" ] || fail "the state file still names containers"
docker rm -f "$DP-f" >/dev/null

step "SIGTERM while a hook runs: the writer is started again"
sleeper k "$V" --label 'dsbackup.exec-pre=sleep 60'
"$DSB" backup --source "volume:$V" >"$T/term.out" 2>"$T/term.err" &
pid=$!
wait_until 30 eval '! running w' || fail "the writer was not stopped"
sleep 0.5
kill -TERM $pid
rc=0
wait $pid || rc=$?
[ $rc -ne 0 ] || fail "an interrupted backup exited 0"
grep -q "interrupted" "$T/term.err" || { cat "$T/term.err" >&2; fail "no word of the interruption"; }
running w || fail "the writer is not running after SIGTERM"

step "SIGKILL while the writer is stopped: the next run starts it again"
"$DSB" backup --source "volume:$V" >"$T/kill.out" 2>"$T/kill.err" &
pid=$!
wait_until 30 eval '! running w' || fail "the writer was not stopped"
sleep 0.5
kill -KILL $pid
wait $pid || true
running w && fail "the writer runs although nothing started it"
grep -q "\"$DP-w\"" "$DSBACKUP_STATE_DIR/docker-stopped.json" || fail "the state file does not name the writer"
docker rm -f "$DP-k" >/dev/null
expect_rc 0 dsb backup --source "volume:$DP-other"
expect_err "container $DP-w was left stopped by dsbackup process $pid, which is gone: started it again"
running w || fail "the next run did not start the writer"
[ ! -e "$DSBACKUP_STATE_DIR/docker-stopped.json" ] || fail "the state file still names containers"
