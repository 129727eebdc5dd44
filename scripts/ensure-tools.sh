# Sourced by scripts/test.sh and scripts/bench.sh: installs what a fresh machine lacks to build
# patchline (C toolchain, cmake for librdkafka) and, unless PATCHLINE_NO_KAFKA=1, to run the
# Kafka broker (JDK, Maven), and exports the broker address the tests and benchmarks use.
#
# Environment: PATCHLINE_KAFKA_PORT (default 39092) picks the broker port, so a broker a developer
# runs on 9092 is left alone.

need_apt=()
if [ "${PATCHLINE_NO_KAFKA:-0}" != 1 ]; then
  command -v java >/dev/null || need_apt+=(default-jdk-headless)
  command -v mvn >/dev/null || need_apt+=(maven)
fi
command -v make >/dev/null || need_apt+=(make)
command -v cc >/dev/null || need_apt+=(build-essential)
command -v cmake >/dev/null || need_apt+=(cmake)
if [ "${#need_apt[@]}" -gt 0 ]; then
  printf '[ensure-tools] installing %s\n' "${need_apt[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi
if ! command -v cargo >/dev/null; then
  printf '[ensure-tools] cargo not found: install Rust with rustup (https://rustup.rs) and re-run\n' >&2
  exit 1
fi

export PATCHLINE_KAFKA_PORT="${PATCHLINE_KAFKA_PORT:-39092}"
export PATCHLINE_KAFKA_BROKERS="127.0.0.1:${PATCHLINE_KAFKA_PORT}"
export PATCHLINE_KAFKA_DIR="${PATCHLINE_KAFKA_DIR:-$PWD/.kafka}"
