#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what is missing, starts a real single-node
# Apache Kafka broker on 127.0.0.1, runs formatting, lint and every test, and stops the broker.
#
#   scripts/test.sh            everything
#   scripts/test.sh -- ARGS    extra arguments for `cargo test`
#
# Environment: PATCHLINE_KAFKA_PORT (default 39092) picks the broker port (see
# scripts/ensure-tools.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '[test.sh] %s\n' "$*" >&2; }

# shellcheck source=scripts/ensure-tools.sh
. scripts/ensure-tools.sh
rustup component list --installed 2>/dev/null | grep -q rustfmt || rustup component add rustfmt clippy

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
