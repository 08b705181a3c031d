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

# tests/durable_functions.rs drives the HTTP API with Durable Functions' Node.js client
# (its packages from the npm registry, `npm ci` by the test): Node.js and npm, from
# Debian's packages when the machine has no Node.js (one it has brings its own npm).
if ! command -v node >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "test: installing nodejs and npm (for Durable Functions' client in tests/durable_functions.rs)"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm \
    || { $sudo apt-get update -q && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm; }
fi

# tests/dashboard.rs drives the dashboard in a real browser: Debian's Chromium, headless,
# through Debian's chromedriver. Nothing downloads a browser of its own.
if ! command -v chromedriver >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "test: installing chromium and chromium-driver (for the browser test in tests/dashboard.rs)"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver \
    || { $sudo apt-get update -q && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; }
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
cargo test --workspace --features durable/postgres,durable/opentelemetry
