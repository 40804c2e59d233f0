# lib.sh: shared helpers for the end-to-end tests (tests/e2e/test_*.sh).
#
# Each test sources this file.  It runs the real binary ($DSB, set by ctest)
# in a temporary directory of its own ($T, removed on exit; kept when
# DSB_E2E_KEEP=1 and the test failed), with its own password, repository
# ($REPO, also exported as DSBACKUP_REPOSITORY) and catalog directory, so
# tests can run in parallel.
set -euo pipefail
export LC_ALL=C

: "${DSB:?set DSB to the dsbackup binary (ctest does this)}"
if [ ! -x "$DSB" ]; then
	echo "FAIL: DSB=$DSB is not an executable" >&2
	exit 1
fi

TEST_NAME=$(basename "$0" .sh)
T=$(mktemp -d "${TMPDIR:-/tmp}/dsb-$TEST_NAME.XXXXXX")
# traversable by others: test_unreadable runs the binary as an unprivileged user below $T
chmod 0755 "$T"

E2E_MAIN_PID=$$
e2e_cleanup() {
	local rc=$? pid
	# a failing subshell may run this trap too: only the test's own shell cleans up
	if [ "$BASHPID" != "$E2E_MAIN_PID" ]; then
		exit "$rc"
	fi
	for pid in $(jobs -p); do
		kill "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	if [ "$rc" -ne 0 ] && [ -n "${DSB_E2E_KEEP:-}" ]; then
		echo "kept the test directory $T"
	else
		rm -rf "$T"
	fi
	if [ "$rc" -eq 0 ]; then
		echo "PASS: $TEST_NAME"
	else
		echo "FAIL: $TEST_NAME (exit $rc)"
	fi
	exit "$rc"
}
trap e2e_cleanup EXIT

unset DSBACKUP_PASSWORD_FILE
export DSBACKUP_PASSWORD="e2e password for $TEST_NAME"
export DSBACKUP_STATE_DIR="$T/state"
export REPO="$T/repo"
export DSBACKUP_REPOSITORY="$REPO"
# S3 variants (label "s3"): DSB_TEST_S3_ENV names the env file of
# scripts/services/radosgw.sh, and $REPO is then a bucket of this test's own
# there.  s3_mode says so; aws_s3 runs the AWS CLI against that gateway.
if [ -n "${DSB_TEST_S3_ENV:-}" ]; then
	. "$DSB_TEST_S3_ENV"
	S3_BUCKET=$(printf 'dsbt-%s-%s' "$TEST_NAME" "${T##*.}" | tr 'A-Z_' 'a-z-' | cut -c1-63)
	export REPO="s3:$DSB_S3_ENDPOINT/$S3_BUCKET/repo"
	export DSBACKUP_REPOSITORY="$REPO"
fi
s3_mode() {
	[ -n "${DSB_TEST_S3_ENV:-}" ]
}
aws_s3() {
	AWS_EC2_METADATA_DISABLED=true /usr/bin/aws --endpoint-url "$DSB_S3_ENDPOINT" "$@"
}
# the sanitizer build: leaks and undefined behaviour make the binary fail
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Output of the last expect_rc: $OUT (stdout) and $ERR (stderr) name files.
OUT="$T/last.out"
ERR="$T/last.err"

# step MSG: say what the test checks next.
step() {
	echo "== [${SECONDS}s] $*"
}

# note MSG: an aside (a skipped part, a value seen).
note() {
	echo "   $*"
}

# fail MSG: stop the test.
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# skip_test REASON: the whole test cannot run here; it passes with the reason printed.
skip_test() {
	echo "SKIP: $TEST_NAME: $*"
	exit 0
}

# dsb ARGS...: run the binary.
dsb() {
	"$DSB" "$@"
}

# init_repo [DIR] [INIT OPTIONS...]: create a repository (default $REPO) with
# fast scrypt and 64 KiB average chunks (32 KiB min, 512 KiB max).
init_repo() {
	local dir="$REPO"

	if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
		dir=$1
		shift
	fi
	expect_rc 0 dsb -r "$dir" init --kdf-log2n 10 --chunk-avg 65536 "$@"
}

show_output() {
	echo "--- stdout of: $*" >&2
	head -c 20000 "$OUT" >&2 || true
	echo "--- stderr:" >&2
	head -c 20000 "$ERR" >&2 || true
	echo "---" >&2
}

# expect_rc N CMD...: run CMD, stdout to $OUT and stderr to $ERR; fail unless it exits N.
expect_rc() {
	local want=$1 rc=0

	shift
	"$@" >"$OUT" 2>"$ERR" || rc=$?
	if [ "$rc" -ne "$want" ]; then
		show_output "$@"
		fail "expected exit code $want, got $rc from: $*"
	fi
}

# expect_err REGEX: the last command's stderr matches the extended REGEX.
expect_err() {
	if ! grep -Eq -- "$1" "$ERR"; then
		show_output "(last command)"
		fail "stderr does not match /$1/"
	fi
}

# expect_out REGEX: the last command's stdout matches the extended REGEX.
expect_out() {
	if ! grep -Eq -- "$1" "$OUT"; then
		show_output "(last command)"
		fail "stdout does not match /$1/"
	fi
}

# The system's python3 when there is one: wrappers such as pyenv's shims
# take seconds per call.
if [ -x /usr/bin/python3 ]; then
	PYTHON=/usr/bin/python3
else
	PYTHON=python3
fi
python3() {
	"$PYTHON" "$@"
}

# json_get FILE EXPR: evaluate the Python expression EXPR over the JSON
# value of FILE (bound to "j"), print the result.
json_get() {
	python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)' "$1" "$2"
}

# backup_json ARGS...: "dsb --json backup ARGS" expecting exit 0; sets
# SNAP (the snapshot id) and keeps the summary in $T/summary.json.
backup_json() {
	expect_rc 0 dsb --json backup "$@"
	load_summary "$OUT"
}

# load_summary FILE: read a --json backup summary (sets SNAP, see summary).
declare -A SUMMARY
load_summary() {
	local k v

	[ "$1" = "$T/summary.json" ] || cp "$1" "$T/summary.json"
	SUMMARY=()
	while IFS='=' read -r k v; do
		SUMMARY[$k]=$v
	done < <(python3 -c 'import json, sys
for k, v in json.load(open(sys.argv[1])).items():
    print("%s=%s" % (k, v))' "$T/summary.json")
	SNAP=${SUMMARY[snapshot_id]:-}
	[ -n "$SNAP" ] || fail "no snapshot_id in the summary: $(cat "$T/summary.json")"
}

# summary FIELD: a field of the last backup summary.
summary() {
	[ -n "${SUMMARY[$1]+set}" ] || fail "no field $1 in the summary"
	printf '%s\n' "${SUMMARY[$1]}"
}

# random_file PATH BYTES: a file of random (incompressible) bytes.
random_file() {
	head -c "$2" /dev/urandom >"$1"
}

# objects KIND [FIND ARGS...]: the objects of $REPO/KIND (data, index,
# snapshots, locks, keys), without the local backend's temporary files
# (".tmp-*", present while an object is being written).
objects() {
	local kind=$1

	shift
	if s3_mode; then
		[ $# -eq 0 ] || fail "objects: find arguments need a local repository"
		aws_s3 s3 ls --recursive "s3://$S3_BUCKET/repo/$kind/" | awk '{ print $4 }'
		return
	fi
	find "$REPO/$kind" -type f ! -name '.tmp-*' "$@"
}

# count_objects KIND: how many objects of that kind $REPO holds.
count_objects() {
	objects "$1" | wc -l
}

# repo_state: one line per object of $REPO with its checksum (on S3 its
# ETag, the MD5 of a single PUT), in name order, locks/ left out.
repo_state() {
	if s3_mode; then
		aws_s3 s3api list-objects-v2 --bucket "$S3_BUCKET" --prefix repo/ \
		    --query 'Contents[].[Key, ETag, Size]' --output text | grep -v '^repo/locks/' | sort
		return
	fi
	(cd "$REPO" && find . -path ./locks -prune -o -type f -print0 | sort -z | xargs -0r sha256sum)
}

# remove_object NAME: delete the object NAME ("snapshots/<id>") of $REPO behind dsbackup's back.
remove_object() {
	if s3_mode; then
		aws_s3 s3 rm --quiet "s3://$S3_BUCKET/repo/$1" || fail "aws s3 rm $1 failed"
		return
	fi
	rm "$REPO/$1"
}

have() {
	command -v "$1" >/dev/null 2>&1
}

# ---- comparing trees ----
#
# tree_listing DIR prints, for DIR and everything below it, one line per
# entry with its path relative to DIR, type, permission bits (including
# setuid, setgid, sticky), numeric owner and group, mtime with nanoseconds
# and, for non-directories, size, link count and symlink target; device
# numbers for devices; then hard-link groups (paths sharing an inode) and
# the SHA-256 of every regular file.  Not compared: atime (reading changes
# it), ctime (cannot be set), and the size of directories (a file system
# detail that depends on the directory's history, not on its entries).
# Directory mtimes ARE compared, the root's included: a restore sets them
# after writing the entries.
tree_listing() {
	(
		cd "$1"
		find . \( -type d -printf '%P|%y|%m|%U|%G|%T@\n' \) -o \
		    \( -printf '%P|%y|%m|%U|%G|%T@|%s|%n|%l\n' \) | sort
		find . \( -type c -o -type b \) -exec stat -c '%n|rdev|%t:%T' {} + | sort
		find . -type f -links +1 -printf '%i %P\n' | sort -n |
		    awk '{ i = $1; p = substr($0, length($1) + 2) }
			 i == last { g = g "," p; next }
			 { if (g != "") print "hardlinks|" g; g = p; last = i }
			 END { if (g != "") print "hardlinks|" g }' | sort
		find . -type f -print0 | sort -z | xargs -0r sha256sum
	)
}

# xattr_listing DIR: every extended attribute (getfattr -m -, which
# includes the ACLs as system.posix_acl_*) and ACL (getfacl) below DIR, one
# "path|kind|entry" line each, sorted.  One recursive run of each tool:
# starting processes is slow on small machines.  Symlinks are skipped by
# getfacl -P (it would follow them).
xattr_listing() {
	(
		cd "$1"
		{
			getfattr -R -P -h -d -m - --absolute-names -e base64 . 2>/dev/null |
			    awk '/^# file: / { f = substr($0, 9); next } /^$/ { next } { print f "|xattr|" $0 }'
			getfacl -R -P -n -p . 2>/dev/null |
			    awk '/^# file: / { f = substr($0, 9); next } /^$/ { next } { print f "|acl|" $0 }'
		} | sort
	)
}

# compare_trees A B: A and B hold the same entries with the same content
# and metadata (tree_listing), and the same xattrs and ACLs when getfattr
# and getfacl are installed.
compare_trees() {
	local a=$1 b=$2

	[ -d "$a" ] || fail "compare_trees: $a is not a directory"
	[ -d "$b" ] || fail "compare_trees: $b is not a directory"
	tree_listing "$a" >"$T/cmp.a"
	tree_listing "$b" >"$T/cmp.b"
	if ! diff -u "$T/cmp.a" "$T/cmp.b" >"$T/cmp.diff"; then
		cat "$T/cmp.diff" >&2
		fail "trees differ: $a (-) and $b (+)"
	fi
	if have getfattr && have getfacl; then
		xattr_listing "$a" >"$T/cmpx.a"
		xattr_listing "$b" >"$T/cmpx.b"
		if ! diff -u "$T/cmpx.a" "$T/cmpx.b" >"$T/cmp.diff"; then
			cat "$T/cmp.diff" >&2
			fail "extended attributes or ACLs differ: $a (-) and $b (+)"
		fi
	else
		note "getfattr/getfacl not installed (packages attr, acl): xattrs and ACLs not compared"
	fi
}
