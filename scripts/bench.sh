#!/usr/bin/env bash
# Runs every workload of BENCHMARKS.md, one JSON line each, into bench-results.jsonl.
# The first run builds RocksDB in release mode (about 11 minutes on 2 cores). The
# PostgreSQL rows start a throwaway server (scripts/postgres.sh) and stop it at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
out=bench-results.jsonl
: > "$out"
run() {
    echo "workloads -- $*" >&2
    cargo bench --quiet --bench workloads -- "$@" | tee -a "$out"
}
run rocks-ceiling
run rocks-ceiling --sync
for n in 10 100 1000 2000 10000; do run chain --n "$n"; done
run many --m 10000 --n 5
run fanout --n 10000
run latency --n 2000
run latency --n 1000
run for-vec --n 100
run for-vec --n 10000 --runs 3
run chain --n 1000 --sync
run many --m 2000 --n 5 --sync
run many --m 2000 --n 5 --sync --workers 64
run chain --n 10000 --store memory
run many --m 10000 --n 5 --store memory
run fanout --n 10000 --store memory
run suspended --m 1000000 --sample 1000
run chain --n 1000 --idle 200000 --runs 3
run events --m 100000 --runs 3
run list --m 1000000 --runs 1
run payload

# PostgreSQL: a throwaway server with its default durability (fsync on), started afresh
scripts/postgres.sh stop
url="$(scripts/postgres.sh start)"
trap 'scripts/postgres.sh stop' EXIT
run postgres-ceiling --store postgres --postgres "$url"
for workers in 1 2 4; do
    pg=(--store postgres --postgres "$url" --workers "$workers" --runs 3)
    run chain --n 2000 "${pg[@]}"
    run many --m 10000 --n 5 "${pg[@]}"
    run fanout --n 10000 "${pg[@]}"
    run latency --n 1000 "${pg[@]}"
done
