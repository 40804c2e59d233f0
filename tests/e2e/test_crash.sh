#!/usr/bin/env bash
# test_crash.sh: a backup killed with SIGKILL at random instants never harms
# the repository.  The source is a tree of a few hundred files; between
# iterations part of it is rewritten with new data, so every backup stores
# new packs (1 MiB each).  Each iteration kills a backup after a random
# delay between 0 and the duration of a normal backup, then:
#   - no object that existed before the kill was changed or removed;
#   - check is clean (packs of the killed backup are reported as unindexed);
#   - every snapshot not restored yet (the previous backup's, and one the
#     killed backup may have finished) and one earlier snapshot (in turn, so
#     that all are covered again and again; DSB_CRASH_VERIFY_ALL=1: every
#     snapshot) restore bit for bit, compared with the listing (types,
#     modes, owners, times, SHA-256) of the tree each was taken from;
#   - the next backup succeeds.
# Then, through the fault backend (fault:<repo>, a stall fault logged to
# DSBACKUP_FAULTS_LOG), kills at exact points: while a pack is stored, just
# before the index, just before the snapshot, and after the snapshot while
# the lock is removed, each checked the same way.  At the end, check
# --read-data, and every 4th snapshot and any not restored yet are restored
# and compared (every one with DSB_CRASH_VERIFY_ALL=1; since stored objects
# are immutable and were shown unchanged after each kill, each snapshot
# still holds the bytes it was restored from).  The phase each kill landed in
# (before any pack, packs written, index written, snapshot written) is
# counted from what it left.  The delay of the random kills follows the
# duration of the backups that succeed (crash_observe), so that a busy
# machine does not turn them all into kills of finished runs.
# Against S3 (ctest's s3.test_crash, DSB_TEST_S3_ENV): packs go up as
# multipart uploads (DSBACKUP_S3_MULTIPART_THRESHOLD 512K), objects are
# compared by key, size, ETag and time, and after each next backup no
# multipart upload may be left open in the bucket (a killed run leaves its
# own; the next writer that finds itself alone aborts them).
#   DSB_CRASH_ITERATIONS (default 50; 10 with DSB_QUICK=1), DSB_CRASH_SEED,
#   DSB_CRASH_MIB (tree size, default 8), DSB_CRASH_CHURN (percent of the
#   files rewritten per iteration, default 40)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/crashlib.sh"

if [ -n "${DSB_QUICK:-}" ]; then
	iterations=${DSB_CRASH_ITERATIONS:-10}
else
	iterations=${DSB_CRASH_ITERATIONS:-50}
fi
mib=${DSB_CRASH_MIB:-8}
churn=${DSB_CRASH_CHURN:-40}
S="$T/src"
nfiles=160

# ---- the source tree ----

# fill_file I: file I gets new random content, 4 KiB .. 2*avg bytes
avg=$((mib * 1024 * 1024 / nfiles))
fill_file() {
	local i=$1 dir

	dir="$S/d$((i % 12))"
	head -c $((4096 + (RANDOM * 32768 + RANDOM) % (2 * avg))) /dev/urandom >"$dir/f$i"
}

make_tree() {
	local i

	mkdir -p "$S"
	for i in $(seq 0 11); do
		mkdir -p "$S/d$i"
	done
	for i in $(seq 1 "$nfiles"); do
		fill_file "$i"
	done
	ln -s d0/f12 "$S/link"
	ln "$S/d1/f1" "$S/hardlink"
}

# mutate: rewrite ${churn}% of the files, add one small file, remove another
generation=0
mutate() {
	local i k

	generation=$((generation + 1))
	for k in $(seq 1 $((nfiles * churn / 100))); do
		i=$((1 + RANDOM % nfiles))
		[ "$i" = 1 ] || fill_file "$i"
	done
	printf 'generation %s\n' "$generation" >"$S/d$((generation % 12))/gen$generation"
	rm -f "$S/d$(((generation - 3) % 12))/gen$((generation - 3))"
}

# ---- snapshots and what they were taken from ----

SNAPS=()
mkdir -p "$T/manifests"

# record SNAPSHOT: the source as it is now is what SNAPSHOT holds
record() {
	SNAPS+=("$1")
	tree_listing "$S" >"$T/manifests/$1"
}

take_snapshot() {
	backup_json "$S"
	record "$SNAP"
}

# verify SNAPSHOT: restores bit for bit
declare -A VERIFIED=()
verify() {
	local id=$1 out="$T/restore"

	rm -rf "$out"
	expect_rc 0 dsb restore "$id" --target "$out"
	tree_listing "$out$S" >"$T/restored.listing"
	if ! diff -u "$T/manifests/$id" "$T/restored.listing" >"$T/restored.diff"; then
		head -50 "$T/restored.diff" >&2
		fail "snapshot ${id:0:12} does not restore what it was taken from"
	fi
	rm -rf "$out"
	VERIFIED[$id]=1
}

# ---- what a kill left ----

# objects: every stored object, "NAME SIZE ID TIME" (ID: the inode, on S3 the ETag).
# On S3 through s3ls.py, a client of its own that starts faster than the AWS CLI.
S3LS="$(dirname "$0")/s3ls.py"
objects() {
	if s3_mode; then
		python3 "$S3LS" objects "$S3_BUCKET" repo/ >"$T/s3ls" || fail "listing the bucket failed"
		sed 's#^repo/##' "$T/s3ls" | sort
		return
	fi
	(cd "$REPO" && find . -type f ! -name '.tmp-*' -printf '%P %s %i %T@\n' | sort)
}

# open_uploads: how many multipart uploads the bucket holds (0 on a local repository)
open_uploads() {
	s3_mode || { echo 0; return; }
	python3 "$S3LS" uploads "$S3_BUCKET" "" >"$T/s3ls" || fail "listing the multipart uploads failed"
	wc -l <"$T/s3ls"
}

declare -A PHASES=()
phase_of_kill() {
	local new

	new=$(comm -13 "$T/objects.before" "$T/objects.after" | cut -d' ' -f1)
	if grep -q '^snapshots/' <<<"$new"; then
		echo "snapshot written"
	elif grep -q '^index/' <<<"$new"; then
		echo "index written, no snapshot"
	elif grep -q '^data/' <<<"$new"; then
		echo "packs written, no index"
	else
		echo "before any pack"
	fi
}

prepare() {
	mutate
	objects >"$T/objects.before"
}

rotate=0
LEFT_OPEN=0
after_kill() {
	local i=$1 phase missing id k uploads=""

	objects >"$T/objects.after"
	phase=$(phase_of_kill)
	[ "$CRASH_KILLED" = 1 ] || phase="completed before the kill"
	PHASES[$phase]=$((${PHASES[$phase]:-0} + 1))
	# objects are immutable: the kill may only have added some
	missing=$(comm -23 "$T/objects.before" "$T/objects.after")
	if [ -n "$missing" ]; then
		echo "$missing" >&2
		fail "iteration $i: objects that existed before the kill were changed or removed"
	fi
	# a snapshot the killed backup managed to write holds the tree as it is now
	for id in $(comm -13 <(grep '^snapshots/' "$T/objects.before" | cut -d' ' -f1) \
	    <(grep '^snapshots/' "$T/objects.after" | cut -d' ' -f1)); do
		record "${id#snapshots/}"
	done

	expect_rc 0 dsb check
	if [ -n "${DSB_CRASH_VERIFY_ALL:-}" ]; then
		for id in "${SNAPS[@]}"; do
			verify "$id"
		done
	else
		for id in "${SNAPS[@]}"; do
			[ -n "${VERIFIED[$id]:-}" ] || verify "$id"
		done
		verify "${SNAPS[$((rotate % ${#SNAPS[@]}))]}"
		rotate=$((rotate + 1))
	fi
	if s3_mode; then
		k=$(open_uploads)
		[ "$k" = 0 ] || { LEFT_OPEN=$((LEFT_OPEN + 1)); uploads=", $k multipart upload(s) aborted"; }
	fi
	start=$(crash_now)
	expect_rc 0 dsb --json backup "$S"
	crash_observe "$(awk -v a="$start" -v b="$(crash_now)" 'BEGIN { printf "%.3f", b - a }')"
	load_summary "$OUT"
	record "$SNAP"
	k=$(open_uploads)
	[ "$k" = 0 ] || fail "iteration $i: $k multipart upload(s) still open after the next backup"
	case $CRASH_DELAY in
	[0-9]*) when="after ${CRASH_DELAY}s" ;;
	*) when=$CRASH_DELAY ;;
	esac
	printf '   kill %2s %-22s %-28s check clean, %d snapshots, next backup %s%s\n' "$i" \
	    "$when:" "$phase;" "${#SNAPS[@]}" "${SNAP:0:8}" "$uploads"
}

if s3_mode; then
	export DSBACKUP_S3_MULTIPART_THRESHOLD=512K
fi

step "a repository with 1 MiB packs and a first snapshot of a ${mib} MiB tree of $nfiles files"
init_repo --pack-size 1048576
make_tree
take_snapshot
note "$(summary packs_added) packs in the first snapshot"

step "measure a normal backup after ${churn}% of the files changed"
mutate
crash_measure dsb --json backup "$S"
load_summary "$OUT"
record "$SNAP"
note "a backup takes ${CRASH_DURATION}s and stores $(summary packs_added) packs"

step "$iterations backups killed with SIGKILL at random instants"
crash_loop "$iterations" prepare after_kill "$DSB" -q backup "$S"

step "kills at exact points: a pack stored, before the index, before the snapshot, after it"
for point in 'put/data:stall@2:120s' 'put/index:stall@1:120s' 'put/snapshots:stall@1:120s' \
    'remove/locks:stall@1:120s'; do
	prepare
	CRASH_DELAY="in ${point%%:*}"
	crash_kill_when "$T/faults.log" 'stall' env DSBACKUP_FAULTS="$point" \
	    DSBACKUP_FAULTS_LOG="$T/faults.log" "$DSB" -r "fault:$REPO" -q backup "$S"
	[ "$CRASH_KILLED" = 1 ] || { cat "$T/crash.err" >&2; fail "$point: the backup was not killed there"; }
	CRASH_KILLS=$((CRASH_KILLS + 1))
	after_kill '*'
done

step "after all the kills: snapshots restore bit for bit (every 4th and any not restored yet; all with DSB_CRASH_VERIFY_ALL=1)"
for k in "${!SNAPS[@]}"; do
	id=${SNAPS[$k]}
	if [ -n "${DSB_CRASH_VERIFY_ALL:-}" ] || [ -z "${VERIFIED[$id]:-}" ] || [ $((k % 4)) = 0 ]; then
		verify "$id"
	fi
done
expect_rc 0 dsb check --read-data
grep -c 'in no index' "$ERR" >"$T/unindexed" || true

step "summary"
note "$CRASH_KILLS kills survived, $CRASH_COMPLETED runs finished before their kill;" \
    "$(cat "$T/unindexed") unindexed packs left, seed $CRASH_SEED"
for phase in "before any pack" "packs written, no index" "index written, no snapshot" \
    "snapshot written" "completed before the kill"; do
	note "$(printf '%-28s %d' "$phase:" "${PHASES[$phase]:-0}")"
done
if s3_mode; then
	note "$LEFT_OPEN kills left multipart uploads open; none was left after the next backup"
	# the gateway keeps objects in memory: free them for the other tests
	aws_s3 s3 rb --force "s3://$S3_BUCKET" >/dev/null || note "could not remove the bucket $S3_BUCKET"
fi
[ "$CRASH_KILLS" -ge $((iterations / 2)) ] || fail "only $CRASH_KILLS of $iterations runs were killed mid-way"
echo "RESULT crash-backup kills=$CRASH_KILLS completed=$CRASH_COMPLETED snapshots=${#SNAPS[@]}"
