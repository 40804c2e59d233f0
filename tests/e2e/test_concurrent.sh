#!/usr/bin/env bash
# test_concurrent.sh: backups running at the same time into one repository
# (sharing one catalog) all succeed and all their snapshots restore; a
# backup killed with SIGKILL leaves a stale lock and unindexed packs that
# neither block the next backup nor make check fail, and every earlier
# snapshot still restores bit for bit.
. "$(dirname "$0")/lib.sh"

init_repo --pack-size 1048576   # small packs: a killed backup has stored some early
W="$T/trees"
for i in 1 2 3 4 5 6; do
	mkdir -p "$W/tree$i/sub"
	random_file "$W/tree$i/own" 700000
	random_file "$W/tree$i/sub/own2" 150000
	printf 'tree %s\n' "$i" >"$W/tree$i/sub/name"
done
random_file "$T/shared" 400000
for i in 1 2 3 4 5 6; do
	cp "$T/shared" "$W/tree$i/shared"   # the same content in every tree
done

# parallel_backups N...: back up tree N... all at once; each must exit 0
parallel_backups() {
	local i pids=() trees=("$@") rc failed=0

	for i in "${trees[@]}"; do
		"$DSB" --json backup "$W/tree$i" >"$T/bk$i.out" 2>"$T/bk$i.err" &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		rc=0
		wait "${pids[$i]}" || rc=$?
		if [ "$rc" -ne 0 ]; then
			echo "backup of tree${trees[$i]} exited $rc:" >&2
			cat "$T/bk${trees[$i]}.err" >&2
			failed=1
		fi
	done
	[ "$failed" = 0 ] || fail "a concurrent backup failed"
}

step "two backups at once"
parallel_backups 1 2
step "four backups at once"
parallel_backups 3 4 5 6

# snapshot ids by tree number: ID[1] .. ID[6]
declare -A ID
for i in 1 2 3 4 5 6; do
	ID[$i]=$(sed -n 's/.*"snapshot_id":"\([0-9a-f]*\)".*/\1/p' "$T/bk$i.out")
	[ -n "${ID[$i]}" ] || fail "no snapshot id in the summary of tree$i: $(cat "$T/bk$i.out")"
done

step "all six snapshots are listed, check is clean, each restores its own tree"
expect_rc 0 dsb --json snapshots
[ "$(json_get "$OUT" 'len(j)')" = 6 ] || fail "want 6 snapshots, the catalog lists $(json_get "$OUT" 'len(j)')"
expect_rc 0 dsb check --read-data
for i in 1 2 3 4 5 6; do   # all into one target: each adds its own tree below $W
	expect_rc 0 dsb restore "${ID[$i]}" --target "$T/rall"
done
compare_trees "$W" "$T/rall$W"

step "a fresh catalog built from the repository agrees (6 snapshots)"
expect_rc 0 dsb --catalog "$T/fresh.db" --json snapshots
[ "$(json_get "$OUT" 'len(j)')" = 6 ] || fail "a rebuilt catalog lists $(json_get "$OUT" 'len(j)') snapshots"

step "kill a large backup with SIGKILL while it runs"
mkdir "$T/big"
for j in 1 2 3 4; do
	random_file "$T/big/f$j" $((16 * 1024 * 1024))
done
packs_before=$(count_objects data)
if s3_mode; then
	# Listing a bucket through the AWS CLI is slower than the backup: stall
	# the third pack upload in the fault wrapper, and kill during the stall.
	env DSBACKUP_FAULTS='put/data:stall@3:120s' DSBACKUP_FAULTS_LOG="$T/faults.log" \
	    "$DSB" -r "fault:$REPO" -q backup "$T/big" >"$T/killed.out" 2>"$T/killed.err" &
	pid=$!
	for _ in $(seq 600); do
		grep -q stall "$T/faults.log" 2>/dev/null && break
		sleep 0.1
	done
else
	"$DSB" -q backup "$T/big" >"$T/killed.out" 2>"$T/killed.err" &
	pid=$!
	# kill once it has stored two packs (at least 0.5 s in), so that it leaves unindexed packs
	sleep 0.5
	for _ in $(seq 200); do
		[ "$(count_objects data)" -le $((packs_before + 1)) ] || break
		sleep 0.1
	done
fi
kill -0 "$pid" 2>/dev/null || fail "the backup finished before it could be killed mid-run"
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
nlocks=$(count_objects locks)
npacks=$(($(count_objects data) - packs_before))
note "after the kill: $nlocks lock(s), $npacks new pack(s)"
[ "$nlocks" -ge 1 ] || fail "the killed backup left no lock: the stale-lock path is not exercised"
[ "$npacks" -ge 1 ] || fail "the killed backup stored no pack"

step "the next backup succeeds despite the stale lock (same host, dead pid)"
printf 'after the kill\n' >"$W/tree1/new"
backup_json "$W/tree1"
after=$SNAP

step "check is clean (unindexed packs are reported, not errors)"
expect_rc 0 dsb check
unindexed=$(grep -c 'in no index' "$ERR" || true)
note "$unindexed unindexed pack(s) reported"
[ "$unindexed" -ge 1 ] || { show_output check; fail "check did not report the killed backup's packs"; }

step "earlier snapshots restore bit for bit; so does the new one"
for i in 2 5; do
	expect_rc 0 dsb restore "${ID[$i]}" --target "$T/r$i"
	compare_trees "$W/tree$i" "$T/r$i$W/tree$i"
done
expect_rc 0 dsb restore "$after" --target "$T/after"
compare_trees "$W/tree1" "$T/after$W/tree1"

step "unlock removes the stale lock; the interrupted backup can be redone"
expect_rc 0 dsb unlock
[ "$(count_objects locks)" = 0 ] || fail "unlock left the stale lock"
backup_json "$T/big"
expect_rc 0 dsb restore "$SNAP" --target "$T/bigout" --include "$T/big/f3"
cmp "$T/big/f3" "$T/bigout$T/big/f3" || fail "big/f3 differs after restore"
expect_rc 0 dsb check --read-data-subset 50%
