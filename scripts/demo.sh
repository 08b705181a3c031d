#!/usr/bin/env bash
# Runs the demo. The first build compiles RocksDB (about 11 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec cargo run --example demo
