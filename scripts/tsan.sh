#!/bin/sh
# The default test suite under ThreadSanitizer, in a build of its own (build-tsan): for
# changes to the engine's threads (group commit, the snapshot thread, parsing and decoding
# ahead). Not part of scripts/test.sh: the build and the run take about ten minutes more on
# the 2-core machine. The examples (PHP and Python cannot load a ThreadSanitizer library)
# and the benchmarks are not built, so their tests do not run. Reports of the `opsledger`
# processes the tests start (whose stderr the tests discard) are written under
# build-tsan/tsan-reports and fail the run too.
set -eu
cd "$(dirname "$0")/.."
sh scripts/ensure-deps.sh
jobs="${OPSLEDGER_JOBS:-2}"
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOPSLEDGER_TSAN=ON \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
  -DOPSLEDGER_BUILD_BENCHMARKS=OFF -DOPSLEDGER_BUILD_EXAMPLES=OFF >/dev/null
ninja -C build-tsan -j"$jobs"
reports="$(pwd)/build-tsan/tsan-reports"
rm -rf "$reports"
mkdir -p "$reports"
rc=0
(cd build-tsan && TSAN_OPTIONS="second_deadlock_stack=1 log_path=$reports/report" \
  ctest -LE long --output-on-failure -j"$jobs") || rc=$?
if [ -n "$(ls -A "$reports")" ]; then
  echo "ThreadSanitizer reported (files in $reports):"
  cat "$reports"/*
  rc=1
fi
exit "$rc"
