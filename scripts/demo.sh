#!/bin/sh
# Quick start 1: install what is missing, build, and run the demo on ./opsledger-demo-db.
set -eu
cd "$(dirname "$0")/.."
sh scripts/ensure-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build -j2 opsledger_cli
exec build/cli/opsledger demo --db "${1:-opsledger-demo-db}" --fresh
