#!/usr/bin/env bash
# test_jobs.sh: the configuration file and what runs from it: "config
# check", "backup --job" into two repositories (snapshots, retention, hooks,
# history rows, the Prometheus file, a job lock), a webhook on failure
# received by a local listener, the scheduler "dsbackup run" (catch-up, a
# scheduled run, SIGHUP reload, SIGTERM, sd_notify and watchdog messages on
# an abstract socket), the commented example, and systemd-analyze verify on
# the units.
. "$(dirname "$0")/lib.sh"

SRC=${DSB_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
# the interpreter itself, not a wrapper script: $! must be its pid, to stop it
PY=$(python3 -c 'import sys; print(sys.executable)')

# wait_until SECONDS CMD...: poll CMD every 0.2 s; fail when it never succeeds.
wait_until() {
	local limit=$1 i

	shift
	for ((i = 0; i < limit * 5; i++)); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.2
	done
	fail "timed out after ${limit}s waiting for: $*"
}

count_snapshots() {
	dsb -r "$1" --password-file "$T/password" --json snapshots >"$T/snaps.json"
	json_get "$T/snaps.json" 'len(j)'
}

# ---- setup: two repositories, a data directory, a password file ----
mkdir -p "$T/data/sub" "$T/metrics" "$T/hooks"
echo "hello" >"$T/data/a.txt"
random_file "$T/data/sub/b.bin" 200000
echo "scratch" >"$T/data/skip.tmp"
printf '%s\n' "$DSBACKUP_PASSWORD" >"$T/password"
chmod 600 "$T/password"
init_repo "$T/r1"
init_repo "$T/r2"
unset DSBACKUP_PASSWORD DSBACKUP_REPOSITORY   # from here on the configuration names them

CONF="$T/dsbackup.conf"
cat >"$CONF" <<EOF
# e2e configuration
[global]
metrics-dir = $T/metrics
log-level = info

[repository local]
url = $T/r1
password-file = $T/password

[repository second]
url = $T/r2
password-file = $T/password

[job nightly]
sources = $T/data
repositories = local, second
exclude = *.tmp
tags = e2e
keep-last = 2
pre-hook = echo "pre \$DSBACKUP_JOB" >> $T/hooks/log
post-hook = echo "post \$DSBACKUP_RESULT" >> $T/hooks/log
EOF

step "config check accepts a good file"
expect_rc 0 dsb -c "$CONF" config check
expect_out ": ok: 2 repositories, 1 job"
expect_rc 0 dsb config check "$CONF"
DSBACKUP_CONFIG="$CONF" expect_rc 0 dsb config check

step "config check names the file, line and key of each problem"
sed -e 's/^keep-last = 2$/keep-last = two/' -e '/^tags = e2e$/a colour = blue' \
    -e 's/^repositories = local, second$/repositories = local, third/' "$CONF" >"$T/broken.conf"
expect_rc 2 dsb config check "$T/broken.conf"
line=$(grep -n '^colour' "$T/broken.conf" | cut -d: -f1)
expect_err "broken.conf:$line: \[job nightly\] colour: unknown key"
line=$(grep -n '^keep-last' "$T/broken.conf" | cut -d: -f1)
expect_err "broken.conf:$line: \[job nightly\] keep-last: \"two\" is not a whole number"
line=$(grep -n '^repositories' "$T/broken.conf" | cut -d: -f1)
expect_err "broken.conf:$line: \[job nightly\] repositories: no section \[repository third\]"
expect_rc 1 dsb config check "$T/none.conf"
expect_err "none.conf"

step "backup --job writes a snapshot into each repository"
expect_rc 0 dsb -c "$CONF" --json backup --job nightly
cp "$OUT" "$T/run1.json"
[ "$(json_get "$T/run1.json" 'j["result"]')" = ok ] || fail "run result: $(cat "$T/run1.json")"
[ "$(json_get "$T/run1.json" 'len(j["snapshots"])')" = 2 ] || fail "want 2 snapshots"
[ "$(json_get "$T/run1.json" 'sorted(s["repository"] for s in j["snapshots"])')" = '["local", "second"]' ] ||
    fail "snapshots not in both repositories"
[ "$(count_snapshots "$T/r1")" = 1 ] || fail "repository 1 lacks the snapshot"
[ "$(count_snapshots "$T/r2")" = 1 ] || fail "repository 2 lacks the snapshot"
[ "$(json_get "$T/snaps.json" 'j[0]["tags"]')" = '["e2e"]' ] || fail "tags: $(cat "$T/snaps.json")"
snap=$(json_get "$T/snaps.json" 'j[0]["id"]')
expect_rc 0 dsb -r "$T/r2" --password-file "$T/password" ls "$snap"
expect_out "a.txt"
grep -q "skip.tmp" "$OUT" && fail "the excluded file was backed up"
grep -qx "pre nightly" "$T/hooks/log" || fail "the pre-hook did not run: $(cat "$T/hooks/log")"
grep -qx "post 0" "$T/hooks/log" || fail "the post-hook did not run: $(cat "$T/hooks/log")"

step "the run is in the history of both repositories"
expect_rc 0 dsb -c "$CONF" --json history --job nightly
cp "$OUT" "$T/hist.json"
[ "$(json_get "$T/hist.json" 'len(j)')" = 2 ] || fail "history: $(cat "$T/hist.json")"
[ "$(json_get "$T/hist.json" 'sorted(r["repository"] for r in j)')" = '["local", "second"]' ] ||
    fail "history rows: $(cat "$T/hist.json")"
[ "$(json_get "$T/hist.json" 'set(r["result"] for r in j) == {"ok"} and all(r["files"] == 2 and r["bytes_read"] > 0 and len(r["snapshots"]) == 1 for r in j)')" = true ] ||
    fail "history values: $(cat "$T/hist.json")"
[ "$(json_get "$T/hist.json" 'j[0]["run_id"] == j[1]["run_id"] and j[0]["sources"] == ["path:'"$T"'/data"]')" = true ] ||
    fail "history run id or sources: $(cat "$T/hist.json")"
expect_rc 0 dsb -c "$CONF" history
expect_out "nightly +local +ok"
expect_rc 0 dsb -r "$T/r1" --password-file "$T/password" history
expect_out "nightly +local"

step "the Prometheus file"
prom="$T/metrics/dsbackup-job-nightly.prom"
[ -f "$prom" ] || fail "no $prom"
grep -q '^dsbackup_last_run_result{job="nightly"} 0$' "$prom" || fail "result: $(cat "$prom")"
grep -Eq '^dsbackup_last_success_timestamp_seconds\{job="nightly"\} [1-9][0-9]+$' "$prom" ||
    fail "last success: $(cat "$prom")"
grep -Eq '^dsbackup_last_run_duration_seconds\{job="nightly"\} [0-9]+$' "$prom" || fail "duration"
grep -Eq '^dsbackup_last_run_bytes_added\{job="nightly"\} [1-9][0-9]+$' "$prom" || fail "bytes added"
grep -q '^dsbackup_repository_last_run_result{job="nightly",repository="second"} 0$' "$prom" ||
    fail "per repository: $(cat "$prom")"
ls "$T/metrics" | grep -v '\.prom$' && fail "a temporary file was left in the metrics directory"

if dsb forget --help >/dev/null 2>&1; then
	step "the retention policy runs after each backup (keep-last = 2)"
	expect_rc 0 dsb -c "$CONF" backup --job nightly
	echo "more" >>"$T/data/a.txt"
	expect_rc 0 dsb -c "$CONF" backup --job nightly
	expect_err "forget path:$T/data: 2 snapshot\(s\) kept, 1 removed"
	[ "$(count_snapshots "$T/r1")" = 2 ] || fail "repository 1: $(cat "$T/snaps.json")"
	[ "$(count_snapshots "$T/r2")" = 2 ] || fail "repository 2: $(cat "$T/snaps.json")"
else
	note "this dsbackup has no forget command: retention not checked"
fi

step "a second run of a running job is refused (job lock)"
cat >>"$CONF" <<EOF

[job slow]
sources = $T/data
repositories = local
pre-hook = touch $T/hooks/slow-started
pre-hook = sleep 3
EOF
dsb -c "$CONF" backup --job slow >"$T/slow.out" 2>"$T/slow.err" &
slow=$!
wait_until 20 test -e "$T/hooks/slow-started"
expect_rc 11 dsb -c "$CONF" backup --job slow
expect_err "job slow is already running"
wait "$slow" || fail "the first run of slow failed: $(cat "$T/slow.err")"

step "a failed run calls the webhook with its report"
cat >"$T/listener.py" <<'EOF'
import http.server, os, sys, threading
out, lifetime = sys.argv[1], float(sys.argv[2])
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(out, "ab") as f:
            f.write(body + b"\n")
        self.send_response(204)
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
with open(out + ".port.tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(out + ".port.tmp", out + ".port")
threading.Timer(lifetime, server.shutdown).start()
server.serve_forever()
EOF
"$PY" "$T/listener.py" "$T/hook.jsonl" 120 &
wait_until 20 test -s "$T/hook.jsonl.port"
port=$(cat "$T/hook.jsonl.port")
cat >>"$CONF" <<EOF

[job broken]
sources = $T/data
repositories = local, second
pre-hook = exit 7
post-hook = echo "broken post \$DSBACKUP_RESULT" >> $T/hooks/log
notify-webhook = http://127.0.0.1:$port/dsbackup
EOF
expect_rc 1 dsb -c "$CONF" backup --job broken
expect_err "pre-hook \"exit 7\" exited with status 7"
wait_until 20 test -s "$T/hook.jsonl"
head -n 1 "$T/hook.jsonl" >"$T/hook1.json"
[ "$(json_get "$T/hook1.json" 'j["job"]')" = broken ] || fail "webhook body: $(cat "$T/hook1.json")"
[ "$(json_get "$T/hook1.json" 'j["result"]')" = failed ] || fail "webhook result"
[ "$(json_get "$T/hook1.json" 'j["snapshots"]')" = '[]' ] || fail "webhook snapshots"
json_get "$T/hook1.json" 'j["error"]' | grep -q "pre-hook" || fail "webhook error: $(cat "$T/hook1.json")"
json_get "$T/hook1.json" 'j["started"] <= j["finished"]' | grep -qx true || fail "webhook times"
grep -qx "broken post 1" "$T/hooks/log" || fail "the post-hook did not run after a failure"
expect_rc 0 dsb -c "$CONF" --json history --job broken
[ "$(json_get "$OUT" 'sorted((r["repository"], r["result"]) for r in j)')" = '[["local", "failed"], ["second", "failed"]]' ] ||
    fail "failed run not in the history: $(cat "$OUT")"
grep -q '^dsbackup_last_run_result{job="broken"} 1$' "$T/metrics/dsbackup-job-broken.prom" ||
    fail "metrics of the failed run"
grep -q '^dsbackup_last_success_timestamp_seconds{job="broken"} 0$' "$T/metrics/dsbackup-job-broken.prom" ||
    fail "a job that never succeeded has a last success time"

step "the scheduler: catch-up, a scheduled run, reload, stop, sd_notify"
cat >"$T/notify.py" <<'EOF'
import socket, sys, time
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind("\0" + sys.argv[1][1:])
sock.settimeout(0.2)
open(sys.argv[2] + ".ready", "w").close()
end = time.time() + float(sys.argv[3])
with open(sys.argv[2], "ab", buffering=0) as out:
    while time.time() < end:
        try:
            out.write(sock.recv(4096).replace(b"\n", b" ") + b"\n")
        except socket.timeout:
            pass
EOF
nsock="@dsb-e2e-$$-$RANDOM"
"$PY" "$T/notify.py" "$nsock" "$T/notify.log" 150 &
wait_until 20 test -e "$T/notify.log.ready"

SCONF="$T/sched.conf"
cat >"$SCONF" <<EOF
[repository local]
url = $T/r1
password-file = $T/password

# missed while "the machine was off": its last run was two hours ago
[job catchup]
sources = $T/data/sub
repositories = local
schedule = hourly

# never run before: the scheduler's clock is shifted to 3 s before a minute
[job minutely]
sources = $T/data/sub
repositories = local
schedule = * * * * *
EOF
mkdir -p "$DSBACKUP_STATE_DIR/jobs"
echo $(($(date +%s) - 7200)) >"$DSBACKUP_STATE_DIR/jobs/catchup.last"
now=$(date +%s)
offset=$((57 - now % 60))
# the binary itself, not the dsb function: $! must be the scheduler's pid, for the signals
NOTIFY_SOCKET=$nsock WATCHDOG_USEC=1000000 DSBACKUP_SCHED_NOW_OFFSET=$offset \
    "$DSB" -c "$SCONF" run >"$T/sched.out" 2>"$T/sched.err" &
sched=$!
wait_until 20 grep -q "READY=1" "$T/notify.log"
wait_until 60 grep -q "job catchup ended with exit code 0" "$T/sched.err"
grep -q "job catchup missed its run" "$T/sched.err" || fail "no catch-up message: $(cat "$T/sched.err")"
wait_until 60 grep -q "job minutely ended with exit code 0" "$T/sched.err"
grep -q "WATCHDOG=1" "$T/notify.log" || fail "no watchdog ping: $(cat "$T/notify.log")"
grep -q "STATUS=" "$T/notify.log" || fail "no status"

step "SIGHUP reloads the file: a new job missed its run and runs"
cat >>"$SCONF" <<EOF

[job added]
sources = $T/data
repositories = local
schedule = daily 00:00
EOF
echo $(($(date +%s) - 3 * 86400)) >"$DSBACKUP_STATE_DIR/jobs/added.last"
kill -HUP "$sched"
wait_until 30 grep -q "job added ended with exit code 0" "$T/sched.err"
grep -q "RELOADING=1" "$T/notify.log" || fail "no RELOADING=1: $(cat "$T/notify.log")"
[ "$(grep -c "READY=1" "$T/notify.log")" -ge 2 ] || fail "no READY=1 after the reload"

step "a broken file on SIGHUP keeps the old configuration"
cp "$SCONF" "$T/sched.good"
echo "bogus line" >>"$SCONF"
kill -HUP "$sched"
wait_until 20 grep -q "reload failed, keeping the configuration" "$T/sched.err"
grep -q "sched.conf:$(wc -l <"$SCONF"): expected" "$T/sched.err" || fail "the problem is not named"
kill -0 "$sched" || fail "the scheduler died on a broken file"
cp "$T/sched.good" "$SCONF"

step "SIGTERM stops the scheduler cleanly"
kill -TERM "$sched"
rc=0
wait "$sched" || rc=$?
[ "$rc" -eq 0 ] || fail "the scheduler exited with $rc: $(tail -n 20 "$T/sched.err")"
grep -q "STOPPING=1" "$T/notify.log" || fail "no STOPPING=1"
grep -q "scheduler: stopped" "$T/sched.err" || fail "no stop message"
expect_rc 0 dsb -c "$SCONF" --json history --repository local
[ "$(json_get "$OUT" 'sorted(set(r["job"] for r in j))')" = '["added", "broken", "catchup", "minutely", "nightly", "slow"]' ] ||
    fail "history: $(cat "$OUT")"

step "the commented example is a valid configuration"
ex="$T/example"
mkdir -p "$ex/etc" "$ex/srv/data" "$ex/metrics"
cp "$T/password" "$ex/etc/password"
sed -e "s|/etc/dsbackup/password|$ex/etc/password|" -e "s|/var/lib/prometheus/node-exporter|$ex/metrics|" \
    -e "s|/var/lib/dsbackup|$ex/state|" -e "s|/var/backups/dsbackup|$ex/repo|" \
    -e "s|^sources = /etc, /srv/data|sources = $ex/etc, $ex/srv/data|" -e "s|/srv/data/cache|$ex/srv/data/cache|" \
    "$SRC/docs/dsbackup.conf.example" >"$ex/dsbackup.conf"
expect_rc 0 dsb config check "$ex/dsbackup.conf"
expect_out "job nightly: .*schedule \"daily 03:30\""

step "systemd-analyze verify on each unit"
if ! have systemd-analyze; then
	note "SKIPPED: systemd-analyze is not installed (Debian package systemd)"
else
	units="$T/units"
	mkdir -p "$units"
	for u in dsbackup@.service dsbackup@.timer dsbackup.service dsbackup-path@.service dsbackup-path@.timer; do
		# verify needs the ExecStart binaries to exist: point them at the built one
		sed "s|/usr/bin/dsbackup|$DSB|" "$SRC/systemd/$u" >"$units/$u"
	done
	cp "$units/dsbackup@.service" "$units/dsbackup@nightly.service"
	cp "$units/dsbackup@.timer" "$units/dsbackup@nightly.timer"
	cp "$units/dsbackup-path@.service" "$units/dsbackup-path@srv.service"
	cp "$units/dsbackup-path@.timer" "$units/dsbackup-path@srv.timer"
	if ! (cd "$units" && systemd-analyze verify ./dsbackup.service) >"$T/verify.out" 2>&1 &&
	    grep -qiE "failed to (connect|initialize)|not booted|no such file or directory.*/run/systemd" "$T/verify.out"; then
		note "SKIPPED: systemd-analyze cannot run here: $(head -n 1 "$T/verify.out")"
	else
		for u in dsbackup@nightly.service dsbackup@nightly.timer dsbackup.service \
		    dsbackup-path@srv.service dsbackup-path@srv.timer; do
			rc=0
			(cd "$units" && systemd-analyze verify "./$u") >"$T/verify.out" 2>&1 || rc=$?
			if [ "$rc" -ne 0 ] || [ -s "$T/verify.out" ]; then
				cat "$T/verify.out" >&2
				fail "systemd-analyze verify $u (exit $rc)"
			fi
			note "verified $u"
		done
	fi
fi
