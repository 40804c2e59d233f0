# crashlib.sh: kill an operation with SIGKILL at random instants and let
# the caller check what it left behind.  Used by test_crash.sh (backup);
# meant for prune and key rotation too.  Source it after lib.sh.
#
#   crash_measure CMD...    run CMD once; it must exit 0.  Sets CRASH_DURATION
#                           (seconds, with milliseconds) if it is not set yet.
#   crash_kill_after SECONDS CMD...
#                           run CMD in a process group of its own (so that a
#                           wrapper and what it starts die together) and
#                           SIGKILL the group after SECONDS.  Sets
#                           CRASH_KILLED=1 if it was still running then (0 if
#                           it had exited) and CRASH_RC to its exit status.
#                           Its stdout and stderr go to $T/crash.out, .err.
#   crash_kill_when FILE REGEX CMD...
#                           as crash_kill_after, but the kill comes as soon as
#                           a line of FILE matches REGEX (within 120 s): with
#                           the fault backend's DSBACKUP_FAULTS_LOG and a
#                           stall fault, a kill at an exact point.
#   crash_observe SECONDS   a normal run of the operation took SECONDS: the
#                           delays follow the machine's speed as it changes
#                           (CRASH_DURATION becomes the mean of the two).
#   crash_loop N PREPARE AFTER CMD...   (CMD: a program, not a shell function)
#                           N times: "$PREPARE" i; run CMD and kill it after a
#                           random delay, uniform in [0, CRASH_DURATION];
#                           "$AFTER" i.  PREPARE and AFTER are shell functions
#                           (":" for none); AFTER checks the repository and
#                           runs the operation again to show it succeeds.
#                           CRASH_DELAY holds the delay of the current kill.
#
# Counters for the summary: CRASH_KILLS (killed while running) and
# CRASH_COMPLETED (the operation had finished before its kill).  The delays
# come from bash's $RANDOM seeded with DSB_CRASH_SEED (default: the time);
# the seed is printed so that a failing run can be repeated.

CRASH_KILLS=0
CRASH_COMPLETED=0
CRASH_SEED=${DSB_CRASH_SEED:-$(date +%s)}
RANDOM=$CRASH_SEED

# crash_now: seconds since the epoch, with nanoseconds
crash_now() {
	date +%s.%N
}

crash_measure() {
	local start end

	start=$(crash_now)
	expect_rc 0 "$@"
	end=$(crash_now)
	if [ -z "${CRASH_DURATION:-}" ]; then
		CRASH_DURATION=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
	fi
}

crash_kill_after() {
	local delay=$1 pid

	shift
	# setsid: CMD leads a process group of its own, whatever it forks
	setsid "$@" >"$T/crash.out" 2>"$T/crash.err" &
	pid=$!
	sleep "$delay"
	if kill -0 "$pid" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; then
		CRASH_KILLED=1
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	else
		CRASH_KILLED=0
	fi
	CRASH_RC=0
	{ wait "$pid"; } 2>/dev/null || CRASH_RC=$?
	# a killed group may have been caught between its kill -0 and its exit
	if [ "$CRASH_KILLED" = 1 ] && [ "$CRASH_RC" -ne $((128 + 9)) ]; then
		CRASH_KILLED=0
	fi
}

crash_kill_when() {
	local file=$1 regex=$2 pid i

	shift 2
	: >"$file"
	setsid "$@" >"$T/crash.out" 2>"$T/crash.err" &
	pid=$!
	for i in $(seq 1 6000); do
		grep -Eq -- "$regex" "$file" 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.02
	done
	CRASH_KILLED=0
	if grep -Eq -- "$regex" "$file" && kill -0 "$pid" 2>/dev/null; then
		CRASH_KILLED=1
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	fi
	CRASH_RC=0
	{ wait "$pid"; } 2>/dev/null || CRASH_RC=$?
	if [ "$CRASH_KILLED" = 1 ] && [ "$CRASH_RC" -ne $((128 + 9)) ]; then
		CRASH_KILLED=0
	fi
}

crash_observe() {
	CRASH_DURATION=$(awk -v a="$CRASH_DURATION" -v b="$1" 'BEGIN { printf "%.3f", (a + b) / 2 }')
}

# crash_random_delay MAX: a uniform random delay in [0, MAX] seconds
crash_random_delay() {
	awk -v max="$1" -v r1="$RANDOM" -v r2="$RANDOM" \
	    'BEGIN { printf "%.3f", max * (r1 * 32768 + r2) / (32768 * 32768 - 1) }'
}

crash_loop() {
	local n=$1 prepare=$2 after=$3 i

	shift 3
	: "${CRASH_DURATION:?crash_loop: call crash_measure first}"
	note "killing at random instants within ${CRASH_DURATION}s, seed $CRASH_SEED (DSB_CRASH_SEED)"
	for i in $(seq 1 "$n"); do
		"$prepare" "$i"
		CRASH_DELAY=$(crash_random_delay "$CRASH_DURATION")
		crash_kill_after "$CRASH_DELAY" "$@"
		if [ "$CRASH_KILLED" = 1 ]; then
			CRASH_KILLS=$((CRASH_KILLS + 1))
		else
			CRASH_COMPLETED=$((CRASH_COMPLETED + 1))
			if [ "$CRASH_RC" -ne 0 ]; then
				cat "$T/crash.err" >&2
				fail "iteration $i: the operation exited $CRASH_RC on its own"
			fi
		fi
		"$after" "$i"
	done
}
