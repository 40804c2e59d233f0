#!/usr/bin/env bash
# test_prune.sh: forget, then prune frees space; every remaining snapshot
# restores bit for bit and check --read-data is clean; prune --dry-run
# changes nothing; a backup and a prune started together both get through
# (--retry-lock: whichever comes second waits); and prune killed with
# SIGKILL at random points (DSB_PRUNE_KILLS kills, default 50) always leaves
# a clean repository whose snapshots all restore, after which a prune
# completes and frees what the killed one left.
# The kills run on a small repository of their own (about 1 MiB per
# snapshot), one backup and one forget before each.  After each kill,
# check --read-data is clean: every pack hashes to its name, every blob
# authenticates, and every snapshot's trees resolve to indexed blobs whose
# lengths add up to each file's recorded size -- all a restore reads; and one
# kept snapshot, in rotation, is restored and compared bit for bit.  Every
# other time a prune then completes and check is clean.  At the end every
# kept snapshot is restored and compared.
. "$(dirname "$0")/lib.sh"

kills=${DSB_PRUNE_KILLS:-50}
# 1 MiB packs: many packs, so that prune deletes some, repacks some, keeps some
init_repo --pack-size 1048576

# the data backed up ($DATA) and the sizes of each generation's two files
DATA="$T/data"
SIZE_A=300000
SIZE_B=900000
mkdir "$DATA" "$T/copies"
random_file "$DATA/stays" 600000
gen=0

# next_backup: change the data (replace one generation of files, add another), back it
# up and keep a copy of what was backed up, named after the snapshot.
next_backup() {
	gen=$((gen + 1))
	rm -f "$DATA"/gen$((gen - 2))-*
	random_file "$DATA/gen$gen-a" $((SIZE_A + RANDOM * SIZE_A / 30000))
	random_file "$DATA/gen$gen-b" "$SIZE_B"
	mkdir -p "$DATA/sub"
	printf 'generation %s\n' "$gen" >"$DATA/sub/gen"
	backup_json "$DATA"
	cp -a "$DATA" "$T/copies/$SNAP"
}

# snapshot_ids: the ids the repository lists
snapshot_ids() {
	expect_rc 0 dsb --json snapshots
	json_get "$OUT" '" ".join(s["id"] for s in j)'
}

# restore_one ID: snapshot ID restores bit for bit
restore_one() {
	[ -d "$T/copies/$1" ] || fail "snapshot $1 is not one this test made"
	rm -rf "$T/restore"
	expect_rc 0 dsb restore "$1" --target "$T/restore"
	compare_trees "$T/copies/$1" "$T/restore$DATA"
}

# verify_all: check --read-data is clean and every snapshot restores bit for bit
verify_all() {
	local id

	expect_rc 0 dsb check --read-data
	cp "$ERR" "$T/check.err"
	for id in $(snapshot_ids); do
		restore_one "$id"
	done
}

# repo_state: every object of the repository but the locks, with its checksum
repo_state() {
	(cd "$REPO" && find . -path ./locks -prune -o -type f -print0 | sort -z | xargs -0r sha256sum)
}

repo_bytes() {
	du -sb --exclude=locks "$REPO" | cut -f1
}

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

step "eight backups, each replacing part of the data"
for _ in 1 2 3 4 5 6 7 8; do
	next_backup
done

step "forget all but the last three"
expect_rc 0 dsb forget --keep-last 3
[ "$(snapshot_ids | wc -w)" = 3 ] || fail "forget left $(snapshot_ids | wc -w) snapshots, want 3"

step "prune --dry-run reports what it would free and changes nothing"
repo_state >"$T/state.before"
expect_rc 0 dsb --json prune --dry-run
cp "$OUT" "$T/dry.json"
repo_state >"$T/state.after"
diff -u "$T/state.before" "$T/state.after" || fail "prune --dry-run changed the repository"
would_free=$(json_get "$T/dry.json" 'j["bytes_freed"]')
[ "$(json_get "$T/dry.json" 'j["packs_deleted"] + j["packs_repacked"]')" -gt 0 ] ||
    fail "prune --dry-run found nothing to delete or repack: $(cat "$T/dry.json")"
note "would free $would_free bytes: $(cat "$T/dry.json")"

step "prune frees space; the three snapshots restore bit for bit, check --read-data is clean"
before=$(repo_bytes)
t0=$(now_ms)
expect_rc 0 dsb --json prune
prune_ms=$(($(now_ms) - t0))
cp "$OUT" "$T/prune.json"
after=$(repo_bytes)
note "repository: $before -> $after bytes; $(cat "$T/prune.json")"
[ "$after" -lt "$before" ] || fail "the repository did not shrink ($before -> $after bytes)"
[ "$(json_get "$T/prune.json" 'j["packs_deleted"]')" = "$(json_get "$T/dry.json" 'j["packs_deleted"]')" ] ||
    fail "prune deleted another number of packs than the dry run said"
verify_all
expect_rc 0 dsb --json prune --dry-run
[ "$(json_get "$OUT" 'j["packs_deleted"] + j["packs_repacked"] + j["packs_waiting"]')" = 0 ] ||
    fail "a second prune still finds work: $(cat "$OUT")"

step "a fresh catalog of the pruned repository agrees"
expect_rc 0 dsb --catalog "$T/fresh.db" check
expect_rc 0 dsb --catalog "$T/fresh.db" --json snapshots
[ "$(json_get "$OUT" 'len(j)')" = 3 ] || fail "a fresh catalog lists $(json_get "$OUT" 'len(j)') snapshots"

step "a backup and a prune started together both get through (--retry-lock)"
next_backup
next_backup
expect_rc 0 dsb forget --keep-last 3
"$DSB" prune --retry-lock 120 >"$T/bg-prune.out" 2>"$T/bg-prune.err" &
pid=$!
gen=$((gen + 1))
random_file "$DATA/gen$gen-a" 500000
expect_rc 0 dsb --json backup --retry-lock 120 "$DATA"
SNAP=$(json_get "$OUT" 'j["snapshot_id"]')
if grep -q 'retrying in' "$ERR"; then
	note "the backup waited for the prune's lock"
else
	note "the backup did not have to wait this time"
fi
cp -a "$DATA" "$T/copies/$SNAP"
wait "$pid" || { cat "$T/bg-prune.err" >&2; fail "the prune next to a backup failed"; }
if grep -q 'retrying in' "$T/bg-prune.err"; then
	note "the prune waited for the backup's lock"
fi
verify_all

step "prune killed with SIGKILL at $kills random points, on a small repository of its own"
REPO="$T/krepo"
export DSBACKUP_REPOSITORY="$REPO"
init_repo --pack-size 1048576
DATA="$T/kdata"
SIZE_A=100000
SIZE_B=400000
mkdir "$DATA"
random_file "$DATA/stays" 200000
for _ in 1 2 3 4; do
	next_backup
done
expect_rc 0 dsb forget --keep-last 3
t0=$(now_ms)
expect_rc 0 dsb -q prune --unindexed-grace 0
prune_ms=$(($(now_ms) - t0))
kill_t0=$SECONDS
finished=0
killed=0
k=0
# until $kills prunes were killed mid-run (one that finishes first does not count)
while [ "$killed" -lt "$kills" ]; do
	k=$((k + 1))
	[ "$k" -le $((2 * kills)) ] || fail "only $killed of $((k - 1)) prunes were killed mid-run"
	next_backup
	expect_rc 0 dsb forget --keep-last 3
	indexes=$(ls "$REPO/index")
	"$DSB" -q prune --unindexed-grace 0 >"$T/kill.out" 2>"$T/kill.err" &
	pid=$!
	if [ $((k % 2)) = 1 ]; then
		# a random point of a prune's run time (as last measured)
		ms=$(((RANDOM * 32768 + RANDOM) % (prune_ms + 1)))
		how="after $(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))s"
		sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	else
		# soon after the index objects change: writing the new ones, deleting the old
		# ones or deleting packs
		while kill -0 "$pid" 2>/dev/null && [ "$(ls "$REPO/index")" = "$indexes" ]; do
			sleep 0.005
		done
		ms=$((RANDOM % 60))
		how="${ms}ms after the index objects changed"
		sleep "$(printf '0.%03d' "$ms")"
	fi
	if kill -KILL "$pid" 2>/dev/null; then
		wait "$pid" 2>/dev/null || true
		killed=$((killed + 1))
		note "kill $k: $how: $(find "$REPO/index" -type f | wc -l) index object(s)"
	else
		wait "$pid" || { cat "$T/kill.err" >&2; fail "prune $k failed"; }
		finished=$((finished + 1))
		note "kill $k: prune had finished ($how)"
	fi
	expect_rc 0 dsb check --read-data
	cp "$ERR" "$T/check.err"
	ids=($(snapshot_ids))
	[ "${#ids[@]}" -ge 3 ] || fail "kill $k: ${#ids[@]} snapshots left, want at least 3"
	restore_one "${ids[$((k % ${#ids[@]}))]}"
	# what the killed prune left (harmless)
	left=$(grep -c 'in no index' "$T/check.err" || true)
	[ "$left" = 0 ] || note "kill $k: $left pack(s) in no index left behind"
	if [ $((k % 2)) = 0 ]; then
		# every other time, a prune completes before the next kill; else the garbage piles up
		t0=$(now_ms)
		expect_rc 0 dsb -q prune --unindexed-grace 0
		prune_ms=$(($(now_ms) - t0))
		expect_rc 0 dsb check
	fi
done
kill_s=$((SECONDS - kill_t0))
note "$killed of $k prunes were killed mid-run ($finished finished first), $kill_s s"

step "a prune after the kills completes and leaves nothing to clean up"
expect_rc 0 dsb --json prune --unindexed-grace 0
note "$(cat "$OUT")"
verify_all
expect_rc 0 dsb --json prune --dry-run
[ "$(json_get "$OUT" 'j["packs_deleted"] + j["packs_repacked"] + j["packs_waiting"]')" = 0 ] ||
    fail "after a completed prune there is still work: $(cat "$OUT")"
expect_rc 0 dsb check
if grep -q 'in no index' "$ERR"; then
	show_output check
	fail "packs in no index are left after a completed prune"
fi
echo "RESULT prune-crash kills=$killed finished_first=$finished kill_phase_s=$kill_s"
