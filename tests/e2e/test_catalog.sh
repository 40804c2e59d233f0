#!/usr/bin/env bash
# test_catalog.sh: the local catalog is a cache.  Deleted, replaced by
# garbage, damaged inside, or stale, it is rebuilt from the repository
# (with a message) and every command keeps working; --catalog PATH puts it
# elsewhere.
. "$(dirname "$0")/lib.sh"

S="$T/src"
mkdir -p "$S/d"
printf 'one\n' >"$S/one"
random_file "$S/d/two" 300000
init_repo
backup_json "$S"
snap1=$SNAP
printf 'three\n' >"$S/three"
backup_json "$S"
snap2=$SNAP
CATDIR="$DSBACKUP_STATE_DIR/catalogs"
CAT=$(find "$CATDIR" -name '*.db' | head -1)
[ -f "$CAT" ] || fail "no catalog in $CATDIR"
note "catalog: $CAT"

# lists_both: the last command's stdout names both snapshots
lists_both() {
	expect_out "^${snap1:0:8} "
	expect_out "^${snap2:0:8} "
}

step "catalog deleted: snapshots rebuilds it, says so, and lists everything"
rm -f "$CATDIR"/*
expect_rc 0 dsb snapshots
lists_both
expect_err "building the catalog"
[ -f "$CAT" ] || fail "the catalog was not recreated at $CAT"
expect_rc 0 dsb restore "$snap1" --target "$T/r1"
compare_trees "$S/d" "$T/r1$S/d"

step "catalog rebuild works and reports what it found"
expect_rc 0 dsb catalog rebuild
expect_out "rebuilt"
expect_rc 0 dsb snapshots
lists_both

step "catalog overwritten with garbage: moved aside, rebuilt, the command works"
head -c 10000 /dev/urandom >"$CAT"
rm -f "$CAT-wal" "$CAT-shm"
expect_rc 0 dsb snapshots
lists_both
expect_err "unusable"
[ -f "$CAT.damaged" ] || fail "the damaged catalog was not moved aside to $CAT.damaged"
cmp -s "$CAT" "$CAT.damaged" && fail "the catalog was not replaced"

step "catalog damaged inside (valid header, garbage pages): rebuilt, restore works"
expect_rc 0 dsb -q snapshots   # settle the WAL into the main file
python3 -c 'import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(4096)
    f.write(b"\xa5" * 16384)' "$CAT"
expect_rc 0 dsb restore latest --target "$T/r2"
compare_trees "$S" "$T/r2$S"

step "catalog of another repository given with --catalog: not used for this one"
init_repo "$T/other"
expect_rc 0 dsb -r "$T/other" --catalog "$T/other.db" backup "$S/d"
expect_rc 0 dsb --catalog "$T/other.db" snapshots
lists_both
expect_rc 0 dsb -r "$T/other" --catalog "$T/other.db" --json snapshots
[ "$(json_get "$OUT" 'len(j)')" = 1 ] || fail "the other repository's catalog lists $(json_get "$OUT" 'len(j)') snapshots"

step "stale catalog: a snapshot removed from the repository disappears from the listing"
remove_object "snapshots/$snap1"
expect_rc 0 dsb snapshots
expect_out "^${snap2:0:8} "
if grep -q "^${snap1:0:8} " "$OUT"; then
	fail "snapshots still lists the removed snapshot $snap1"
fi
expect_rc 1 dsb ls "$snap1"

step "--catalog PATH: the catalog is created there, and the state directory is not touched"
rm -rf "$DSBACKUP_STATE_DIR"
expect_rc 0 dsb --catalog "$T/elsewhere/cat.db" snapshots
expect_out "^${snap2:0:8} "
[ -s "$T/elsewhere/cat.db" ] || fail "no catalog at $T/elsewhere/cat.db"
[ ! -e "$DSBACKUP_STATE_DIR" ] || fail "--catalog given, yet $DSBACKUP_STATE_DIR was created"
expect_rc 0 dsb backup --catalog "$T/elsewhere/cat.db" "$S"
expect_rc 0 dsb --catalog "$T/elsewhere/cat.db" ls latest
grep -Fxq "$S/three" "$OUT" || fail "ls through --catalog misses $S/three"
[ ! -e "$DSBACKUP_STATE_DIR" ] || fail "--catalog given, yet $DSBACKUP_STATE_DIR was created"

step "listings are kept per tree: an unchanged directory once, dropped with its last snapshot"
C="$T/elsewhere/cat.db"
# entry_rows NAME: catalog rows for entries called NAME, in any tree
entry_rows() {
	python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(
	    "SELECT COUNT(*) FROM tree_entries WHERE name = ?", (sys.argv[2],)).fetchone()[0])' "$C" "$1"
}
expect_rc 0 dsb --catalog "$C" ls latest
two=$(entry_rows two) one=$(entry_rows one)
printf 'four\n' >"$S/four"
expect_rc 0 dsb --catalog "$C" backup "$S"
expect_rc 0 dsb --catalog "$C" ls latest "$S/d"
grep -Fxq "$S/d/two" "$OUT" || fail "ls latest $S/d misses $S/d/two"
[ "$(entry_rows two)" = "$two" ] || fail "d/ did not change, yet its entries were stored again"
[ "$(entry_rows one)" = $((one + 1)) ] || fail "$S changed, yet \"one\" went from $one to $(entry_rows one) rows"
expect_rc 0 dsb --catalog "$C" forget --keep-last 1
[ "$(entry_rows one)" = 1 ] || fail "after forget, \"one\" is still stored $(entry_rows one) times"
expect_rc 0 dsb --catalog "$C" find two
grep -Fq "$S/d/two" "$OUT" || fail "find two misses $S/d/two after forget"

step "the repository itself is fine"
expect_rc 0 dsb check
