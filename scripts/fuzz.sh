#!/bin/sh
# Builds the libFuzzer targets (tests/fuzz) with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer, and runs each for SECONDS (default 60) from its committed
# seed corpus. Exit 0 when no target found anything; a finding is saved under
# BUILD/tests/fuzz/work/TARGET/artifacts/ (replay it with BUILD/tests/fuzz/fuzz_TARGET FILE,
# then add it to tests/fuzz/regressions/TARGET/ with its fix).
#
# usage: sh scripts/fuzz.sh [SECONDS] [BUILD_DIR]     (BUILD_DIR defaults to build-fuzz)
# Needs the Debian packages clang and libclang-rt-14-dev; exits 77 (skipped) without them.
set -eu
cd "$(dirname "$0")/.."
seconds="${1:-60}"
build="${2:-build-fuzz}"
jobs="${OPSLEDGER_JOBS:-2}"

if ! command -v clang++ >/dev/null 2>&1; then
  echo "fuzz.sh: clang++ not found (apt-get install clang libclang-rt-14-dev); skipped" >&2
  exit 77
fi
probe="$(mktemp -d)"
trap 'rm -rf "$probe"' EXIT
printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' > "$probe/p.cpp"
if ! clang++ -fsanitize=fuzzer "$probe/p.cpp" -o "$probe/p" >/dev/null 2>&1; then
  echo "fuzz.sh: clang++ cannot link libFuzzer (apt-get install libclang-rt-14-dev); skipped" >&2
  exit 77
fi

CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOPSLEDGER_FUZZ=ON \
  -DOPSLEDGER_BUILD_TESTS=OFF -DOPSLEDGER_BUILD_BENCHMARKS=OFF -DOPSLEDGER_FUZZ_SECONDS="$seconds" >/dev/null
ninja -C "$build" -j"$jobs"
cd "$build"
ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}" \
  ctest -L fuzz --output-on-failure
