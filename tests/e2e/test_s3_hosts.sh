#!/usr/bin/env bash
# test_s3_hosts.sh: several hosts, one repository.  Four processes with
# different --host back up into the same bucket and prefix at once: every
# snapshot lands, data the hosts share (already stored by a first backup) is
# not stored again, the locks (uniquely named objects and a listing: S3 has
# no atomic rename) are all released, and check is clean.
. "$(dirname "$0")/lib.sh"
s3_mode || skip_test "needs DSB_TEST_S3_ENV (ctest -L s3)"

random_file "$T/shared.bin" $((4 * 1024 * 1024))
for i in 1 2 3 4; do
	mkdir -p "$T/h$i"
	cp "$T/shared.bin" "$T/h$i/shared.bin"
	random_file "$T/h$i/own.bin" $((512 * 1024))
	echo "host $i" >"$T/h$i/name.txt"
done
mkdir -p "$T/h0"
cp "$T/shared.bin" "$T/h0/shared.bin"

step "host h0 stores the shared data"
init_repo
backup_json --host h0 "$T/h0"

step "four hosts back up at once"
pids=()
for i in 1 2 3 4; do
	dsb --json backup --host "h$i" "$T/h$i" >"$T/out.$i" 2>"$T/err.$i" &
	pids+=($!)
done
for i in 1 2 3 4; do
	rc=0
	wait "${pids[$((i - 1))]}" || rc=$?
	[ "$rc" = 0 ] || { cat "$T/err.$i" >&2; fail "backup of h$i exited $rc"; }
	added=$(json_get "$T/out.$i" 'j["bytes_added"]')
	note "h$i added $added bytes"
	# its own 512 KiB and metadata; the 4 MiB shared file was already stored
	[ "$added" -lt $((2 * 1024 * 1024)) ] || fail "h$i stored the shared data again ($added bytes)"
done

step "every snapshot landed"
expect_rc 0 dsb --json snapshots
hosts=$(json_get "$OUT" '",".join(sorted(s["host"] for s in j))')
[ "$hosts" = "h0,h1,h2,h3,h4" ] || fail "snapshots from hosts $hosts"

step "no lock is left, and check is clean"
aws_s3 s3 ls --recursive "s3://$S3_BUCKET/repo/locks/" >"$T/locks" || true
[ ! -s "$T/locks" ] || { cat "$T/locks"; fail "locks left behind"; }
expect_rc 0 dsb check --read-data
for i in 1 2 3 4; do
	expect_rc 0 dsb restore "$(json_get "$T/out.$i" 'j["snapshot_id"]')" --target "$T/r$i"
	compare_trees "$T/h$i" "$T/r$i$T/h$i"
done
