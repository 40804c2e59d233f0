#!/usr/bin/env bash
# test_s3_retries.sh: retries on 503 SlowDown, 500 and dropped connections,
# for real: a fault-injecting proxy (tests/tools/s3_fault_proxy.py) sits
# between dsbackup and radosgw.
#  (a) the first requests of each kind fail (503 SlowDown on PUT, 500 on
#      GET, dropped connections on HEAD and on a snapshot PUT): the backup and a restore
#      succeed, the retries are logged, and the proxy did inject every fault;
#  (b) every PUT of a pack answers 503 for ever: the backup fails cleanly
#      within the bounded retry time (DSBACKUP_S3_RETRIES=2), exit 1, the
#      error naming HTTP 503 and SlowDown; then, without the proxy, check is
#      clean and the next backup succeeds;
#  (c) the server starts multipart uploads but the answers are lost: the
#      backup fails, and the uploads the server made are found and aborted;
#  (d) one start's answer is lost and its retry is answered: the backup
#      succeeds, and the upload the server made for the lost start (whose id
#      the client never saw) is aborted, not left billed in the bucket.
. "$(dirname "$0")/lib.sh"
s3_mode || skip_test "needs DSB_TEST_S3_ENV (ctest -L s3)"
: "${DSB_SRC:?set by ctest}"

PROXY_PID=
stop_proxy() {
	[ -n "$PROXY_PID" ] || return 0
	kill "$PROXY_PID" 2>/dev/null || true
	wait "$PROXY_PID" 2>/dev/null || true
	PROXY_PID=
}
trap 'rc=$?; stop_proxy; (exit $rc); e2e_cleanup' EXIT

# start_proxy SPEC...: a proxy to radosgw with these faults; REPO goes through it
start_proxy() {
	local spec args=()

	stop_proxy
	for spec in "$@"; do
		args+=(--fault "$spec")
	done
	rm -f "$T/proxy.port"
	# $PYTHON itself, not lib.sh's python3 function: $! must be the proxy's pid
	"$PYTHON" "$DSB_SRC/tests/tools/s3_fault_proxy.py" --upstream "${DSB_S3_ENDPOINT#http://}" \
	    --port-file "$T/proxy.port" "${args[@]}" >>"$T/proxy.log" 2>&1 &
	PROXY_PID=$!
	for _ in $(seq 1 100); do
		[ -s "$T/proxy.port" ] && break
		sleep 0.1
	done
	[ -s "$T/proxy.port" ] || { cat "$T/proxy.log" >&2; fail "the proxy did not start"; }
	export DSBACKUP_REPOSITORY="s3:http://127.0.0.1:$(cat "$T/proxy.port")/$S3_BUCKET/repo"
}

S="$T/src"
mkdir -p "$S"
random_file "$S/a" 2500000
random_file "$S/b" 300000
echo small >"$S/small"

step "(a) transient faults of every kind: the backup and the restore get through"
init_repo --pack-size 1048576
# two drops in a row: curl itself retries once when a kept-alive connection turns out closed
start_proxy PUT:503:3:/data/ GET:500:2 HEAD:drop:2 PUT:drop:2:/snapshots/
backup_json -vv "$S"
cp "$ERR" "$T/backup.err"
expect_rc 0 dsb -vv restore "$SNAP" --target "$T/out"
cat "$ERR" >>"$T/backup.err"
compare_trees "$S" "$T/out$S"
injected=$(grep -c "^fault " "$T/proxy.log" || true)
retried=$(grep -c "retrying in" "$T/backup.err" || true)
note "$injected faults injected, $retried retries logged"
grep "retrying in" "$T/backup.err" | head -3 | sed 's/^/   /'
grep -q "^fault 503 PUT" "$T/proxy.log" || fail "no 503 was injected"
grep -q "^fault 500 GET" "$T/proxy.log" || fail "no 500 was injected"
grep -q "^fault drop" "$T/proxy.log" || fail "no connection was dropped"
grep -q "HTTP 503 SlowDown; retrying in" "$T/backup.err" || fail "the 503 retries were not logged"
grep -q "HTTP 500 InternalError; retrying in" "$T/backup.err" || fail "the 500 retries were not logged"
grep -Eq "s3 (HEAD|PUT) [^:]*: [^H].*retrying in" "$T/backup.err" ||
    fail "the dropped connections were not retried"
[ "$retried" -ge 6 ] || fail "$injected faults but only $retried retries logged"

step "(b) a permanent 503 on packs: the backup fails within the bounded retry time"
random_file "$S/c" 500000
start_proxy PUT:503:inf:/data/
t0=$(date +%s)
DSBACKUP_S3_RETRIES=2 expect_rc 1 dsb backup "$S"
took=$(($(date +%s) - t0))
note "failed after $took s: $(grep -m1 error "$ERR")"
[ "$took" -le 30 ] || fail "the failing backup took $took s"
expect_err "HTTP 503"
expect_err "SlowDown"
expect_err "after 3 attempts"

step "(c) the answers to starting multipart uploads are lost: the uploads the server made are aborted"
# a repository of its own, with packs large enough to go up in parts
mkdir "$T/mp"
random_file "$T/mp/big" $((20 * 1024 * 1024))
start_proxy 'POST:lose:inf:?uploads'
export DSBACKUP_REPOSITORY="${DSBACKUP_REPOSITORY%/repo}/repo-mp"
init_repo "$DSBACKUP_REPOSITORY" --pack-size $((16 * 1024 * 1024))
DSBACKUP_S3_RETRIES=2 DSBACKUP_S3_MULTIPART_THRESHOLD=6M DSBACKUP_S3_PART_SIZE=5M \
    expect_rc 1 dsb backup "$T/mp"
lost=$(grep -c "answer lost" "$T/proxy.log" || true)
note "$lost answer(s) lost: $(grep -m1 error "$ERR")"
[ "$lost" -ge 1 ] || fail "no answer was lost"
aws_s3 s3api list-multipart-uploads --bucket "$S3_BUCKET" >"$T/mpu" || fail "list-multipart-uploads failed"
! grep -q UploadId "$T/mpu" || { cat "$T/mpu"; fail "uploads whose start was not answered were left"; }

step "(d) one start's answer is lost, its retry is answered: the backup succeeds, no upload is left"
# the server made two uploads for the key; the client knows only the second
lost_before=$(grep -c "answer lost" "$T/proxy.log" || true)
start_proxy 'POST:lose:1:?uploads'
export DSBACKUP_REPOSITORY="${DSBACKUP_REPOSITORY%/repo}/repo-mp2"
init_repo "$DSBACKUP_REPOSITORY" --pack-size $((16 * 1024 * 1024))
DSBACKUP_S3_RETRIES=2 DSBACKUP_S3_MULTIPART_THRESHOLD=6M DSBACKUP_S3_PART_SIZE=5M \
    expect_rc 0 dsb backup "$T/mp"
[ "$(grep -c "answer lost" "$T/proxy.log" || true)" = $((lost_before + 1)) ] || fail "no answer was lost"
aws_s3 s3api list-multipart-uploads --bucket "$S3_BUCKET" >"$T/mpu" || fail "list-multipart-uploads failed"
! grep -q UploadId "$T/mpu" || { cat "$T/mpu"; fail "the upload whose start was not answered was left"; }
expect_rc 0 dsb check --read-data

step "(b) without the proxy: check is clean, one snapshot, the next backup succeeds"
stop_proxy
export DSBACKUP_REPOSITORY="$REPO"
expect_rc 0 dsb check --read-data
expect_rc 0 dsb --json snapshots
[ "$(json_get "$OUT" 'len(j)')" = 1 ] || fail "the failed backup left a snapshot"
backup_json "$S"
expect_rc 0 dsb check
