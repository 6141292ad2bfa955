#!/bin/sh
# Installs the Debian 12 packages opsledger builds and tests with, when any is missing.
# Run as root (or with sudo). Safe to run again: it installs nothing when all are present.
set -eu
PACKAGES="g++ cmake ninja-build pkg-config python3 \
  libboost1.81-dev libboost-serialization1.81-dev libboost-json1.81-dev \
  liblmdb-dev lmdb-utils libcereal-dev libxxhash-dev catch2 libssl-dev libbenchmark-dev libsqlite3-dev libpq-dev \
  ${OPSLEDGER_EXTRA_PACKAGES:-}"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing:$missing" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >&2
fi
