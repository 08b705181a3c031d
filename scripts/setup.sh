#!/usr/bin/env bash
# Installs what a fresh machine lacks to build durable: libclang for the rocksdb
# crate's bindgen (a C++ compiler is assumed present).
set -euo pipefail

if ! dpkg -s libclang-dev >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "setup: installing libclang-dev (needed to build RocksDB bindings)"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q libclang-dev \
    || { $sudo apt-get update -q && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q libclang-dev; }
fi
