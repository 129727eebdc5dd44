#!/usr/bin/env bash
# Memory and restore benchmarks (see BENCHMARKS.md): builds the examples in release, runs
# bench_state (no Kafka), then starts a real single-node Apache Kafka broker on 127.0.0.1 the way
# scripts/test.sh does, runs bench_restore against it and stops the broker.
#
#   scripts/bench.sh                      the full run: 1M assets, 1M keys, 3 runs each
#   scripts/bench.sh --assets 200000      a quick run (also sets the restore keys to 200000)
#   scripts/bench.sh --keys 500000 --runs 5
#
# Flags go to both examples: --assets N, --findings F (per asset), --runs R, --keys K, --seed S.
# Output is teed to target/bench/{state,restore}-<UTC stamp>.txt, with copies of the latest run
# in target/bench/{state,restore}.txt; the last line of each is JSON.
#
# Environment: PATCHLINE_KAFKA_PORT (default 39092) picks the broker port, so a broker a developer
# runs on 9092 is left alone; BENCH_ONLY=state or BENCH_ONLY=restore runs one of the two.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '[bench.sh] %s\n' "$*" >&2; }

only="${BENCH_ONLY:-}"
case "$only" in
  "" | state | restore) ;;
  *) log "BENCH_ONLY must be state or restore"; exit 2 ;;
esac

[ "$only" = state ] && export PATCHLINE_NO_KAFKA=1
# shellcheck source=scripts/ensure-tools.sh
. scripts/ensure-tools.sh

out=target/bench
mkdir -p "$out"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"

log "building the benchmarks (release)"
cargo build --release -p patchline-topology --example bench_state --example bench_restore

run_example() {
  local name="$1"; shift
  local file="$out/$name-$stamp.txt"
  log "$name: $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB; output in $file"
  cargo run -q --release -p patchline-topology --example "bench_$name" -- "$@" | tee "$file"
  cp "$file" "$out/$name.txt"
}

# The state benchmark needs no broker: run it first, with nothing else on the machine.
if [ "$only" != restore ]; then
  run_example state "$@"
fi
if [ "$only" != state ]; then
  docker/kafka.sh start
  trap 'docker/kafka.sh stop' EXIT
  run_example restore "$@"
fi
log "done; results in $out"
