#!/usr/bin/env bash
# test_hostile.sh: a repository written by someone who has the key but not
# our interests.  tests/tools/craft writes snapshots whose trees are hostile
# (JSON written directly, sealed through the pack writer, index and snapshot
# APIs; lying zstd frames through a pack built by hand): names "..", ".",
# "", "/etc/x", "a/b", a path climbing to a victim directory, duplicate and
# unsorted names, a symlink to a victim directory followed (in a second
# snapshot restored into the same target) by a directory or a file of the
# same name, hard links shared with a symlink or between files of different
# content, absurd sizes and counts (a directory one entry over the limit of
# 1048576), 5000 nested directories, decompression bombs.  For each: restore, ls and check refuse it with a message naming
# the entry (or, where the input is legitimate, handle it), nothing is
# written outside --target (find over a sentinel directory and the victim
# directories), and memory stays bounded (peak RSS measured; with
# DSB_PLAIN set to a binary built without sanitizers, also under
# "ulimit -v" of 2 GiB -- AddressSanitizer reserves terabytes of address
# space, so the sanitizer build cannot run under ulimit -v).
# Not run by default: the case "fanout" (see docs/RELIABILITY.md).
. "$(dirname "$0")/lib.sh"

CRAFT=${DSB_CRAFT:-$(dirname "$DSB")/tests/craft}
[ -x "$CRAFT" ] || fail "the craft tool ($CRAFT) is not built (set DSB_CRAFT)"
RSS_LIMIT_MB=${DSB_HOSTILE_RSS_MB:-2048}
# many-ids and many-nodes at a tenth of the format's limits (128 MiB trees, 1048576 entries in a
# directory); DSB_HOSTILE_FULL=1: at the limits
export CRAFT_SCALE=${DSB_HOSTILE_FULL:+1}
export CRAFT_SCALE=${CRAFT_SCALE:-0.1}
OUTSIDE="$T/outside"
VICTIM="$OUTSIDE/victim-dir"
mkdir -p "$VICTIM" "$OUTSIDE/sentinel"
printf 'do not touch\n' >"$VICTIM/precious"
printf 'sentinel\n' >"$OUTSIDE/sentinel/file"
REFUSED=0
CASES=0
MAXRSS=0

init_repo
mkdir -p "$T/src"
printf 'an honest file\n' >"$T/src/honest"
backup_json "$T/src"
HONEST=$SNAP

# run_measured RC CMD...: as expect_rc (RC may list codes: "0|1"; the code is
# left in $RC), recording the peak RSS (KiB) of CMD in $RSS; under
# "ulimit -v 2 GiB" when CMD is the plain build
run_measured() {
	local want=$1

	shift
	RC=0
	python3 -c '
import resource, subprocess, sys
rc = subprocess.call(sys.argv[3:], preexec_fn=(lambda: resource.setrlimit(resource.RLIMIT_AS,
    (int(sys.argv[2]) << 20,) * 2)) if sys.argv[2] != "0" else None)
open(sys.argv[1], "w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(rc if rc >= 0 else 128 - rc)' "$T/rss" "$VLIMIT" "$BIN" "$@" >"$OUT" 2>"$ERR" || RC=$?
	if ! [[ $RC =~ ^($want)$ ]]; then
		show_output "$@"
		fail "expected exit code $want, got $RC from: $*"
	fi
	RSS=$(cat "$T/rss")
	[ "$RSS" -gt "$MAXRSS" ] && MAXRSS=$RSS
	if [ "$RSS" -gt $((RSS_LIMIT_MB * 1024)) ]; then
		fail "$*: peak RSS $((RSS / 1024)) MiB, more than $RSS_LIMIT_MB MiB"
	fi
}
if [ -n "${DSB_PLAIN:-}" ]; then
	BIN=$DSB_PLAIN
	VLIMIT=2048
	note "using $DSB_PLAIN under ulimit -v 2 GiB"
else
	BIN=$DSB
	VLIMIT=0
	note "sanitizer build: peak RSS is measured, limit ${RSS_LIMIT_MB} MiB (DSB_PLAIN=binary for ulimit -v)"
fi

# nothing_outside: no file below $OUTSIDE or /tmp/victim* is newer than the stamp
nothing_outside() {
	local changed

	changed=$(find "$OUTSIDE" /tmp/victim* -newer "$T/stamp" 2>/dev/null | grep -v "^$OUTSIDE\$" || true)
	if [ -n "$changed" ]; then
		echo "$changed" >&2
		fail "$1: something was written outside the restore target"
	fi
	[ "$(cat "$VICTIM/precious")" = "do not touch" ] || fail "$1: the victim's file changed"
	[ "$(ls -A "$VICTIM")" = precious ] || fail "$1: something appeared in the victim directory"
}

# craft CASE: write the hostile snapshot, set ID
craft() {
	touch "$T/stamp"
	sleep 0.01
	ID=$("$CRAFT" "$REPO" "$1" "$VICTIM" 2>"$T/craft.err") || { cat "$T/craft.err" >&2; fail "craft $1 failed"; }
	CASES=$((CASES + 1))
}

# forget_crafted: remove the crafted snapshot, so that later checks see only the next one
forget_crafted() {
	rm -f "$REPO/snapshots/$ID"
}

# hostile CASE RC REGEX LS_RC LS_REGEX CHECK_RC CHECK_REGEX [CHECK OPTIONS]: craft
# CASE; restore exits RC with stderr matching REGEX, ls and check likewise
# (a regex "" is not checked: exit 0).
hostile() {
	local name=$1 want=$2 regex=$3 lrc=$4 lregex=$5 crc=$6 cregex=$7

	shift 7
	step "$name: $(grep -P "^$name\t" "$T/cases" | cut -f2)"
	craft "$name"
	rm -rf "$T/target"
	run_measured "$want" restore "$ID" --target "$T/target"
	[ -z "$regex" ] || expect_err "$regex"
	note "restore: exit $want, $((RSS / 1024)) MiB; $(grep -m1 -E "${regex:-.}" "$ERR" | cut -c1-150)"
	nothing_outside "$name"
	run_measured "$lrc" ls "$ID"
	[ -z "$lregex" ] || expect_err "$lregex"
	note "ls: exit $lrc, $((RSS / 1024)) MiB; $(grep -m1 -E "${lregex:-.}" "$ERR" | cut -c1-150)"
	run_measured "$crc" check "$@"
	[ -z "$cregex" ] || expect_err "$cregex"
	note "check: exit $crc, $((RSS / 1024)) MiB; $(grep -m1 -E "${cregex:-.}" "$ERR" | cut -c1-150)"
	nothing_outside "$name"
	[ "$want" = 0 ] || REFUSED=$((REFUSED + 1))
}

"$CRAFT" list >"$T/cases"

# bad_name CASE NAME_REGEX: the tree of /craft is refused, naming the entry, by all three
bad_name() {
	local re

	re=$(printf 'tree [0-9a-f]{16}: (unsafe name|tree names are duplicated or out of order near) "%s"' "$2")
	hostile "$1" 3 "restoring /craft: $re" 1 "$re" 1 "tree of /craft is unreadable: $re"
	forget_crafted
}
bad_name dotdot '\.\.'
bad_name dot '\.'
bad_name empty ''
bad_name absolute '/etc/x'
bad_name slash 'a/b'
bad_name traversal '(\.\./)+[^"]*victim-dir/x'
bad_name dotdot-b64 '\.\./x'
bad_name duplicate d
bad_name unsorted a

step "symlink-then-dir: a/s -> victim, then a/s/x restored into the same target"
craft symlink-then-dir-1
first=$ID
craft symlink-then-dir-2
rm -rf "$T/target"
run_measured 0 restore "$first" --target "$T/target"
[ -L "$T/target/craft/a/s" ] || fail "the first snapshot's symlink was not restored"
run_measured 0 restore "$ID" --target "$T/target"
nothing_outside symlink-then-dir
[ -d "$T/target/craft/a/s" ] && [ ! -L "$T/target/craft/a/s" ] && [ -f "$T/target/craft/a/s/x" ] ||
    fail "a/s/x was not written as a directory inside the target"
note "the symlink was replaced by a directory inside the target; nothing reached the victim"
rm -f "$REPO/snapshots/$first"
forget_crafted
step "symlink-then-file: a/s -> victim, then a file a/s restored into the same target"
craft symlink-then-dir-1
first=$ID
craft symlink-then-file-2
rm -rf "$T/target"
run_measured 0 restore "$first" --target "$T/target"
run_measured 0 restore "$ID" --target "$T/target"
nothing_outside symlink-then-file
[ -f "$T/target/craft/a/s" ] && [ ! -L "$T/target/craft/a/s" ] || fail "a/s is not a plain file"
rm -f "$REPO/snapshots/$first"
forget_crafted
CASES=$((CASES - 2))
REFUSED=$((REFUSED + 2))

step "hardlink: files sharing an inode with a symlink to the victim, and with each other"
craft hardlink
rm -rf "$T/target"
run_measured 0 restore "$ID" --target "$T/target"
nothing_outside hardlink
[ "$(cat "$T/target/craft/h1")" = first ] && [ "$(cat "$T/target/craft/h2")" = second ] ||
    fail "h1/h2 do not hold their own recorded content"
[ "$(cat "$T/target/craft/z")" = "through the link" ] && [ ! -L "$T/target/craft/z" ] ||
    fail "z is not a plain file of its own"
note "each file has its own recorded content; no link reached outside"
REFUSED=$((REFUSED + 1))
forget_crafted

hostile huge-size 3 'restoring /craft/huge: recorded size 4611686018427387904 does not match its content of 3 bytes' \
    0 '' 1 'snapshot [0-9a-f]{16}: file /craft/huge: recorded size 4611686018427387904 does not match the sum of its blobs. lengths, 3 bytes'
[ -z "$(ls "$T/target/craft")" ] || fail "huge-size left a file: $(ls -l "$T/target/craft")"
forget_crafted
hostile size-mismatch 3 'restoring /craft/big: recorded size 1099511627776 does not match its content of 6 bytes' \
    0 '' 1 'snapshot [0-9a-f]{16}: file /craft/big: recorded size 1099511627776 does not match the sum of its blobs. lengths, 6 bytes'
[ -z "$(ls "$T/target/craft")" ] || fail "size-mismatch left a file: $(ls -l "$T/target/craft")"
forget_crafted
hostile many-ids 3 'restoring /craft/many: blob 0100000000000000 is not in the index' 0 '' \
    1 'file /craft/many is missing data'
forget_crafted
hostile wrong-types 3 'restoring /craft/d: blob [0-9a-f]{16} is not a tree' 1 'blob [0-9a-f]{16} is not a tree' \
    1 'tree of /craft/d is unreadable'
forget_crafted
hostile deep 1 'directories nested deeper than 1024 at /craft/d/d/d' 1 'nested deeper than 1024' \
    1 'snapshot [0-9a-f]{16}: directories nested deeper than 1024 \(the format.s limit\) at /craft(/d)+'
forget_crafted
wide_re='tree [0-9a-f]{16}: tree has 1048577 entries, more than the 1048576 one directory may hold \(refused\)'
hostile wide 3 "restoring /craft: $wide_re" 1 "$wide_re" 1 "snapshot [0-9a-f]{16}: tree of /craft is unreadable: $wide_re"
forget_crafted

step "many-nodes: $(grep -P "^many-nodes\t" "$T/cases" | cut -f2) (CRAFT_SCALE $CRAFT_SCALE; restore one)"
craft many-nodes
rm -rf "$T/target"
# about 1 KiB of memory per entry (a DOM of the JSON, then the nodes): at the format's limit more
# than a 2 GiB address space holds, which must then end in a clean "out of memory"
run_measured '0|1' restore "$ID" --target "$T/target" --include /craft/000000007
if [ "$RC" = 0 ]; then
	[ -p "$T/target/craft/000000007" ] && [ "$(ls "$T/target/craft" | wc -l)" = 1 ] ||
	    fail "many-nodes: the one included entry was not restored alone"
else
	[ "$VLIMIT" != 0 ] || fail "many-nodes: restore failed without a memory limit"
	expect_err 'out of memory'
fi
note "restore: exit $RC, $((RSS / 1024)) MiB; $(grep -m1 'out of memory' "$ERR" | cut -c1-120)"
run_measured '0|1' check
[ "$RC" = 0 ] || expect_err 'out of memory'
note "check: exit $RC, $((RSS / 1024)) MiB"
nothing_outside many-nodes
forget_crafted

hostile bomb-pad 0 '' 0 '' 0 ''
[ "$(cat "$T/target/craft/inside")" = padded ] || fail "bomb-pad: the padded tree's file was not restored"
forget_crafted
bomb_re='restoring /craft/bombdir: .*(announces [0-9]+ bytes, expected 4096|does not decompress)'
hostile bomb-fcs 3 "$bomb_re" 1 "${bomb_re#*bombdir: }" 1 'tree of /craft/bombdir is unreadable'
forget_crafted
hostile bomb-nosize 3 "$bomb_re" 1 "${bomb_re#*bombdir: }" 1 'tree of /craft/bombdir is unreadable'
forget_crafted
hostile bomb-liar 3 "$bomb_re" 1 "${bomb_re#*bombdir: }" 1 'tree of /craft/bombdir is unreadable'
forget_crafted
hostile bomb-data 3 'restoring /craft/bomb: .*(announces [0-9]+ bytes, expected 4096|does not decompress)' \
    0 '' 1 'blob [0-9a-f]{16} at offset [0-9]+ of pack [0-9a-f]{64} is damaged' --read-data
forget_crafted

step "with the crafted snapshots gone, the honest snapshot restores and check is clean"
rm -rf "$T/target"
expect_rc 0 dsb restore "$HONEST" --target "$T/target"
cmp "$T/src/honest" "$T/target$T/src/honest" || fail "the honest file differs"
expect_rc 0 dsb check
nothing_outside final

step "summary"
note "$CASES crafted snapshots: $REFUSED refused or defused by restore, ls and check; nothing written"
note "outside the target; peak RSS $((MAXRSS / 1024)) MiB"
echo "RESULT hostile cases=$CASES refused=$REFUSED max_rss_mib=$((MAXRSS / 1024))"
