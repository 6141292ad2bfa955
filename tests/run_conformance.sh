#!/bin/sh
# Runs ../shared/conformance/run.py against the built CLI; exit 77 (skipped) without the kit.
runner="$1"; cli="$2"
if [ ! -f "$runner" ]; then echo "conformance kit not found at $runner: skipped"; exit 77; fi
exec python3 "$runner" "$cli"
