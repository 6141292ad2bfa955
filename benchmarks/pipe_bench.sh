#!/bin/sh
# SPEC section 14's pipe goal, as whole processes: `opsledger apply` (durable) fed the
# fleet's setup and STARTS start lines over 10,000 identities through a pipe, against the
# SQLite peer process (`opsledger_bench --child sqlite-apply`: WAL, synchronous=FULL, the
# platform's schema, transactions of 1,000 lines) fed the same bytes the same way.
#
#   benchmarks/pipe_bench.sh [BUILD_DIR [STARTS]]      (defaults: build 200000)
#
# Prints decisions per second for both and the ratio engine/sqlite (SPEC 14: at least 1,
# the goal 2). The same measurement is the PIPE workload of opsledger_bench.
set -eu

build=${1:-build}
starts=${2:-200000}
bench="$build/benchmarks/opsledger_bench"
cli="$build/cli/opsledger"
for exe in "$bench" "$cli"; do
  [ -x "$exe" ] || { echo "pipe_bench.sh: $exe not found (build first)" >&2; exit 2; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/opsledger-pipe-bench-XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
"$bench" --emit-pipe-input "$starts" "$tmp/input.jsonl"

now_ns() { date +%s%N; }

# Runs "$@" fed from the input file through a pipe; prints "seconds decisions".
timed() {
  out="$1"
  shift
  t0=$(now_ns)
  cat "$tmp/input.jsonl" | "$@" > "$out" || true
  t1=$(now_ns)
  decisions=$(grep -c '"decision"' "$out" || true)
  echo "$t0 $t1 $decisions" | awk '{ printf "%.3f %d\n", ($2 - $1) / 1e9, $3 }'
}

set -- $(timed "$tmp/engine.out" "$cli" apply --db "$tmp/engine-db")
engine_s=$1 engine_n=$2
set -- $(timed "$tmp/sqlite.out" "$bench" --child sqlite-apply "$tmp/platform.db")
sqlite_s=$1 sqlite_n=$2

awk -v es="$engine_s" -v en="$engine_n" -v ss="$sqlite_s" -v sn="$sqlite_n" -v n="$starts" 'BEGIN {
  er = en / es; sr = sn / ss;
  printf "starts: %d\n", n;
  printf "engine (opsledger apply, durable): %d decisions in %.3f s = %.0f decisions/s\n", en, es, er;
  printf "sqlite (batches of 1,000, FULL):   %d decisions in %.3f s = %.0f decisions/s\n", sn, ss, sr;
  printf "engine/sqlite: %.2fx (SPEC 14: at least 1.00x, goal 2.00x)\n", er / sr;
  if (en != n || sn != n) { print "pipe_bench.sh: not every start was decided" > "/dev/stderr"; exit 1 }
}'
