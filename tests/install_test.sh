#!/bin/sh
# Installs opsledger from a build tree into a temporary prefix, then builds consumers
# against the installed package only: examples/cpp_service with CMake find_package, and a
# C11 and a C++ program with pkg-config. Runs each and checks its output.
#   install_test.sh BUILD_DIR SOURCE_DIR C_COMPILER CXX_COMPILER [EXTRA_FLAGS]
set -eu
build=$1
src=$2
cc=$3
cxx=$4
extra=${5:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/opsledger-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"

fail() {
  echo "FAIL: $*"
  exit 1
}

echo "== cmake --install into $prefix"
cmake --install "$build" --prefix "$prefix" >"$work/install.log" || { cat "$work/install.log"; fail "install"; }

lib=$(find "$prefix" -name 'libopsledger.so' | head -n 1)
[ -n "$lib" ] || fail "no libopsledger.so installed"
libdir=$(dirname "$lib")
[ -L "$lib" ] || fail "libopsledger.so is not the development symlink"
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
echo "soname: $soname"
case "$soname" in libopsledger.so.[0-9]*) ;; *) fail "unversioned soname '$soname'" ;; esac
[ -e "$libdir/$soname" ] || fail "$soname is not installed"
for h in engine.h status.h opsledger.h; do
  [ -f "$prefix/include/opsledger/$h" ] || fail "include/opsledger/$h is not installed"
done
for f in opsledgerConfig.cmake opsledgerConfigVersion.cmake opsledgerTargets.cmake; do
  [ -f "$libdir/cmake/opsledger/$f" ] || fail "cmake/opsledger/$f is not installed"
done
# The library links Boost, LMDB, OpenSSL and xxHash privately: the package must neither look for
# them nor hand them to consumers. (IMPORTED_LINK_DEPENDENT_LIBRARIES may name them: CMake
# uses it only to find a shared library's own dependencies at link time.)
if grep -E 'find_dependency|find_package' "$libdir"/cmake/opsledger/*.cmake | grep -v '^[^:]*:#'; then
  fail "the CMake package looks for dependencies"
fi
if grep -E 'INTERFACE_LINK_LIBRARIES.*(Boost|LMDB|OpenSSL|lmdb|crypto|XXHASH|xxhash)' "$libdir"/cmake/opsledger/*.cmake; then
  fail "the CMake package hands a private dependency to consumers"
fi
[ -f "$libdir/pkgconfig/opsledger.pc" ] || fail "opsledger.pc is not installed"
"$prefix/bin/opsledger" --help >/dev/null || fail "the installed tool does not run"
printf '{"cmd":"state_digest"}\n' | "$prefix/bin/opsledger" apply --db "$work/tool-db" --nosync \
  | grep -q '"digest"' || fail "the installed tool does not answer"
echo "installed layout ok"

echo "== CMake consumer (find_package(opsledger)): examples/cpp_service"
cmake -S "$src/examples/cpp_service" -B "$work/service-build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_FLAGS="$extra" \
  >"$work/service-cmake.log" 2>&1 || { cat "$work/service-cmake.log"; fail "configure the consumer"; }
grep -q "opsledger_DIR:PATH=$libdir/cmake/opsledger" "$work/service-build/CMakeCache.txt" \
  || fail "the consumer did not find the installed package"
cmake --build "$work/service-build" >"$work/service-build.log" 2>&1 || { cat "$work/service-build.log"; fail "build the consumer"; }
"$work/service-build/opsledger_example_service" "$work/service-db" --nosync >"$work/service.out" \
  || { cat "$work/service.out"; fail "the consumer failed"; }
cat "$work/service.out"
grep -q "clicks accepted: 3" "$work/service.out" || fail "consumer output"
grep -q "runs completed: 3" "$work/service.out" || fail "consumer output"

echo "== pkg-config consumers"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
pkg-config --exists opsledger || fail "pkg-config does not find opsledger"
cflags=$(pkg-config --cflags opsledger)
libs=$(pkg-config --libs opsledger)
echo "pkg-config: $cflags $libs (version $(pkg-config --modversion opsledger))"
[ "$(pkg-config --variable=libdir opsledger)" -ef "$libdir" ] || fail "opsledger.pc names the wrong libdir"
# shellcheck disable=SC2086
"$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror $extra $cflags "$src/tests/install_consumer/consumer.c" $libs \
  -o "$work/consumer_c" || fail "compile the C consumer"
# shellcheck disable=SC2086
"$cxx" -std=c++20 -Wall -Wextra -Wpedantic -Werror $extra $cflags "$src/tests/install_consumer/consumer.cpp" $libs \
  -o "$work/consumer_cpp" || fail "compile the C++ consumer"
LD_LIBRARY_PATH="$libdir" "$work/consumer_c" "$work/c-db" >"$work/c.out" || { cat "$work/c.out"; fail "the C consumer failed"; }
cat "$work/c.out"
grep -q '^answer {"ok":true,"seq":' "$work/c.out" || fail "C consumer output"
grep -q '"type":"workspace_registered"' "$work/c.out" || fail "C consumer events"
grep -q '^waited for snapshots rc 0' "$work/c.out" || fail "C consumer snapshots"
LD_LIBRARY_PATH="$libdir" "$work/consumer_cpp" "$work/cpp-db" >"$work/cpp.out" || fail "the C++ consumer failed"
cat "$work/cpp.out"
grep -q '"digest":' "$work/cpp.out" || fail "C++ consumer output"
echo "PASS"
