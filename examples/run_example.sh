#!/bin/sh
# Runs one embedding example on a fresh database and checks its story.
#   run_example.sh cpp BINARY
#   run_example.sh python SCRIPT LIBRARY
#   run_example.sh php SCRIPT LIBRARY
# Exit 77 (skipped) only when the language runtime is absent (and, for PHP, in a
# sanitizer build, where PHP cannot load an ASan-built library).
set -u
kind=$1
shift
dir=$(mktemp -d "${TMPDIR:-/tmp}/opsledger-example.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
out="$dir/out.txt"

preload() {
  # Sanitizer builds: the interpreter is not instrumented, so the ASan runtime goes first.
  if [ -n "${OPSLEDGER_PRELOAD:-}" ]; then
    LD_PRELOAD="$OPSLEDGER_PRELOAD" ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" "$@"
  else
    "$@"
  fi
}

case "$kind" in
  cpp)
    "$1" "$dir/db" --nosync >"$out" || { cat "$out"; exit 1; }
    expect="clicks accepted: 3
clicks deduped: 9
runs completed: 3
notifications for user 7: 3"
    ;;
  python)
    if ! command -v python3 >/dev/null 2>&1; then
      echo "SKIPPED: python3 is not installed; the ctypes example needs it"
      exit 77
    fi
    preload python3 "$1" --db "$dir/db" --lib "$2" --nosync >"$out" || { cat "$out"; exit 1; }
    expect="set up: 6 commands in one commit
start: accepted run 1
start again: deduped onto run 1
run 1: completed succeeded
complete again: invalid_transition
: start_decided
: run_started
: run_completed
read up to seq"
    ;;
  php)
    if ! command -v php >/dev/null 2>&1; then
      echo "SKIPPED: php is not installed (Debian: apt-get install php-cli); the FFI example needs it"
      exit 77
    fi
    if [ -n "${OPSLEDGER_SANITIZER_BUILD:-}" ]; then
      echo "SKIPPED: sanitizer build: PHP loads FFI libraries with RTLD_DEEPBIND, which ASan refuses;"
      echo "         the PHP example runs in the ordinary build"
      exit 77
    fi
    if ! php -r 'exit(class_exists("FFI") ? 0 : 1);'; then
      echo "SKIPPED: this php has no FFI extension; the FFI example needs it"
      exit 77
    fi
    preload php "$1" --db "$dir/db" --lib "$2" --nosync >"$out" || { cat "$out"; exit 1; }
    expect="start: accepted run 1 (Backup now)
run 1: completed succeeded
: run_completed
read up to seq"
    ;;
  *)
    echo "unknown example kind $kind" >&2
    exit 2
    ;;
esac

cat "$out"
status=0
echo "$expect" | while IFS= read -r line; do
  grep -qF -- "$line" "$out" || { echo "MISSING: $line"; exit 1; }
done || status=1
exit $status
