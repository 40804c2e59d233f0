#!/usr/bin/env bash
# test_s3_interop.sh: what dsbackup writes to S3 is ordinary S3 objects:
# the AWS CLI lists them and downloads them, and every downloaded object
# (but "config") hashes to its name.  Packs above the multipart threshold go
# up as multipart uploads (their ETag says "-N") and read back the same.
. "$(dirname "$0")/lib.sh"
s3_mode || skip_test "needs DSB_TEST_S3_ENV (ctest -L s3)"
[ -x /usr/bin/aws ] || fail "/usr/bin/aws is missing (radosgw.sh start installs awscli)"

S="$T/src"
mkdir -p "$S/d"
random_file "$S/big" $((20 * 1024 * 1024))
random_file "$S/d/small" 5000
echo "hello" >"$S/d/text"

step "init creates the bucket; backup with packs sent as multipart uploads"
export DSBACKUP_S3_MULTIPART_THRESHOLD=6M DSBACKUP_S3_PART_SIZE=5M DSBACKUP_S3_CONNECTIONS=3
init_repo
backup_json "$S"
expect_rc 0 dsb check --read-data

step "the AWS CLI lists every object"
aws_s3 s3 ls --recursive "s3://$S3_BUCKET/repo/" >"$T/ls" || fail "aws s3 ls failed"
cat "$T/ls" | sed 's/^/   /' | head -20
for kind in config keys/ data/ index/ snapshots/; do
	grep -q " repo/$kind" "$T/ls" || fail "no $kind object listed"
done
[ "$(grep -c ' repo/snapshots/' "$T/ls")" = 1 ] || fail "expected one snapshot object"

step "every downloaded object hashes to its name"
mkdir "$T/dl"
aws_s3 s3 cp --recursive --quiet "s3://$S3_BUCKET/repo/" "$T/dl/" || fail "aws s3 cp failed"
n=0
while read -r f; do
	name=$(basename "$f")
	[ "$name" = config ] && continue
	[ "$(sha256sum "$f" | cut -d' ' -f1)" = "$name" ] || fail "$f does not hash to its name"
	n=$((n + 1))
done < <(find "$T/dl" -type f)
note "$n objects verified"
[ "$n" -ge 5 ] || fail "too few objects"

step "a pack above the threshold was a multipart upload"
big=$(find "$T/dl/data" -type f -size +6M | head -1)
[ -n "$big" ] || fail "no pack larger than 6 MiB"
key=${big#"$T/dl/"}
aws_s3 s3api head-object --bucket "$S3_BUCKET" --key "repo/$key" >"$T/head" || fail "head-object failed"
grep -Eq '"ETag": "\\"[0-9a-f]{32}-[0-9]+\\""' "$T/head" || { cat "$T/head"; fail "no multipart ETag"; }
aws_s3 s3api list-multipart-uploads --bucket "$S3_BUCKET" >"$T/mpu" || fail "list-multipart-uploads failed"
! grep -q UploadId "$T/mpu" || { cat "$T/mpu"; fail "multipart uploads left over"; }

step "restore from S3 gives the same tree"
expect_rc 0 dsb restore latest --target "$T/out"
compare_trees "$S" "$T/out$S"
