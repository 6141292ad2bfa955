#!/bin/sh
# Checks the C ABI's exports: every function opsledger.h declares is exported, and every
# exported unmangled (C-linkage) symbol is named opsledger_*.
#   exported_symbols.sh LIBRARY HEADER
set -eu
lib=$1
header=$2
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TtWwiDdBbRrVv]$/ && $3 !~ /^_Z/ {print $3}' | sort)
status=0
for sym in $exported; do
  case "$sym" in
    opsledger_*) ;;
    _init | _fini | _edata | _end | __bss_start) ;;
    *) echo "exported C symbol outside the opsledger_ prefix: $sym"; status=1 ;;
  esac
done
declared=$(sed -n 's/^OPSLEDGER_API [^(]*[ *]\(opsledger_[a-z_]*\)(.*/\1/p' "$header" | sort)
[ -n "$declared" ] || { echo "no declarations found in $header"; exit 1; }
for sym in $declared; do
  echo "$exported" | grep -qx "$sym" || { echo "declared but not exported: $sym"; status=1; }
done
echo "declared:" $declared
[ $status -eq 0 ] && echo "PASS"
exit $status
