#!/usr/bin/env bash
# test_s3_faults.sh: failures of the S3 service.
#  (a) a wrong secret key: a clear error naming the signature failure, exit 1,
#      and the secret in no message;
#  (b) the gateway stopped in the middle of a backup that is sending packs as
#      multipart uploads: the backup fails cleanly (exit 1, no snapshot,
#      the earlier snapshot intact), its multipart uploads are aborted once
#      the gateway is back, and the next backup succeeds with check clean.
# (b) runs against a second gateway of its own, so that stopping it leaves
# the other S3 tests alone.
. "$(dirname "$0")/lib.sh"
s3_mode || skip_test "needs DSB_TEST_S3_ENV (ctest -L s3)"
: "${DSB_RADOSGW_SH:?set by ctest}"
rgw() {
	bash "$DSB_RADOSGW_SH" "$1" "$DSB_RADOSGW_DIR" faultgw
}
trap 'rc=$?; rgw stop-gw >/dev/null 2>&1; (exit $rc); e2e_cleanup' EXIT

S="$T/src"
mkdir -p "$S"
random_file "$S/first" 100000

step "(a) a wrong secret key fails with SignatureDoesNotMatch, exit 1"
init_repo
backup_json "$S"
AWS_SECRET_ACCESS_KEY=not-the-secret-0123 expect_rc 1 dsb snapshots
expect_err "SignatureDoesNotMatch"
expect_err "HTTP 403"
! grep -q "not-the-secret" "$ERR" "$OUT" || fail "the secret appeared in a message"
AWS_SECRET_ACCESS_KEY=not-the-secret-0123 expect_rc 1 dsb backup "$S"
expect_err "SignatureDoesNotMatch"

step "(b) a second gateway for this test"
endpoint=$(rgw start-gw | tail -1)
note "gateway at $endpoint"
export REPO="s3:$endpoint/$S3_BUCKET-b/repo"
export DSBACKUP_REPOSITORY="$REPO"
init_repo
backup_json "$S"
first=$SNAP
random_file "$S/big" $((64 * 1024 * 1024))
export DSBACKUP_S3_MULTIPART_THRESHOLD=6M DSBACKUP_S3_PART_SIZE=5M DSBACKUP_S3_CONNECTIONS=2
export DSBACKUP_S3_RETRIES=2

step "(b) stop the gateway while multipart uploads are running"
dsb -v backup "$S" >"$T/bk.out" 2>"$T/bk.err" &
bk=$!
for _ in $(seq 1 600); do
	grep -q "multipart upload of" "$T/bk.err" && break
	kill -0 $bk 2>/dev/null || break
	sleep 0.1
done
grep -q "multipart upload of" "$T/bk.err" || { cat "$T/bk.err" >&2; fail "no multipart upload started"; }
rgw stop-gw
note "gateway stopped"
sleep 2
rgw start-gw >/dev/null
note "gateway started again"
rc=0
wait $bk || rc=$?
grep -E "error|warning" "$T/bk.err" | head -5 | sed 's/^/   /'
[ "$rc" = 1 ] || { cat "$T/bk.err" >&2; fail "the interrupted backup exited $rc, not 1"; }
grep -q "aborted the multipart upload" "$T/bk.err" || note "(no abort was needed)"

step "(b) no snapshot was written, the first is intact, no multipart upload is left"
expect_rc 0 dsb --json snapshots
[ "$(json_get "$OUT" 'len(j)')" = 1 ] || fail "expected only the first snapshot"
[ "$(json_get "$OUT" 'j[0]["id"]')" = "$first" ] || fail "the first snapshot changed"
DSB_S3_ENDPOINT=$endpoint aws_s3 s3api list-multipart-uploads --bucket "$S3_BUCKET-b" >"$T/mpu" ||
    fail "list-multipart-uploads failed"
! grep -q UploadId "$T/mpu" || { cat "$T/mpu"; fail "multipart uploads were not aborted"; }

step "(b) the next backup succeeds and check is clean"
backup_json "$S"
expect_rc 0 dsb check --read-data
expect_rc 0 dsb restore "$SNAP" --target "$T/out"
cmp "$S/big" "$T/out$S/big" || fail "restored file differs"
