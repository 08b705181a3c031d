#!/usr/bin/env bash
# Runs every test: unit, integration, property, compile-fail (trybuild) and expansion
# snapshot (macrotest) tests, and doc tests. Installs what a fresh machine lacks first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

# The expansion snapshots depend on cargo-expand's output format: pin its version.
expand_version="1.0.118"
if ! cargo expand --version 2>/dev/null | grep -q "$expand_version"; then
  echo "test: installing cargo-expand $expand_version (for the expansion snapshots)"
  cargo install --locked --version "$expand_version" cargo-expand
fi

# A throwaway PostgreSQL for the conformance suite and the PostgreSQL tests, stopped
# however the tests end. Its crash safety is traded for speed: the tests kill workers,
# never the database.
export DURABLE_TEST_POSTGRES
DURABLE_TEST_POSTGRES="$(DURABLE_PG_FSYNC=off scripts/postgres.sh start)"
trap 'scripts/postgres.sh stop' EXIT

# One invocation, one build: the default targets (libraries, integration tests, examples,
# doc tests) plus the benchmark, which `test = true` adds. Running doc tests on their own
# (`--doc`) resolves features without the dev-dependencies of the other targets, and
# that rebuilds RocksDB (about 11 minutes here). CI's clippy uses the same features.
cargo test --workspace --features durable/postgres
