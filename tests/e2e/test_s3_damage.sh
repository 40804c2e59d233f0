#!/usr/bin/env bash
# test_s3_damage.sh: the damage and catalog tests of the local backend, with
# the repository in a bucket and the damage done through the AWS CLI:
#  (a) one byte of a pack flipped: check --read-data fails naming the pack,
#      restore exits 3 and the other files are intact;
#  (b) a pack deleted: check fails saying it is missing;
#  (c) a snapshot object deleted: the catalog forgets it on the next listing;
#      a catalog deleted is rebuilt from the bucket.
. "$(dirname "$0")/lib.sh"
s3_mode || skip_test "needs DSB_TEST_S3_ENV (ctest -L s3)"

S="$T/src"
mkdir -p "$S"
for i in 1 2 3 4; do
	random_file "$S/file$i" $((600 * 1024))
done
echo small >"$S/small"

# largest_pack: the key of the largest data object
largest_pack() {
	aws_s3 s3 ls --recursive "s3://$S3_BUCKET/repo/data/" | sort -k3 -n | tail -1 | awk '{print $4}'
}

init_repo --pack-size 1048576
backup_json "$S"
first=$SNAP
PACK=$(largest_pack)
PACK_ID=$(basename "$PACK")
note "damaging $PACK"

step "(a) flip one byte in the middle of a pack, through the AWS CLI"
aws_s3 s3 cp --quiet "s3://$S3_BUCKET/$PACK" "$T/pack" || fail "download failed"
size=$(stat -c %s "$T/pack")
byte=$(od -An -tu1 -j $((size / 2)) -N1 "$T/pack" | tr -d ' ')
printf "\\$(printf '%03o' $(((byte + 1) % 256)))" | dd of="$T/pack" bs=1 seek=$((size / 2)) conv=notrunc status=none
aws_s3 s3 cp --quiet "$T/pack" "s3://$S3_BUCKET/$PACK" || fail "upload failed"
expect_rc 1 dsb check --read-data
expect_err "$PACK_ID"
expect_rc 3 dsb restore "$first" --target "$T/out"
cmp -s "$S/small" "$T/out$S/small" || fail "the small file was not restored"
intact=0
for i in 1 2 3 4; do
	if cmp -s "$S/file$i" "$T/out$S/file$i"; then intact=$((intact + 1)); fi
done
note "$intact of 4 large files intact"
[ "$intact" -ge 1 ] || fail "no file was restored intact"

step "(b) delete the pack: check says it is missing"
aws_s3 s3 rm --quiet "s3://$S3_BUCKET/$PACK" || fail "rm failed"
expect_rc 1 dsb check
expect_err "$PACK_ID.*missing|missing.*$PACK_ID"

step "(c) a snapshot deleted in the bucket disappears from the listing"
echo more >"$S/more"
backup_json "$S"
second=$SNAP
aws_s3 s3 rm --quiet "s3://$S3_BUCKET/repo/snapshots/$first" || fail "rm failed"
expect_rc 0 dsb snapshots
expect_out "^${second:0:8} "
! grep -q "^${first:0:8} " "$OUT" || fail "snapshots still lists the deleted snapshot"

step "(c) the catalog is rebuilt from the bucket"
rm -rf "$DSBACKUP_STATE_DIR"
expect_rc 0 dsb snapshots
expect_out "^${second:0:8} "
expect_rc 0 dsb ls "$second"
expect_out "more"
