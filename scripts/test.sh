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

cargo test --workspace --all-targets
cargo test --workspace --doc
