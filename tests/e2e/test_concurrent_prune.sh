#!/usr/bin/env bash
# test_concurrent_prune.sh: four backups into one repository at once, plus
# a forget and a prune, repeated (DSB_CONCURRENT_ROUNDS, default 4).  Locks
# keep the prune (exclusive) and the backups (shared) apart; with
# --retry-lock every one of them gets through.  After each round: every
# backup's snapshot exists, every snapshot the policy keeps restores bit for
# bit (compared with the listing of the tree it was taken from), and check
# is clean; at the end check --read-data too.
. "$(dirname "$0")/lib.sh"

rounds=${DSB_CONCURRENT_ROUNDS:-4}
WRITERS=0
mkdir -p "$T/manifests"
init_repo --pack-size 1048576
for w in 1 2 3 4; do
	mkdir -p "$T/tree$w/sub"
	random_file "$T/tree$w/sub/stable" 400000
done
random_file "$T/common" 600000

# change W ROUND: part of tree W is new, part is shared with the other trees
change() {
	random_file "$T/tree$1/new-$2" 500000
	rm -f "$T/tree$1/new-$(($2 - 2))"
	cp "$T/common" "$T/tree$1/common"
	printf 'round %s\n' "$2" >"$T/tree$1/round"
}

for round in $(seq 1 "$rounds"); do
	step "round $round: four backups, a forget and a prune at once"
	for w in 1 2 3 4; do
		change "$w" "$round"
		tree_listing "$T/tree$w" >"$T/manifests/pending-$w"
	done
	pids=()
	for w in 1 2 3 4; do
		"$DSB" --json backup --retry-lock 10m "$T/tree$w" >"$T/bk$w.out" 2>"$T/bk$w.err" &
		pids+=($!)
	done
	"$DSB" forget --retry-lock 10m --keep-last 2 >"$T/forget.out" 2>"$T/forget.err" &
	forget_pid=$!
	"$DSB" prune --retry-lock 10m >"$T/prune.out" 2>"$T/prune.err" &
	prune_pid=$!
	for w in 1 2 3 4; do
		if ! wait "${pids[$((w - 1))]}"; then
			cat "$T/bk$w.err" >&2
			fail "round $round: the backup of tree$w failed"
		fi
		id=$(json_get "$T/bk$w.out" 'j["snapshot_id"]')
		mv "$T/manifests/pending-$w" "$T/manifests/$id"
		echo "$w" >"$T/manifests/$id.tree"
		WRITERS=$((WRITERS + 1))
	done
	wait "$forget_pid" || { cat "$T/forget.err" >&2; fail "round $round: forget failed"; }
	wait "$prune_pid" || { cat "$T/prune.err" >&2; fail "round $round: the prune failed"; }
	note "prune: $(grep -m1 -iE 'freed|removed|deleted|nothing' "$T/prune.out" "$T/prune.err" | cut -d: -f2- | cut -c1-120)"

	step "round $round: every kept snapshot restores bit for bit, check is clean"
	expect_rc 0 dsb --json snapshots
	ids=$(json_get "$OUT" '" ".join(s["id"] for s in j)')
	for w in 1 2 3 4; do
		id=$(json_get "$T/bk$w.out" 'j["snapshot_id"]')
		grep -q "$id" <<<"$ids" || fail "round $round: the snapshot of tree$w ($id) is gone"
	done
	n=0
	for id in $ids; do
		[ -f "$T/manifests/$id" ] || fail "snapshot $id was not written by this test"
		w=$(cat "$T/manifests/$id.tree")
		rm -rf "$T/r"
		expect_rc 0 dsb restore "$id" --target "$T/r"
		tree_listing "$T/r$T/tree$w" | diff -u "$T/manifests/$id" - >&2 ||
		    fail "round $round: snapshot ${id:0:12} of tree$w does not restore bit for bit"
		n=$((n + 1))
	done
	expect_rc 0 dsb check
	note "$n snapshots kept and restored"
done

step "check --read-data"
expect_rc 0 dsb check --read-data
note "$WRITERS backups in $rounds rounds of four at once next to a forget and a prune: all held"
echo "RESULT concurrent writers=$WRITERS rounds=$rounds"
