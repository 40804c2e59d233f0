#!/usr/bin/env bash
# test_faults.sh: storage that fails.  The fault-injecting backend
# (backends/fault.c: URL "fault:<URL>", faults in DSBACKUP_FAULTS) fails,
# shortens, damages or stalls chosen calls during backup, restore and check.
# Each faulted run must end in success (a stall) or a clear error: the
# expected exit code and a message naming what failed (the object, the file,
# the pack), never a snapshot that points at missing data.  After every
# faulted run, check without faults is clean and every snapshot restores bit
# for bit; after a faulted backup the next unfaulted one succeeds.
. "$(dirname "$0")/lib.sh"

S="$T/src"
FREPO="fault:$REPO"
SNAPS=()
INJECTED=0
CASES=0
mkdir -p "$S/sub" "$T/manifests"
for i in 1 2 3 4 5 6; do
	random_file "$S/f$i" 300000
done
printf 'small\n' >"$S/sub/small"
ln -s f1 "$S/sub/link"

# ---- helpers ----

# change: new content, so that a backup has packs to store
gen=0
change() {
	gen=$((gen + 1))
	random_file "$S/f$((gen % 6 + 1))" 300000
	random_file "$S/sub/new$gen" 200000
	rm -f "$S/sub/new$((gen - 2))"
}

record() {
	SNAPS+=("$1")
	tree_listing "$S" >"$T/manifests/$1"
}

nsnapshots() {
	find "$REPO/snapshots" -type f | wc -l
}

objects() {
	(cd "$REPO" && find . -type f ! -name '.tmp-*' -printf '%P %s %i %T@\n' | sort)
}

# verify_snapshot ID: restores bit for bit
verify_snapshot() {
	rm -rf "$T/v"
	expect_rc 0 dsb restore "$1" --target "$T/v"
	tree_listing "$T/v$S" >"$T/v.listing"
	diff -u "$T/manifests/$1" "$T/v.listing" >&2 ||
	    fail "snapshot ${1:0:12} does not restore bit for bit"
	rm -rf "$T/v"
}

# verify_all: after a faulted run (started after "objects >$T/objects.before"):
# no stored object was changed or removed (objects are immutable and named
# by their hash, so every snapshot still has the bytes it had when it was
# verified), check without faults is clean (every snapshot's trees and blobs
# resolve to indexed packs that exist), and the latest snapshot and one
# earlier one in turn restore bit for bit (DSB_FAULTS_VERIFY_ALL=1: all).
rotate=0
verify_all() {
	local id k

	objects >"$T/objects.after"
	if [ -n "$(comm -23 "$T/objects.before" "$T/objects.after")" ]; then
		comm -23 "$T/objects.before" "$T/objects.after" >&2
		fail "a faulted run changed or removed stored objects"
	fi
	expect_rc 0 dsb check
	if [ -n "${DSB_FAULTS_VERIFY_ALL:-}" ]; then
		for id in "${SNAPS[@]}"; do
			verify_snapshot "$id"
		done
		return
	fi
	verify_snapshot "${SNAPS[-1]}"
	k=$((rotate % ${#SNAPS[@]}))
	rotate=$((rotate + 1))
	[ "$k" = $((${#SNAPS[@]} - 1)) ] || verify_snapshot "${SNAPS[$k]}"
}

# next_backup: an unfaulted backup succeeds and is recorded
next_backup() {
	backup_json "$S"
	record "$SNAP"
}

# faulted RC REGEX FAULTS CMD...: run CMD (a dsb command line, without -r)
# against fault:$REPO with DSBACKUP_FAULTS=FAULTS; it must exit RC, say on
# stderr that a fault was injected, and match REGEX on stderr.
faulted() {
	local want=$1 regex=$2 faults=$3 n

	shift 3
	CASES=$((CASES + 1))
	objects >"$T/objects.before"
	DSBACKUP_FAULTS=$faults expect_rc "$want" dsb -r "$FREPO" "$@"
	n=$(grep -c 'fault injected' "$ERR" || true)
	if [ "$n" -eq 0 ]; then
		show_output "$@"
		fail "$faults: the fault was never hit"
	fi
	INJECTED=$((INJECTED + n))
	expect_err "$regex"
	note "$faults: exit $want, $(grep -v 'fault injected' "$ERR" | grep -m1 -E "$regex" | cut -c1-160)"
}

# backup_fault RC REGEX FAULTS [BACKUP OPTIONS]: a faulted backup of a changed
# tree; a failed one leaves no snapshot; then check, restores, next backup.
backup_fault() {
	local want=$1 regex=$2 faults=$3 before

	shift 3
	change
	before=$(nsnapshots)
	faulted "$want" "$regex" "$faults" --json backup "$@" "$S"
	if [ "$want" = 0 ]; then
		record "$(json_get "$OUT" 'j["snapshot_id"]')"
	elif [ "$(nsnapshots)" != "$before" ]; then
		fail "$faults: the failed backup wrote a snapshot"
	fi
	verify_all
	next_backup
}

step "a repository with 1 MiB packs and a first snapshot"
init_repo --pack-size 1048576
next_backup

step "backup: a put fails (the lock, a pack, a later pack, the index, the snapshot)"
backup_fault 1 'putting locks/.*injected fault' 'put/locks:fail@1'
backup_fault 1 'putting data/.*injected fault' 'put/data:fail@1'
backup_fault 1 'putting data/.*injected fault' 'put/data:fail@2'
backup_fault 1 'putting index/.*injected fault' 'put/index:fail@1'
backup_fault 1 'putting snapshots/.*injected fault' 'put/snapshots:fail@1'
backup_fault 1 'putting .*injected fault' 'put:fail@4'
backup_fault 1 'putting .*injected fault' 'put:fail@every3'

step "backup: the device fills (ENOSPC from the storage)"
backup_fault 1 'putting .*[Nn]o space left on device' 'put:enospc@3'
backup_fault 1 'putting data/.*[Nn]o space left on device' 'put/data:enospc@1'

step "backup: storage stalls, then works: the backup succeeds"
start=$SECONDS
backup_fault 0 'fault injected: put #2' 'put:stall@2:2s'
[ $((SECONDS - start)) -ge 2 ] || fail "the stall did not stall"

step "backup: reads fail while the catalog is rebuilt (a fresh catalog)"
n=0
for f in 'list:fail@1' 'list/snapshots:fail@1' 'list/index:fail@1' 'get:fail@1' \
    'get/keys:fail@1' 'get/index:fail@1' 'get/index:short@1' 'get/index:flip@1' \
    'get/snapshots:flip@1'; do
	n=$((n + 1))
	case $f in
	list:fail@1) re='listing .*injected fault' ;;
	list/snapshots*) re='listing snapshots.*injected fault' ;;
	list/index*) re='listing index.*injected fault' ;;
	get:fail@1) re='getting config.*injected fault' ;;
	get/keys*) re='getting keys/.*injected fault' ;;
	get/index:fail*) re='getting index/.*injected fault' ;;
	get/index*) re='index/[0-9a-f]{64}.*(does not hash to its name|damaged)' ;;
	get/snapshots*) re='snapshots/[0-9a-f]{64}.*(does not hash to its name|damaged)' ;;
	esac
	backup_fault 1 "$re" "$f" --catalog "$T/fresh$n.db"
done
# the only key slot damaged in transit: it is named as unreadable, and since no slot could be
# tried the repository is damaged, not the password wrong: exit 1, not 12
backup_fault 1 'no key slot of .* could be tried: 1 key slot\(s\) damaged, the first keys/[0-9a-f]{16}\.\.\.: key slot is not valid JSON.* \(the repository is damaged, not the password wrong' \
    'get/keys:flip@1'

step "backup: a pack no index lists cannot be read while the catalog is rebuilt: skipped, stored again"
backup_fault 0 'in no index and its trailer is unreadable, skipped.*injected fault' 'get/data:fail@1' \
    --catalog "$T/fresh-orphan.db"

step "backup: damaged or short reads of the parent's trees: warned, then read in full"
# the first reads are the parent's trees of / (its top tree) and of each directory above $S;
# the next is the tree of $S itself.  Each one that cannot be read is named in a warning with
# the parent snapshot and the reason, and every file below it is read again.
k=$(($(tr -cd / <<<"$S" | wc -c) + 1))
backup_fault 0 "cannot read the tree of / in the parent snapshot [0-9a-f]{16}: .*(does not authenticate|damaged|authentication).*; reading every file below it again" \
    'get/data:flip@1'
backup_fault 0 "cannot read the tree of $S in the parent snapshot [0-9a-f]{16}: .*(does not authenticate|damaged|authentication)" \
    "get/data:flip@$k"
backup_fault 0 "cannot read the tree of $S in the parent snapshot [0-9a-f]{16}: .*short read" "get/data:short@$k"

# restore_fault RC REGEX FAULTS: a faulted restore of the latest snapshot.
# Exit 3: the files named on stderr are absent under their own name, every
# other file is intact; then the unfaulted restore is bit for bit.
restore_fault() {
	local want=$1 regex=$2 faults=$3 f bad=0

	rm -rf "$T/r"
	faulted "$want" "$regex" "$faults" restore latest --target "$T/r"
	if [ "$want" = 3 ]; then
		for f in $(cd "$S" && find . -type f | sed 's|^\./||'); do
			if grep -Fq "restoring $S/$f:" "$ERR"; then
				bad=$((bad + 1))
				[ ! -e "$T/r$S/$f" ] || fail "$faults: $f was named as failed but left in place"
			elif [ -e "$T/r$S/$f" ]; then
				cmp -s "$S/$f" "$T/r$S/$f" || fail "$faults: $f is not named but differs"
			fi
		done
		[ "$bad" -ge 1 ] || grep -q 'restoring /' "$ERR" || fail "$faults: no entry was named"
	elif [ "$want" = 0 ]; then
		tree_listing "$T/r$S" >"$T/r.listing"
		diff -u "$T/manifests/${SNAPS[-1]}" "$T/r.listing" >&2 || fail "$faults: restore differs"
	fi
	verify_all
}

step "restore: reads of packs fail, come back short or damaged, or stall"
restore_fault 3 'restoring /.*getting data/.*injected fault' 'get/data:fail@3'
restore_fault 3 'restoring /.*getting data/.*injected fault' 'get/data:fail@every2'
restore_fault 3 'restoring /.*short read' 'get/data:short@3'
restore_fault 3 'restoring /.*(does not authenticate|damaged|authentication)' 'get/data:flip@3'
restore_fault 3 'restoring /.*(does not authenticate|damaged|authentication)' 'get/data:flip@1'
restore_fault 0 'fault injected: get #2' 'get/data:stall@2:1s'
restore_fault 1 'listing .*injected fault' 'list:fail@1'

step "check: listing, trailer and data reads fail: an error naming the object, never a clean pass"
faulted 1 'listing data.*injected fault' 'list/data:fail@1' check
faulted 1 'listing snapshots.*injected fault' 'list/snapshots:fail@1' check
faulted 1 'index [0-9a-f]{64} is unreadable.*injected fault' 'get/index:fail@1' check
faulted 1 'pack [0-9a-f]{64}: trailer unreadable' 'get/data:fail@2' check
faulted 1 'pack [0-9a-f]{64}: trailer unreadable.*short read' 'get/data:short@2' check
faulted 1 'pack [0-9a-f]{64}: trailer unreadable' 'get/data:flip@3' check
faulted 1 'snapshot [0-9a-f]{64} is unreadable' 'get/snapshots:flip@1' check
# check reads 3 parts (header, footer, trailer) of each of the n packs, then the trees
n=$(find "$REPO/data" -type f | wc -l)
faulted 1 'tree of .* is unreadable' "get/data:flip@$((3 * n + 1))" check
# --read-data reads each pack whole, after all other reads: count the reads to hit the first of those
DSBACKUP_FAULTS='get/data:stall@every1:0ms' DSBACKUP_FAULTS_LOG="$T/gets.log" \
    expect_rc 0 dsb -r "$FREPO" check --read-data
g=$(wc -l <"$T/gets.log")
faulted 1 'pack [0-9a-f]{64} does not hash to its name' "get/data:flip@$((g - n + 1))" check --read-data
verify_all

step "every snapshot restores bit for bit"
for id in "${SNAPS[@]}"; do
	verify_snapshot "$id"
done

step "an unknown or malformed fault list is a usage error"
DSBACKUP_FAULTS='put:explode@1' expect_rc 2 dsb -r "$FREPO" snapshots
expect_err 'DSBACKUP_FAULTS.*put:explode@1'

step "summary"
note "$CASES faulted runs, $INJECTED faults injected, every one ended in success or a clear error;"
note "${#SNAPS[@]} snapshots restore bit for bit, check is clean"
echo "RESULT faults runs=$CASES injected=$INJECTED snapshots=${#SNAPS[@]}"
