#!/usr/bin/env bash
# test.sh: install what the tests need, build with AddressSanitizer and
# UndefinedBehaviorSanitizer, and run every test suite through ctest.
#   ./scripts/test.sh            every suite
#   ./scripts/test.sh --quick    unit suites only
# Extra arguments after the options are passed to ctest (e.g. -R damage).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/deps.sh

quick=0
if [ "${1:-}" = "--quick" ]; then quick=1; shift; fi

dsb_install_packages "${DSB_BUILD_PACKAGES[@]}" "${DSB_TEST_PACKAGES[@]}"
[ $quick -eq 1 ] || dsb_install_packages "${DSB_SERVICE_PACKAGES[@]}"

build=${DSB_TEST_BUILD_DIR:-build-test}
cmake -S . -B "$build" -DDSB_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" -j"$(nproc)"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build"
if [ $quick -eq 1 ]; then
	ctest --output-on-failure -j2 -L unit "$@"
else
	ctest --output-on-failure -j2 "$@"
fi
