#!/usr/bin/env bash
# test_key_rotate_crash.sh: "key rotate --rewrite" killed with SIGKILL at
# random instants (issue 7): DSB_ROTATE_KILLS kills mid-run (default 50).
# A small repository (1 MiB packs, five tagged snapshots of about 1 MiB
# each); each iteration makes a new key ("key rotate"), then starts
# "key rotate --rewrite" and kills it after a random delay, uniform within
# the duration of an unkilled rewrite (crashlib.sh; the estimate follows the
# machine: delay of the kill plus duration of the rerun that completes it).
# After each kill: check --read-data is clean (every pack hashes to its
# name, every blob authenticates, every snapshot's trees resolve to indexed
# blobs whose lengths add up to each file's size), every snapshot is still
# listed (by its tag: rewriting changes snapshot ids), and one, in
# rotation, restores bit for bit.  Kills at exact points first (fault
# backend stall): a "key rotate" that stored the passphrase slot wrapped
# again but did not remove its old version yet (the rewrite that drops the
# old keys removes it, so that no slot opens a dropped key); a snapshot
# stored again but the old one not yet removed,
# then a new key before the rerun; from there, a kill at each removal of a
# snapshot object in turn (a new key before each run): at most one extra
# copy is ever listed, and a rerun leaves one copy.  Every 10th iteration the rerun of
# --rewrite completes and every header then names one key id.  At the end a
# rerun completes, each snapshot is listed exactly once and restores bit for
# bit, and every index, snapshot and pack header names the current key.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/crashlib.sh"

kills=${DSB_ROTATE_KILLS:-50}
nsnap=5
init_repo --pack-size 1048576

DATA="$T/data"
mkdir -p "$DATA/sub" "$T/copies"
random_file "$DATA/stays" 300000

step "$nsnap snapshots, each tagged and kept as a copy"
for g in $(seq 1 "$nsnap"); do
	random_file "$DATA/gen$g" $((200000 + RANDOM * 10))
	printf 'generation %s\n' "$g" >"$DATA/sub/gen"
	expect_rc 0 dsb -q backup --tag "gen$g" "$DATA"
	cp -a "$DATA" "$T/copies/gen$g"
done

# header_key_ids: the distinct key ids (bytes 8-15) in the headers of every
# index, snapshot and pack object
header_key_ids() {
	{ objects index; objects snapshots; objects data; } |
	    xargs -r -n1 sh -c 'head -c 16 "$0" | tail -c 8 | od -An -tx1 | tr -d " \n"; echo' |
	    sort -u
}

# snapshot_tags: "ID TAG" per listed snapshot
snapshot_tags() {
	expect_rc 0 dsb --json snapshots
	json_get "$OUT" '"\n".join("%s %s" % (s["id"], ",".join(s["tags"])) for s in j)'
}

# snapshots_listed EXACT: every tag genN is listed (exactly once if EXACT is 1)
snapshots_listed() {
	local g n

	snapshot_tags >"$T/tags"
	for g in $(seq 1 "$nsnap"); do
		n=$(grep -c " gen$g\$" "$T/tags" || true)
		[ "$n" -ge 1 ] || fail "snapshot gen$g is no longer listed: $(cat "$T/tags")"
		[ "$1" = 0 ] || [ "$n" = 1 ] || fail "snapshot gen$g is listed $n times: $(cat "$T/tags")"
	done
}

# restore_line "ID TAG": the snapshot restores bit for bit
restore_line() {
	local id=${1%% *} tag=${1#* }

	rm -rf "$T/restore"
	expect_rc 0 dsb restore "$id" --target "$T/restore"
	compare_trees "$T/copies/$tag" "$T/restore$DATA"
}

# rewrite_completes: a rerun of --rewrite exits 0; its duration and the
# delay of the kill before it update the estimate of a whole rewrite
rewrite_completes() {
	local start

	start=$(crash_now)
	expect_rc 0 dsb -q key rotate --rewrite
	crash_observe "$(awk -v a="$start" -v b="$(crash_now)" -v d="$1" 'BEGIN { printf "%.3f", b - a + d }')"
	[ "$(header_key_ids | wc -l)" = 1 ] || fail "headers name several key ids after --rewrite: $(header_key_ids)"
}

step "measure an unkilled rewrite"
expect_rc 0 dsb -q key rotate
crash_measure dsb -q key rotate --rewrite
[ "$(header_key_ids | wc -l)" = 1 ] || fail "headers name several key ids after --rewrite"
note "a rewrite takes ${CRASH_DURATION}s; $(count_objects data) packs; seed $CRASH_SEED (DSB_CRASH_SEED)"

# passphrase_slots: how many passphrase slots "key list" shows
passphrase_slots() {
	expect_rc 0 dsb --json key list
	grep -o '"passphrase"' "$OUT" | wc -l
}

step "exact point: a rotation killed between storing the passphrase slot again and removing its old version"
# Both slots open with the password until the old keys are dropped; then
# the old one would open a dropped key (opening takes slots in listing
# order): the rewrite that drops them removes it.
crash_kill_when "$T/faults.log" 'stall' env DSBACKUP_FAULTS='remove/keys:stall@1:120s' \
    DSBACKUP_FAULTS_LOG="$T/faults.log" "$DSB" -r "fault:$REPO" -q key rotate
[ "$CRASH_KILLED" = 1 ] || { cat "$T/crash.err" >&2; fail "the rotation was not killed before removing a slot"; }
CRASH_KILLS=$((CRASH_KILLS + 1))
[ "$(passphrase_slots)" = 2 ] || fail "expected the old and the new passphrase slot: $(cat "$OUT")"
expect_rc 0 dsb -q key rotate --rewrite
[ "$(passphrase_slots)" = 1 ] || fail "a passphrase slot of a dropped key was left: $(cat "$OUT")"
expect_rc 0 dsb check --read-data

step "exact point: a snapshot stored again, the old one not yet removed; a new key before the rerun"
expect_rc 0 dsb -q key rotate
crash_kill_when "$T/faults.log" 'stall' env DSBACKUP_FAULTS='remove/snapshots:stall@1:120s' \
    DSBACKUP_FAULTS_LOG="$T/faults.log" "$DSB" -r "fault:$REPO" -q key rotate --rewrite
[ "$CRASH_KILLED" = 1 ] || { cat "$T/crash.err" >&2; fail "the rewrite was not killed before removing a snapshot"; }
CRASH_KILLS=$((CRASH_KILLS + 1))
expect_rc 0 dsb check --read-data
snapshots_listed 0
[ "$(wc -l <"$T/tags")" = $((nsnap + 1)) ] || fail "expected one snapshot listed twice: $(cat "$T/tags")"

step "every kill point of the snapshot phase, starting from an original and its copy"
# A new key before each run; the run is killed while removing its Nth
# snapshot object (the original of the copy first, then each rewritten one):
# at most one tag is ever listed twice, and the next run resumes.
for n in $(seq 1 $((nsnap + 2))); do
	expect_rc 0 dsb -q key rotate
	crash_kill_when "$T/faults.log" 'stall' env DSBACKUP_FAULTS="remove/snapshots:stall@$n:120s" \
	    DSBACKUP_FAULTS_LOG="$T/faults.log" "$DSB" -r "fault:$REPO" -q key rotate --rewrite
	if [ "$CRASH_KILLED" = 1 ]; then CRASH_KILLS=$((CRASH_KILLS + 1)); fi
	expect_rc 0 dsb check --read-data
	snapshots_listed 0
	[ "$(wc -l <"$T/tags")" -le $((nsnap + 1)) ] ||
	    fail "killed at snapshot removal $n: more than one copy too many: $(cat "$T/tags")"
done
expect_rc 0 dsb -q key rotate
expect_rc 0 dsb -q key rotate --rewrite
snapshots_listed 1

step "key rotate --rewrite killed with SIGKILL until $kills were killed mid-run"
kill_t0=$SECONDS
exact=$CRASH_KILLS
i=0
rotate=0
while [ $((CRASH_KILLS - exact)) -lt "$kills" ]; do
	i=$((i + 1))
	[ "$i" -le $((2 * kills)) ] || fail "only $((CRASH_KILLS - exact)) of $((i - 1)) rewrites were killed mid-run"
	expect_rc 0 dsb -q key rotate
	CRASH_DELAY=$(crash_random_delay "$CRASH_DURATION")
	crash_kill_after "$CRASH_DELAY" "$DSB" -q key rotate --rewrite
	if [ "$CRASH_KILLED" = 1 ]; then
		CRASH_KILLS=$((CRASH_KILLS + 1))
		what="killed"
	else
		[ "$CRASH_RC" = 0 ] || { cat "$T/crash.err" >&2; fail "iteration $i: the rewrite exited $CRASH_RC on its own"; }
		CRASH_COMPLETED=$((CRASH_COMPLETED + 1))
		what="finished first"
	fi
	expect_rc 0 dsb check --read-data
	snapshots_listed 0
	mapfile -t lines <"$T/tags"
	restore_line "${lines[$((rotate % ${#lines[@]}))]}"
	rotate=$((rotate + 1))
	msg=$(printf 'iteration %2d after %ss: %s, %d key id(s) in headers, %d snapshot objects' \
	    "$i" "$CRASH_DELAY" "$what" "$(header_key_ids | wc -l)" "${#lines[@]}")
	if [ $((i % 10)) = 0 ]; then
		if [ "$CRASH_KILLED" = 1 ]; then rewrite_completes "$CRASH_DELAY"; else rewrite_completes 0; fi
		msg="$msg; rerun completed"
	fi
	note "$msg"
done
kill_s=$((SECONDS - kill_t0))

step "after the kills: a rerun completes, one key id in all headers, every snapshot restores"
rewrite_completes 0
snapshots_listed 1
expect_rc 0 dsb check --read-data
while read -r line; do
	restore_line "$line"
done <"$T/tags"
note "$CRASH_KILLS rewrites killed mid-run ($((CRASH_KILLS - exact)) at random instants, $exact at" \
    "exact points), $CRASH_COMPLETED finished first, kill phase ${kill_s}s"
echo "RESULT key-rotate-crash kills=$CRASH_KILLS random=$((CRASH_KILLS - exact)) exact=$exact" \
    "finished_first=$CRASH_COMPLETED kill_phase_s=$kill_s"
