#!/usr/bin/env bash
# test_prune.sh: forget, then prune frees space; every remaining snapshot
# restores bit for bit and check --read-data is clean; prune --dry-run
# changes nothing; a backup and a prune started together both get through
# (--retry-lock: whichever comes second waits); and prune killed with
# SIGKILL at random points (DSB_PRUNE_KILLS times, default 10) always leaves
# a clean repository whose snapshots all restore, after which a prune
# completes and frees what the killed one left.
. "$(dirname "$0")/lib.sh"

kills=${DSB_PRUNE_KILLS:-10}
# 1 MiB packs: many packs, so that prune deletes some, repacks some, keeps some
init_repo --pack-size 1048576

mkdir "$T/data" "$T/copies"
random_file "$T/data/stays" 600000
gen=0

# next_backup: change the data (replace one generation of files, add another), back it
# up and keep a copy of what was backed up, named after the snapshot.
next_backup() {
	gen=$((gen + 1))
	rm -f "$T/data"/gen$((gen - 2))-*
	random_file "$T/data/gen$gen-a" $((300000 + RANDOM * 10))
	random_file "$T/data/gen$gen-b" 900000
	mkdir -p "$T/data/sub"
	printf 'generation %s\n' "$gen" >"$T/data/sub/gen"
	backup_json "$T/data"
	cp -a "$T/data" "$T/copies/$SNAP"
}

# snapshot_ids: the ids the repository lists
snapshot_ids() {
	expect_rc 0 dsb --json snapshots
	json_get "$OUT" '" ".join(s["id"] for s in j)'
}

# verify_all: check --read-data is clean and every snapshot restores bit for bit
verify_all() {
	local id

	expect_rc 0 dsb check --read-data
	cp "$ERR" "$T/check.err"
	for id in $(snapshot_ids); do
		[ -d "$T/copies/$id" ] || fail "snapshot $id is not one this test made"
		rm -rf "$T/restore"
		expect_rc 0 dsb restore "$id" --target "$T/restore"
		compare_trees "$T/copies/$id" "$T/restore$T/data"
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
random_file "$T/data/gen$gen-a" 500000
expect_rc 0 dsb --json backup --retry-lock 120 "$T/data"
SNAP=$(json_get "$OUT" 'j["snapshot_id"]')
if grep -q 'retrying in' "$ERR"; then
	note "the backup waited for the prune's lock"
else
	note "the backup did not have to wait this time"
fi
cp -a "$T/data" "$T/copies/$SNAP"
wait "$pid" || { cat "$T/bg-prune.err" >&2; fail "the prune next to a backup failed"; }
if grep -q 'retrying in' "$T/bg-prune.err"; then
	note "the prune waited for the backup's lock"
fi
verify_all

step "prune killed with SIGKILL at $kills random points"
finished=0
for k in $(seq "$kills"); do
	next_backup
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
		note "kill $k: $how: $(find "$REPO/index" -type f | wc -l) index object(s)"
	else
		wait "$pid" || { cat "$T/kill.err" >&2; fail "prune $k failed"; }
		finished=$((finished + 1))
		note "kill $k: prune had finished ($how)"
	fi
	verify_all
	# check of the last verify_all: what the killed prune left (harmless)
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
note "$((kills - finished)) of $kills prunes were killed mid-run"

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
