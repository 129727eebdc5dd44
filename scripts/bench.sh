#!/usr/bin/env bash
# Benchmarks of issue 7 (see BENCHMARKS.md): builds the benchmark examples in release, runs the
# CPU-only ones (bench_state, bench_pipeline, the criterion benches of patchline-processors),
# then starts a real single-node Apache Kafka broker on 127.0.0.1 the way scripts/test.sh does,
# runs the Kafka ones (bench_restore, bench_kafka, bench_latency) against it and stops it.
#
#   scripts/bench.sh                      everything: G4 and G5 at 1M assets / 1M keys, the rest
#                                         at their own defaults, 3 runs each (about 25 min)
#   scripts/bench.sh --assets 200000      a quick G4/G5 run (also sets the restore keys to 200000,
#                                         and the corpus of bench_pipeline and bench_kafka)
#   BENCH_ONLY=pipeline,learn scripts/bench.sh
#
# Flags go to bench_state, bench_restore, bench_pipeline and bench_kafka: --assets N,
# --findings F (per asset), --runs R, --keys K, --seed S. bench_latency takes --runs and its own
# flags from BENCH_LATENCY_ARGS (e.g. "--probes 5000 --rate 20000").
# Output is teed to target/bench/<name>-<UTC stamp>.txt, with a copy of the latest run in
# target/bench/<name>.txt; the last lines of each hold its JSON and its summary lines.
#
# Environment: PATCHLINE_KAFKA_PORT (default 39092) picks the broker port, so a broker a developer
# runs on 9092 is left alone; BENCH_ONLY is a comma-separated subset of
# state,restore,pipeline,learn,stages,kafka,latency (default: all).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '[bench.sh] %s\n' "$*" >&2; }

all="state,restore,pipeline,learn,stages,kafka,latency"
only="${BENCH_ONLY:-$all}"
for b in ${only//,/ }; do
  case ",$all," in
    *",$b,"*) ;;
    *) log "BENCH_ONLY: unknown benchmark $b (known: $all)"; exit 2 ;;
  esac
done
wants() { case ",$only," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
needs_kafka=0
for b in restore kafka latency; do wants "$b" && needs_kafka=1; done

[ "$needs_kafka" = 0 ] && export PATCHLINE_NO_KAFKA=1
# shellcheck source=scripts/ensure-tools.sh
. scripts/ensure-tools.sh

out=target/bench
mkdir -p "$out"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"

log "building the benchmarks (release)"
cargo build --release -p patchline-topology --example bench_state --example bench_restore \
  --example bench_pipeline --example bench_kafka --example bench_latency
cargo bench -p patchline-processors --no-run

tee_to() {
  local name="$1"
  local file="$out/$name-$stamp.txt"
  log "$name: $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB, load $(cut -d' ' -f1 /proc/loadavg); output in $file"
  tee "$file"
  cp "$file" "$out/$name.txt"
}

run_example() {
  local name="$1"; shift
  cargo run -q --release -p patchline-topology --example "bench_$name" -- "$@" | tee_to "$name"
}

run_criterion() {
  local name="$1"
  cargo bench -q -p patchline-processors --bench "$name" 2>&1 | tee_to "$name"
}

# The CPU-only benchmarks need no broker: run them first, with nothing else on the machine.
wants state && run_example state "$@"
wants pipeline && run_example pipeline "$@"
wants learn && run_criterion learn
wants stages && run_criterion stages
if [ "$needs_kafka" = 1 ]; then
  docker/kafka.sh start
  trap 'docker/kafka.sh stop' EXIT
  wants restore && run_example restore "$@"
  wants kafka && run_example kafka "$@"
  # shellcheck disable=SC2086
  wants latency && run_example latency ${BENCH_LATENCY_ARGS:-}
fi
log "done; results in $out"
grep -h -E '^G[0-9]+b? [a-z0-9_]+=' "$out"/{state,restore,pipeline,learn,kafka,latency}.txt 2>/dev/null || true
