#!/usr/bin/env bash
# test_check_read_data.sh: "check --read-data" reads packs with several
# workers and still reports every problem of every pack, with the counts
# right: a clean repository reads every pack once (packs_read), two packs
# failing to be read are both named, two damaged packs are both named
# (their hash and their damaged blobs), and --read-data-subset names only
# damaged packs among those it picked.  Packs larger than one read are read
# in pieces: damage in a later piece, in the trailer, a piece read short and
# a pack cut short are each named.
. "$(dirname "$0")/lib.sh"

# random_files DIR COUNT SIZE: COUNT files of SIZE random bytes in DIR
random_files() {
	local i

	mkdir -p "$1"
	for i in $(seq 1 "$2"); do
		random_file "$1/file$i" "$3"
	done
}

S="$T/src"
random_files "$S" 12 700000
export DSBACKUP_REPOSITORY="$REPO"
init_repo --pack-size 1048576
backup_json "$S"
n=$(count_objects data)
[ "$n" -ge 6 ] || fail "expected several packs, got $n"
note "$n packs"

# check_json WANT ARGS...: "dsb --json check ARGS" exiting WANT; the summary in $T/check.json
check_json() {
	local want=$1

	shift
	expect_rc "$want" dsb --json check "$@"
	cp "$OUT" "$T/check.json"
	cp "$ERR" "$T/check.err"
}

# named ERE: the distinct pack ids on the lines of $T/check.err matching ERE
named() {
	grep -E "$1" "$T/check.err" | grep -oE 'pack (data/[0-9a-f]{2}/)?[0-9a-f]{64}' |
	    grep -oE '[0-9a-f]{64}' | sort -u
}

step "a clean repository: every pack read once, no errors"
check_json 0 --read-data
[ "$(json_get "$T/check.json" 'j["packs_read"]')" -eq "$n" ] || fail "packs_read is not $n"
[ "$(json_get "$T/check.json" 'j["errors"]')" -eq 0 ] || fail "errors on a clean repository"

step "two whole-pack reads fail: both packs named as unreadable, the others still read"
# the whole-pack reads come after every other read: count the reads to aim at them
DSBACKUP_FAULTS='get/data:stall@every1:0ms' DSBACKUP_FAULTS_LOG="$T/gets.log" \
    expect_rc 0 dsb -r "fault:$REPO" check --read-data
g=$(wc -l <"$T/gets.log")
DSBACKUP_FAULTS="get/data:fail@$((g - n + 1)),get/data:fail@$g" \
    expect_rc 1 dsb -r "fault:$REPO" --json check --read-data
cp "$OUT" "$T/check.json"
cp "$ERR" "$T/check.err"
[ "$(grep -c 'fault injected' "$T/check.err")" -eq 2 ] || fail "the two faults were not both hit"
[ "$(named 'is unreadable' | wc -l)" -eq 2 ] || { show_output; fail "not both unreadable packs named"; }
[ "$(json_get "$T/check.json" 'j["errors"]')" -eq 2 ] || fail "errors is not 2"
[ "$(json_get "$T/check.json" 'j["packs_read"]')" -eq "$n" ] || fail "packs_read is not $n"
expect_err 'check found 2 problem\(s\)'

step "two damaged packs: both named, their hash and their blobs"
objects data -printf '%s %p\n' | sort -n | tail -2 | cut -d' ' -f2 >"$T/victims"
for p in $(cat "$T/victims"); do
	size=$(stat -c %s "$p")
	byte=$(od -An -tu1 -j $((size / 2)) -N1 "$p" | tr -d ' ')
	printf "\\$(printf '%03o' $(((byte + 1) % 256)))" |
	    dd of="$p" bs=1 seek=$((size / 2)) conv=notrunc status=none
done
xargs -n1 basename <"$T/victims" | sort >"$T/victims.ids"
check_json 1 --read-data
named 'does not hash to its name' >"$T/hash.ids"
named 'blob [0-9a-f]{16} at offset [0-9]+ of pack .* is damaged' >"$T/blob.ids"
cmp -s "$T/victims.ids" "$T/hash.ids" || { cat "$T/check.err"; fail "damaged packs not named by hash"; }
cmp -s "$T/victims.ids" "$T/blob.ids" || { cat "$T/check.err"; fail "damaged blobs not named"; }
errors=$(json_get "$T/check.json" 'j["errors"]')
[ "$errors" -ge 4 ] || fail "expected at least 4 errors (2 hashes, 2 blobs), got $errors"
expect_err "check found $errors problem\\(s\\)"

step "--read-data-subset: only damaged packs named, among fewer packs read"
for i in 1 2 3; do
	rc=0
	dsb --json check --read-data-subset 50% >"$T/check.json" 2>"$T/check.err" || rc=$?
	case $rc in 0 | 1) ;; *) cat "$T/check.err"; fail "exit $rc" ;; esac
	read_n=$(json_get "$T/check.json" 'j["packs_read"]')
	[ "$read_n" -le "$n" ] || fail "read $read_n of $n packs"
	for id in $(named 'does not hash to its name'); do
		grep -qx "$id" "$T/victims.ids" || fail "an intact pack $id was named damaged"
	done
	if [ "$rc" -eq 1 ]; then
		[ -n "$(named 'does not hash to its name')" ] || fail "exit 1 without a damaged pack named"
	fi
	note "subset run $i: $read_n packs read, exit $rc"
done

step "packs larger than one read (4 MiB) are read in pieces: every byte hashed, blobs across the pieces"
S2="$T/src2"
random_files "$S2" 14 2000000
export DSBACKUP_REPOSITORY="$T/big"
init_repo "$T/big" --pack-size 10485760
backup_json "$S2"
mapfile -t big < <(find "$T/big/data" -type f -size +6M | sort)
[ "${#big[@]}" -ge 2 ] || fail "expected two packs of more than 6 MiB, got ${#big[@]}"
nb=$(find "$T/big/data" -type f | wc -l)
check_json 0 --read-data
[ "$(json_get "$T/check.json" 'j["packs_read"]')" -eq "$nb" ] || fail "packs_read is not $nb"
# a byte in the second piece of one pack, a byte of the trailer of another
flip_at() {
	local byte

	byte=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "\\$(printf '%03o' $(((byte + 1) % 256)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
cp "${big[0]}" "$T/big0.orig"
cp "${big[1]}" "$T/big1.orig"
flip_at "${big[0]}" $((6 << 20))
flip_at "${big[1]}" $(($(stat -c %s "${big[1]}") - 40))
check_json 1 --read-data
id0=$(basename "${big[0]}") id1=$(basename "${big[1]}")
[ "$(named 'does not hash to its name' | tr '\n' ' ')" = "$(printf '%s\n' "$id0" "$id1" | sort | tr '\n' ' ')" ] ||
    { cat "$T/check.err"; fail "the two damaged big packs are not both named by hash"; }
[ "$(named 'blob [0-9a-f]{16} at offset [0-9]+ of pack .* is damaged')" = "$id0" ] ||
    { cat "$T/check.err"; fail "the damaged blob in the second piece is not named"; }
[ "$(named 'trailer unreadable')" = "$id1" ] || { cat "$T/check.err"; fail "the damaged trailer is not named"; }
# 5: the trailer is also found damaged by the structure check that comes first
[ "$(json_get "$T/check.json" 'j["errors"]')" -eq 5 ] || { cat "$T/check.err"; fail "errors is not 5"; }
cp "$T/big0.orig" "${big[0]}"
cp "$T/big1.orig" "${big[1]}"
check_json 0 --read-data

step "big packs: a piece read short, a pack cut short: named as unreadable"
# a big pack alone in its directory, so that reads can be counted on it alone (a worker reads
# one pack from start to end: the last read of that directory is the pack's last piece)
victim=
for p in "${big[@]}"; do
	[ "$(find "$(dirname "$p")" -type f | wc -l)" -eq 1 ] && { victim=$p; break; }
done
[ -n "$victim" ] || fail "no big pack alone in its directory"
dir=data/$(basename "$(dirname "$victim")")
DSBACKUP_FAULTS="get/$dir:stall@every1:0ms" DSBACKUP_FAULTS_LOG="$T/gets2.log" \
    expect_rc 0 dsb -r "fault:$T/big" check --read-data
g=$(wc -l <"$T/gets2.log")
DSBACKUP_FAULTS="get/$dir:short@$g" expect_rc 1 dsb -r "fault:$T/big" --json check --read-data
cp "$OUT" "$T/check.json"
cp "$ERR" "$T/check.err"
[ "$(named 'is unreadable.*short read')" = "$(basename "$victim")" ] ||
    { cat "$T/check.err"; fail "the short piece is not named"; }
[ "$(json_get "$T/check.json" 'j["errors"]')" -eq 1 ] || { cat "$T/check.err"; fail "errors is not 1"; }
truncate -s $((7 << 20)) "${big[0]}"
check_json 1 --read-data
[ "$(named 'does not hash to its name')" = "$id0" ] || { cat "$T/check.err"; fail "the cut pack is not named by hash"; }
[ "$(named 'trailer unreadable')" = "$id0" ] || { cat "$T/check.err"; fail "the cut pack's trailer is not named"; }
