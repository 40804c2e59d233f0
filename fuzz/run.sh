#!/usr/bin/env bash
# fuzz/run.sh [SECONDS] [TARGET...]: build the libFuzzer targets with clang in
# build-fuzz/ (or $DSB_FUZZ_BUILD) and run each for SECONDS (default 20) on its
# seed corpus, one after the other.  New inputs go to build-fuzz/corpus/<target>/,
# never into fuzz/corpus/.  Exits non-zero when a target crashes, leaks, times
# out or breaks an invariant; the input that did it is left as
# build-fuzz/artifacts/<target>/crash-* (see fuzz/README.md).
# $DSB_FUZZ_CMAKE_ARGS (split on spaces) is added to the cmake configure line.
# Warnings do not stop this build (-DDSB_WERROR=OFF: clang warns where gcc does
# not); they are in build-fuzz/build.log, and -DDSB_WERROR=ON in
# $DSB_FUZZ_CMAKE_ARGS restores the rule.
set -euo pipefail

secs=${1:-20}
shift || true
src=$(cd "$(dirname "$0")/.." && pwd)
build=${DSB_FUZZ_BUILD:-$src/build-fuzz}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	# every fuzz/fuzz_<target>.c but the shared fuzz_common.c
	for f in "$src"/fuzz/fuzz_*.c; do
		t=${f##*/fuzz_}
		t=${t%.c}
		[ "$t" = common ] || targets+=("$t")
	done
fi
case $secs in
	''|*[!0-9]*) echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2 ;;
esac

CC=${CC:-clang}
if ! "$CC" --version 2>/dev/null | grep -q clang; then
	echo "fuzz/run.sh: needs clang (set CC); $CC is not" >&2
	exit 2
fi
read -r -a extra <<<"${DSB_FUZZ_CMAKE_ARGS:-}"
bins=()
for t in "${targets[@]}"; do
	bins+=("fuzz_$t")
done
mkdir -p "$build"
echo "== building fuzz targets in $build"
cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER="$CC" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DDSB_FUZZ=ON -DDSB_SANITIZE=OFF -DDSB_TESTS=ON -DDSB_WERROR=OFF ${extra[@]+"${extra[@]}"} \
	>"$build/configure.log" 2>&1 || { tail -30 "$build/configure.log" >&2; exit 1; }
cmake --build "$build" -j "$(nproc)" --target "${bins[@]}" >"$build/build.log" 2>&1 ||
	{ grep -E 'error|Error' "$build/build.log" | head -30 >&2; exit 1; }

fail=0
for t in "${targets[@]}"; do
	corpus=$build/corpus/$t
	artifacts=$build/artifacts/$t
	mkdir -p "$corpus" "$artifacts"
	log=$build/fuzz_$t.log
	echo "== fuzz_$t: $secs s"
	# -rss_limit_mb: the targets may allocate up to what FORMAT.md allows (64 MiB objects)
	if "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$artifacts/" \
		"$corpus" "$src/fuzz/corpus/$t" >"$log" 2>&1; then
		grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$log" | sed 's/^/   /'
		grep -E '^#[0-9]+.*DONE' "$log" | tail -1 | sed 's/^/   /' || true
	else
		fail=1
		echo "   FAILED; last lines of $log:"
		tail -40 "$log" | sed 's/^/   /'
	fi
done
exit $fail
