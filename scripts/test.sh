#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what is missing, starts a real single-node
# Apache Kafka broker on 127.0.0.1, runs formatting, lint and every test, and stops the broker.
#
#   scripts/test.sh            everything
#   scripts/test.sh -- ARGS    extra arguments for `cargo test`
#
# Environment: PATCHLINE_KAFKA_PORT (default 39092) picks the broker port, so a broker a developer
# runs on 9092 is left alone.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '[test.sh] %s\n' "$*" >&2; }

need_apt=()
command -v java >/dev/null || need_apt+=(default-jdk-headless)
command -v mvn >/dev/null || need_apt+=(maven)
command -v make >/dev/null || need_apt+=(make)
command -v cc >/dev/null || need_apt+=(build-essential)
command -v cmake >/dev/null || need_apt+=(cmake)
if [ "${#need_apt[@]}" -gt 0 ]; then
  log "installing ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi
if ! command -v cargo >/dev/null; then
  log "cargo not found: install Rust with rustup (https://rustup.rs) and re-run"
  exit 1
fi
rustup component list --installed 2>/dev/null | grep -q rustfmt || rustup component add rustfmt clippy

export PATCHLINE_KAFKA_PORT="${PATCHLINE_KAFKA_PORT:-39092}"
export PATCHLINE_KAFKA_BROKERS="127.0.0.1:${PATCHLINE_KAFKA_PORT}"
export PATCHLINE_KAFKA_DIR="${PATCHLINE_KAFKA_DIR:-$PWD/.kafka}"

docker/kafka.sh start
trap 'docker/kafka.sh stop' EXIT

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
log "cargo test (real Kafka at $PATCHLINE_KAFKA_BROKERS)"
shift_args=()
if [ "${1:-}" = "--" ]; then shift; shift_args=("$@"); fi
cargo test --workspace --all-targets "${shift_args[@]}"
log "all tests passed"
