#!/bin/sh
# Quick start 2: install what is missing, build, and run the whole default test suite
# (CTest, label `long` excluded), then the same suite again under AddressSanitizer and
# UndefinedBehaviorSanitizer in a second build, then every fuzz target for a bounded time
# (OPSLEDGER_FUZZ_SECONDS per target, default 20; 0 skips the step).
set -eu
cd "$(dirname "$0")/.."
OPSLEDGER_EXTRA_PACKAGES="php-cli clang libclang-rt-14-dev" sh scripts/ensure-deps.sh
jobs="${OPSLEDGER_JOBS:-2}"

echo "== Release build and tests"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build -j"$jobs"
(cd build && ctest -LE long --output-on-failure -j"$jobs")

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build and tests"
# -O1 -g1 (line tables only): sanitizer reports keep file:line, and the build compiles in
# less than half the time of -O2 -g on 2 cores.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOPSLEDGER_SANITIZE=ON \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
  -DOPSLEDGER_BUILD_BENCHMARKS=OFF >/dev/null
ninja -C build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest -LE long --output-on-failure -j"$jobs")

fuzz_seconds="${OPSLEDGER_FUZZ_SECONDS:-20}"
if [ "$fuzz_seconds" -gt 0 ]; then
  echo "== Fuzzing: each libFuzzer target for $fuzz_seconds s (clang, ASan, UBSan; build-fuzz)"
  sh scripts/fuzz.sh "$fuzz_seconds" || [ $? -eq 77 ]
fi
