#!/usr/bin/env bash
# valgrind.sh: end-to-end tests under valgrind's memcheck, with a build
# without sanitizers (its own build directory).  Every dsbackup process the
# tests start runs as
#   valgrind --error-exitcode=99 --leak-check=full
#            --errors-for-leak-kinds=definite,indirect dsbackup ...
# through a small wrapper (the tests call "$DSB"); each process logs to a
# file of its own, and any error or definite/indirect leak in any of them
# fails the run, whatever exit code the test expected.
#
#   ./scripts/valgrind.sh              the representative subset below
#   ./scripts/valgrind.sh test_damage  only the named tests (tests/e2e/NAME.sh)
#
# DSB_VALGRIND_BUILD_DIR  build directory (default build-valgrind)
# DSB_VALGRIND_TESTS      the subset (space-separated names)
# Under ctest (label "valgrind") it runs only with DSB_VALGRIND=1; without
# it the test is reported as skipped (exit 77), as it takes several minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if [ "${DSB_VALGRIND_CTEST:-}" = 1 ] && [ "${DSB_VALGRIND:-}" != 1 ]; then
	echo "SKIP: valgrind run (several minutes): DSB_VALGRIND=1 ctest -L valgrind, or ./scripts/valgrind.sh"
	exit 77
fi

. scripts/lib/deps.sh
dsb_install_packages "${DSB_BUILD_PACKAGES[@]}" valgrind python3 attr acl

build=${DSB_VALGRIND_BUILD_DIR:-build-valgrind}
case $build in /*) ;; *) build="$root/$build" ;; esac
tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
	read -r -a tests <<<"${DSB_VALGRIND_TESTS:-test_roundtrip_kinds test_incremental test_exclude_include \
test_damage test_catalog test_password test_keys test_faults test_secrets test_disk_full}"
fi

echo "== building without sanitizers in $build"
cmake -S . -B "$build" -DDSB_SANITIZE=OFF -DDSB_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target dsbackup >/dev/null

logs="$build/valgrind-logs"
rm -rf "$logs"
mkdir -p "$logs"
chmod 1777 "$logs"   # test_secrets runs dsbackup as nobody too
wrapper="$build/dsbackup-valgrind"
cat >"$wrapper" <<EOF
#!/bin/sh
# dsbackup under memcheck (scripts/valgrind.sh); the report goes to $logs
exec valgrind --quiet --error-exitcode=99 --leak-check=full \\
    --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \\
    --num-callers=30 --log-file="$logs/vg.%p.log" "$build/dsbackup" "\$@"
EOF
chmod 0755 "$wrapper"

failed=0
start=$SECONDS
for t in "${tests[@]}"; do
	t=${t%.sh}
	echo "== $t under valgrind"
	t0=$SECONDS
	if ! env DSB="$wrapper" DSB_SRC="$root" ASAN_OPTIONS= UBSAN_OPTIONS= \
	    bash "tests/e2e/$t.sh" >"$logs/$t.out" 2>&1; then
		tail -30 "$logs/$t.out"
		echo "FAIL: $t (under valgrind)"
		failed=1
	else
		echo "   passed in $((SECONDS - t0))s"
	fi
done

runs=$(find "$logs" -name 'vg.*.log' | wc -l)
bad=$(find "$logs" -name 'vg.*.log' -size +0 | sort)
if [ -n "$bad" ]; then
	for f in $bad; do
		echo "--- $f"
		head -80 "$f"
	done
	echo "FAIL: memcheck errors or leaks in $(echo "$bad" | wc -l) of $runs dsbackup processes"
	failed=1
fi
echo "== $runs dsbackup processes under memcheck in $((SECONDS - start))s: " \
    "$([ $failed = 0 ] && echo "no errors, no definite or indirect leaks" || echo FAILED)"
echo "RESULT valgrind processes=$runs tests=${#tests[@]} failed=$failed"
exit $failed
