#!/usr/bin/env bash
# dsbackup side-by-side benchmark against restic and borg (issue 8). See bench/README.md.
#
#   bench/run.sh [options] [WORKDIR]        WORKDIR defaults to /var/tmp/dsb-bench
#
#   --smoke            tiny data set (~9 MB), no installs, no cache drops, temporary WORKDIR,
#                      results in WORKDIR; checks only that every command succeeded and the
#                      tables were produced (used by ctest: bench.smoke)
#   --rss-growth       instead of the five steps: peak RSS with 1, 10 and 30 snapshots in the
#                      repository, and on the 200,000-file variant
#   --s3               instead of the five steps: first backup, unchanged re-run and restore of
#                      dsbackup and restic to radosgw on loopback (a cluster of its own under
#                      WORKDIR/radosgw, stopped at the end), with MB/s and the requests the
#                      gateway logged per tool (default scale 0.35: ~300 MB)
#   --rounds N         the five steps N times over (fresh repositories and data set each
#                      round); the report gives the median of each figure, and the wall-time
#                      ratios of every round (this machine is noisy)
#   --variant V        docker (default), small-files or large-file
#   --scale S          shrink (or grow) the data set
#   --tools "A B"      subset of: dsbackup restic borg (default: all three)
#   --dsbackup PATH    the binary (default: $DSB, else build-bench/dsbackup in this tree)
#   --results DIR      where <date>.md/.png/.tsv go (default: bench/results)
#   --no-drop-caches   do not drop the page cache before each measured command
#   --no-verify        do not compare restored trees with the source
#   --no-install       never apt-get install anything
set -u -o pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_DIR=$(dirname "$BENCH_DIR")
GEN="$BENCH_DIR/gen_dataset.py"

MODE=steps SMOKE=0 VARIANT=docker SCALE= TOOLS="dsbackup restic borg" DROP=1 VERIFY=1 INSTALL=1 ROUNDS=1
RESULTS= WORK= DSB=${DSB:-}
while [ $# -gt 0 ]; do
	case $1 in
	--smoke) SMOKE=1 ;;
	--rss-growth) MODE=growth ;;
	--s3) MODE=s3 ;;
	--variant) VARIANT=$2; shift ;;
	--rounds) ROUNDS=$2; shift ;;
	--scale) SCALE=$2; shift ;;
	--tools) TOOLS=$2; shift ;;
	--dsbackup) DSB=$2; shift ;;
	--results) RESULTS=$2; shift ;;
	--no-drop-caches) DROP=0 ;;
	--no-verify) VERIFY=0 ;;
	--no-install) INSTALL=0 ;;
	-h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	*) WORK=$1 ;;
	esac
	shift
done

die() { echo "run.sh: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }

case $ROUNDS in ''|*[!0-9]*|0) die "--rounds wants a whole number of at least 1, not '$ROUNDS'" ;; esac
[ "$ROUNDS" = 1 ] || [ "$MODE" = steps ] || die "--rounds is for the five steps only"
[ -n "$DSB" ] || DSB="$SRC_DIR/build-bench/dsbackup"
[ -x "$DSB" ] || die "no dsbackup binary at $DSB (build it, or pass --dsbackup PATH / DSB=PATH)"
DSB=$(cd "$(dirname "$DSB")" && pwd)/$(basename "$DSB")
command -v python3 >/dev/null || die "python3 is needed"

CLEANUP_WORK=0
if [ "$SMOKE" = 1 ]; then
	INSTALL=0 DROP=0
	: "${SCALE:=0.01}"
	if [ -z "$WORK" ]; then
		WORK=$(mktemp -d "${TMPDIR:-/tmp}/dsb-bench-smoke.XXXXXX") && CLEANUP_WORK=1
	fi
	: "${RESULTS:=$WORK/results}"
	# smoke: dsbackup, plus the peers only when they are already installed
	t="dsbackup"
	for p in restic borg; do
		case " $TOOLS " in *" $p "*) command -v $p >/dev/null && t="$t $p" ;; esac
	done
	TOOLS=$t
fi
if [ "$MODE" = s3 ]; then
	[ "$SMOKE" = 0 ] || die "--s3 needs radosgw: no smoke version"
	# borg has no S3 backend; the gateway keeps everything in memory: a smaller set
	TOOLS=$(echo " $TOOLS " | sed 's/ borg / /; s/^ *//; s/ *$//')
	: "${SCALE:=0.35}"
fi
: "${SCALE:=1}" "${WORK:=/var/tmp/dsb-bench}" "${RESULTS:=$BENCH_DIR/results}"
mkdir -p "$WORK" "$RESULTS" || die "cannot create $WORK or $RESULTS"
WORK=$(cd "$WORK" && pwd)
RESULTS=$(cd "$RESULTS" && pwd)

# ---- dependencies ------------------------------------------------------------------------------
if [ "$INSTALL" = 1 ]; then
	need=()
	for t in $TOOLS; do
		case $t in
		restic) command -v restic >/dev/null || need+=(restic) ;;
		borg) command -v borg >/dev/null || need+=(borgbackup) ;;
		esac
	done
	[ -x /usr/bin/time ] || need+=(time)
	command -v gnuplot >/dev/null || need+=(gnuplot-nox)
	if [ ${#need[@]} -gt 0 ]; then
		log "installing ${need[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null ||
			{ apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null; } ||
			echo "run.sh: could not install ${need[*]}" >&2
	fi
fi
for t in $TOOLS; do
	case $t in
	dsbackup) ;;
	restic|borg) command -v $t >/dev/null || die "$t is not installed (drop it with --tools)" ;;
	*) die "unknown tool $t" ;;
	esac
done

# ---- environment of the tools ------------------------------------------------------------------
export DSBACKUP_PASSWORD=bench-password RESTIC_PASSWORD=bench-password BORG_PASSPHRASE=bench-password
export DSBACKUP_STATE_DIR="$WORK/cache/dsbackup" RESTIC_CACHE_DIR="$WORK/cache/restic"
export BORG_BASE_DIR="$WORK/cache/borg" BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
export BORG_DISPLAY_PASSPHRASE=no BORG_CHECK_I_KNOW_WHAT_I_AM_DOING=NO
unset DSBACKUP_REPOSITORY DSBACKUP_PASSWORD_FILE RESTIC_REPOSITORY BORG_REPO 2>/dev/null || true

STAMP=$(date +%Y-%m-%d-%H%M%S)
# begin MODE: the names of this mode's results and logs
begin() {
	CUR_MODE=$1
	NAME=$STAMP
	[ "$1" = growth ] && NAME="$STAMP-rss-growth"
	[ "$1" = s3 ] && NAME="$STAMP-s3"
	[ "$1" = steps ] && [ "$VARIANT" != docker ] && NAME="$NAME-$VARIANT"
	[ "$SMOKE" = 1 ] && NAME="$NAME-smoke"
	TSV="$RESULTS/$NAME.tsv"
	LOGS="$WORK/logs/$NAME"
	mkdir -p "$LOGS"
	log "work dir $WORK, results $RESULTS/$NAME.*, tools: $TOOLS"
}
FAILURES=0

if [ -x /usr/bin/time ] && /usr/bin/time -f '%e' -o /dev/null true 2>/dev/null; then
	TIMER=(/usr/bin/time -f '%e %U %S %M' -o)
else
	# fallback without GNU time: the same four figures from getrusage(RUSAGE_CHILDREN)
	TIMER=(python3 -c '
import resource, subprocess, sys, time
t = time.monotonic()
try:
    rc = subprocess.call(sys.argv[2:])
except OSError as e:
    print(e, file=sys.stderr); rc = 127
u = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write("%.2f %.2f %.2f %d\n" % (time.monotonic() - t, u.ru_utime, u.ru_stime, u.ru_maxrss))
sys.exit(rc)')
fi

drop_caches() {
	[ "$DROP" = 1 ] || return 0
	sync
	echo 3 2>/dev/null >/proc/sys/vm/drop_caches || true
}

size_of() { if [ -e "$1" ]; then du -sb "$1" 2>/dev/null | cut -f1; else echo 0; fi; }

# ensure_data DIR VARIANT: generate the data set unless DIR holds exactly this one, unmodified
ensure_data() {
	local dir=$1 variant=$2 want
	want="variant=$variant scale=$SCALE seed=1 gen=$(cksum <"$GEN" | cut -d' ' -f1)"
	if [ -f "$dir.stamp" ] && [ "$(cat "$dir.stamp")" = "$want" ] && [ -d "$dir" ]; then
		log "reusing the data set in $dir ($want)"
		return 0
	fi
	rm -rf "$dir" "$dir.stamp"
	log "generating the $variant data set in $dir (scale $SCALE)"
	python3 "$GEN" generate "$dir" --variant "$variant" --scale "$SCALE" >&2 || die "data set generation failed"
	echo "$want" >"$dir.stamp"
}

# modify DIR SEED FRACTION
modify() {
	rm -f "$1.stamp"
	python3 "$GEN" modify "$1" --seed "$2" --fraction "$3" >&2 || die "modification failed"
}

declare -A REPO NARCH
repo_init() { # tool repo (a directory, or an S3 URL of a bucket that does not exist yet)
	local tool=$1 r=$2
	rm -rf "$WORK/cache/$tool"
	mkdir -p "$WORK/cache/$tool"
	case $r in s3:*) ;; *) rm -rf "$r"; mkdir -p "$(dirname "$r")" ;; esac
	REPO[$tool]=$r
	NARCH[$tool]=0
	case $tool in
	dsbackup) "$DSB" -r "$r" init --kdf-log2n 15 ;;
	restic) restic -r "$r" init --repository-version 2 ;;
	borg) borg init -e repokey-blake2 "$r" ;;
	esac >"$LOGS/init.$tool.log" 2>&1 || { cat "$LOGS/init.$tool.log" >&2; die "$tool: init failed"; }
}

# The commands, as argv in CMD
cmd_backup() { # tool data
	local r=${REPO[$1]}
	case $1 in
	dsbackup) CMD=("$DSB" -r "$r" backup "$2" --json) ;;
	restic) CMD=(restic -r "$r" backup "$2") ;;
	borg) NARCH[$1]=$((NARCH[$1] + 1)); CMD=(borg create --compression zstd,3 "$r::snap-${NARCH[$1]}" "$2") ;;
	esac
}
cmd_restore() { # tool target
	local r=${REPO[$1]}
	case $1 in
	dsbackup) CMD=("$DSB" -r "$r" restore latest --target "$2") ;;
	restic) CMD=(restic -r "$r" restore latest --target "$2") ;;
	borg) CMD=(bash -c 'cd "$1" && exec borg extract "$2"' borg-extract "$2" "$r::snap-${NARCH[$1]}") ;;
	esac
}
cmd_check() {
	local r=${REPO[$1]}
	case $1 in
	dsbackup) CMD=("$DSB" -r "$r" check --read-data) ;;
	restic) CMD=(restic -r "$r" check --read-data) ;;
	borg) CMD=(borg check --verify-data "$r") ;;
	esac
}

# measure STEP TOOL: run CMD under the timer; append a row to the TSV
# columns: step tool wall_s user_s sys_s rss_kb bytes_added repo_bytes cache_bytes rc
# (--s3: and requests, requests_by_kind, from the gateway's log)
measure() {
	local step=$1 tool=$2 r=${REPO[$2]} before after rc wall user sys rss
	local tag="$step.$tool" status requests=""
	drop_caches
	before=$(repo_bytes "$r")
	[ "$CUR_MODE" = s3 ] && s3_log_mark
	log "$step: $tool: ${CMD[*]}"
	"${TIMER[@]}" "$LOGS/$tag.time" "${CMD[@]}" >"$LOGS/$tag.log" 2>&1
	rc=$?
	[ "$CUR_MODE" = s3 ] && requests=$(s3_requests "$r")
	after=$(repo_bytes "$r")
	read -r wall user sys rss < <(tail -n 1 "$LOGS/$tag.time" 2>/dev/null) || true
	case $wall in ''|*[!0-9.]*) wall=0 user=0 sys=0 rss=0 ;; esac
	status=$rc
	if [ "$rc" != 0 ]; then
		if [ "$tool" = borg ] && [ "$rc" = 1 ]; then
			status="1(warning)"
		else
			FAILURES=$((FAILURES + 1))
			echo "run.sh: FAILED ($rc): $step $tool: ${CMD[*]}; last lines of $LOGS/$tag.log:" >&2
			tail -n 5 "$LOGS/$tag.log" >&2
		fi
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s%s\n' "$step" "$tool" "$wall" "$user" "$sys" \
		"$rss" $((after - before)) "$after" "$(size_of "$WORK/cache/$tool")" "$status" \
		"${requests:+	$requests}" >>"$TSV"
	[ -z "$requests" ] || echo "   requests: ${requests/	/: }" >&2
	printf '   %-10s %-9s wall %7ss  cpu %7ss  rss %6d MB  added %8d MB  rc %s\n' "$step" "$tool" \
		"$wall" "$(echo "$user $sys" | awk '{print $1 + $2}')" $((rss / 1024)) \
		$(((after - before) / 1000000)) "$status" >&2
}

# ---- S3: radosgw on loopback, requests counted from its access log ----------------------------
# One "beast: ... "METHOD /BUCKET[/KEY][?QUERY] HTTP/1.1" STATUS ..." line per request, whoever sent
# it; a bucket per tool keeps the tools apart.
RGW_SH="$SRC_DIR/scripts/services/radosgw.sh"
S3LS="$SRC_DIR/tests/e2e/s3ls.py"
RGW_DIR= RGW_LOG= RGW_MARK=0

s3_start() {
	RGW_DIR="$WORK/radosgw"
	RGW_LOG="$RGW_DIR/log/client.rgw.gw.log"
	trap s3_stop EXIT
	# memstore: room for both repositories; it takes memory only for what is stored
	DSB_RADOSGW_BYTES=$((4 << 30)) bash "$RGW_SH" start "$RGW_DIR" >&2 || die "radosgw did not start"
	. "$RGW_DIR/env"
}

# s3_stop: every daemon of the cluster, by the pids in its run dir (radosgw.sh stop)
s3_stop() {
	[ -z "$RGW_DIR" ] || bash "$RGW_SH" stop "$RGW_DIR" >&2 || true
	RGW_DIR=
}

# repo_bytes REPO: bytes stored in a directory, or in the bucket of an S3 URL
repo_bytes() {
	case $1 in
	s3:*) python3 "$S3LS" objects "${1##*/}" "" | awk '{ n += $2 } END { print n + 0 }' ;;
	*) size_of "$1" ;;
	esac
}

# s3_log_settled: the gateway writes its log from a thread of its own: wait until it stops growing
s3_log_settled() {
	local last=-1 now i
	for i in $(seq 1 50); do
		now=$(stat -c %s "$RGW_LOG")
		[ "$now" = "$last" ] && return 0
		last=$now
		sleep 0.3
	done
}

s3_log_mark() {
	s3_log_settled
	RGW_MARK=$(stat -c %s "$RGW_LOG")
}

# s3_requests URL: "TOTAL<tab>GET=n PUT=n POST=n DELETE=n HEAD=n LIST=n", the requests on its
# bucket logged since s3_log_mark (LIST: a GET of the bucket itself: listings, location)
s3_requests() {
	s3_log_settled
	tail -c +$((RGW_MARK + 1)) "$RGW_LOG" | awk -v bucket="${1##*/}" '
		/ beast: / && match($0, /"(GET|PUT|POST|DELETE|HEAD) \/[^ ]* HTTP/) {
			split(substr($0, RSTART + 1, RLENGTH - 6), f, " ")
			path = f[2]; sub(/\?.*/, "", path)
			n = split(substr(path, 2), seg, "/")
			if (seg[1] != bucket) next
			kind = f[1]
			if (kind == "GET" && (n < 2 || seg[2] == "")) kind = "LIST"
			count[kind]++; total++
		}
		END {
			printf "%d\t", total
			split("GET PUT POST DELETE HEAD LIST", k, " ")
			for (i = 1; i <= 6; i++) printf "%s%s=%d", (i > 1 ? " " : ""), k[i], count[k[i]]
			print ""
		}'
}

# verify_restore TOOL TARGET DATA: the restored tree equals the source (not timed)
verify_restore() {
	[ "$VERIFY" = 1 ] || return 0
	local got="$2$3"
	[ "$1" = borg ] && got="$2/${3#/}"
	if ! diff -rq "$3" "$got" >"$LOGS/verify.$1.log" 2>&1; then
		FAILURES=$((FAILURES + 1))
		echo "run.sh: FAILED: $1 restored tree differs from the source:" >&2
		head -n 5 "$LOGS/verify.$1.log" >&2
	fi
}

# rotate "a b c" N: the tool order for step N, so that no tool always runs first
rotate() {
	local -a t=($1)
	local n=${#t[@]} i out=()
	for ((i = 0; i < n; i++)); do out+=("${t[$(((i + $2) % n))]}"); done
	echo "${out[*]}"
}

header() {
	{
		echo "# date: $(date -Is)"
		echo "# mode: $CUR_MODE variant: $VARIANT scale: $SCALE smoke: $SMOKE drop_caches: $DROP"
		echo "# host: $(uname -srm), $(nproc) cpus, $(awk '/MemTotal/ {printf "%d MB", $2 / 1024}' /proc/meminfo)"
		echo "# loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
		echo "# dsbackup: $DSB, built $(date -r "$DSB" '+%F %T'), $("$DSB" version 2>/dev/null | head -n 1); tree at run time: $(cd "$SRC_DIR" && git rev-parse --short HEAD 2>/dev/null)$(cd "$SRC_DIR" && [ -n "$(git status --porcelain -- src include backends 2>/dev/null)" ] && echo " + uncommitted changes")"
		for t in $TOOLS; do
			case $t in
			restic) echo "# restic: $(restic version 2>/dev/null | head -n 1)" ;;
			borg) echo "# borg: $(borg --version 2>/dev/null)" ;;
			esac
		done
		echo "# data: $1"
		echo "step	tool	wall_s	user_s	sys_s	rss_kb	bytes_added	repo_bytes	cache_bytes	rc$(
			[ "$CUR_MODE" = s3 ] && printf '\trequests\trequests_by_kind')"
	} >"$TSV"
}

# ---- the five steps ----------------------------------------------------------------------------
# run_step STEP TOOL DATA: one measured command (a restore is compared with DATA afterwards)
run_step() {
	local step=$1 t=$2 data=$3
	case $step in
	first|unchanged|modified) cmd_backup "$t" "$data" ;;
	restore) rm -rf "$WORK/restore/$t"; mkdir -p "$WORK/restore/$t"; cmd_restore "$t" "$WORK/restore/$t" ;;
	check) cmd_check "$t" ;;
	esac
	measure "$step" "$t"
	if [ "$step" = restore ]; then
		verify_restore "$t" "$WORK/restore/$t" "$data"
		rm -rf "$WORK/restore/$t"
	fi
}

run_steps() {
	local data="$WORK/data" order t n=0
	[ "$VARIANT" != docker ] && data="$WORK/data-$VARIANT"
	ensure_data "$data" "$VARIANT"
	header "$data: $(python3 "$GEN" describe "$data")"
	[ "$ROUNDS" = 1 ] || echo "# rounds: $ROUNDS (figures are medians of the rounds)" >>"$TSV"
	for ((round = 1; round <= ROUNDS; round++)); do
		[ "$ROUNDS" = 1 ] || log "round $round of $ROUNDS"
		# each round from scratch: the unmodified data set and empty repositories
		[ "$round" = 1 ] || ensure_data "$data" "$VARIANT"
		for t in $TOOLS; do repo_init "$t" "$WORK/repos/$t"; done
		for step in first unchanged modified restore check; do
			order=$(rotate "$TOOLS" $n)
			n=$((n + 1))
			[ "$step" = modified ] && modify "$data" 1 0.01
			for t in $order; do run_step "$step" "$t" "$data"; done
		done
	done
	echo "# loadavg at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$TSV"
}

# ---- S3: first backup, unchanged re-run and restore against radosgw --------------------------
run_s3() {
	local data="$WORK/data-s3" order t n=0
	ensure_data "$data" docker
	s3_start
	header "$data: $(python3 "$GEN" describe "$data"); radosgw $(radosgw --version 2>/dev/null |
		awk '{ print $3 }') on loopback (memstore), $DSB_S3_ENDPOINT"
	for t in $TOOLS; do repo_init "$t" "s3:$DSB_S3_ENDPOINT/bench-$t"; done
	for step in first unchanged restore; do
		order=$(rotate "$TOOLS" $n)
		n=$((n + 1))
		for t in $order; do run_step "$step" "$t" "$data"; done
	done
	echo "# loadavg at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$TSV"
	s3_stop
}

# ---- RSS as the repository grows, and on the many-small-files variant --------------------------
run_growth() {
	local data="$WORK/data" small="$WORK/data-small-files" t i order checkpoints="1 10 30" last=30
	if [ "$SMOKE" = 1 ]; then checkpoints="1 2"; last=2; fi
	ensure_data "$data" docker
	header "$data: $(python3 "$GEN" describe "$data"); snapshots at $checkpoints, 0.2 % modified between them"
	for t in $TOOLS; do repo_init "$t" "$WORK/repos-growth/$t"; done
	for ((i = 1; i <= last; i++)); do
		[ "$i" -gt 1 ] && modify "$data" "$((1000 + i))" 0.002 >/dev/null 2>&1
		order=$(rotate "$TOOLS" "$i")
		if [[ " $checkpoints " == *" $i "* ]]; then
			for t in $order; do cmd_backup "$t" "$data"; measure "backup@$i" "$t"; done
			for t in $order; do
				rm -rf "$WORK/restore/$t"; mkdir -p "$WORK/restore/$t"
				cmd_restore "$t" "$WORK/restore/$t"; measure "restore@$i" "$t"
				rm -rf "$WORK/restore/$t"
			done
		else
			# cheap snapshots between the checkpoints: not dropped from the cache, not reported
			local save=$DROP; DROP=0
			for t in $order; do cmd_backup "$t" "$data"; measure "backup#$i" "$t"; done
			DROP=$save
		fi
	done
	rm -f "$data.stamp"

	# the many-small-files variant (>= 200,000 files at scale 1)
	ensure_data "$small" small-files
	echo "# small-files data: $small: $(python3 "$GEN" describe "$small")" >>"$TSV"
	for t in $TOOLS; do repo_init "$t" "$WORK/repos-small/$t"; done
	for step in small-first small-unchanged small-restore; do
		for t in $(rotate "$TOOLS" ${#step}); do
			case $step in
			small-restore) rm -rf "$WORK/restore/$t"; mkdir -p "$WORK/restore/$t"; cmd_restore "$t" "$WORK/restore/$t" ;;
			*) cmd_backup "$t" "$small" ;;
			esac
			measure "$step" "$t"
			if [ "$step" = small-restore ]; then
				verify_restore "$t" "$WORK/restore/$t" "$small"
				rm -rf "$WORK/restore/$t"
			fi
		done
	done
	echo "# loadavg at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$TSV"
}

# report: the tables and the chart of the current mode
report() {
	python3 "$BENCH_DIR/report.py" "$TSV" --md "$RESULTS/$NAME.md" --png "$RESULTS/$NAME.png" ||
		{ echo "run.sh: the report failed" >&2; FAILURES=$((FAILURES + 1)); return; }
	if ! grep -q '| dsbackup |' "$RESULTS/$NAME.md"; then
		echo "run.sh: no table was produced in $RESULTS/$NAME.md" >&2
		FAILURES=$((FAILURES + 1))
	fi
}

if [ "$SMOKE" = 1 ]; then
	# the smoke test runs both modes so that neither can rot
	begin steps; run_steps; report
	begin growth; run_growth; report
elif [ "$MODE" = growth ]; then
	begin growth; run_growth; report
elif [ "$MODE" = s3 ]; then
	begin s3; run_s3; report
else
	begin steps; run_steps; report
fi

if [ "$FAILURES" != 0 ]; then
	echo "run.sh: $FAILURES failure(s); logs in $WORK/logs" >&2
	exit 1
fi
[ "$CLEANUP_WORK" = 1 ] && rm -rf "$WORK"
log "done: results in $RESULTS$([ "$CLEANUP_WORK" = 1 ] && echo " (removed with the work dir)")"
