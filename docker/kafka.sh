#!/usr/bin/env bash
# Single-node Apache Kafka (KRaft) on 127.0.0.1 for tests, benchmarks and local runs.
#
#   docker/kafka.sh fetch    resolve the broker jars from Maven Central (reused when present)
#   docker/kafka.sh start    format a fresh log directory, start the broker, wait until it answers
#   docker/kafka.sh stop     stop the broker cleanly (SIGTERM, then wait)
#   docker/kafka.sh status   exit 0 when the broker answers
#
# Environment:
#   PATCHLINE_KAFKA_DIR   working directory (jars; per-port logs, data, pid)  default: <repo>/.kafka
#   PATCHLINE_KAFKA_PORT  client listener port                 default: 9092
#   KAFKA_VERSION         broker version from Maven Central    default: the one in docker/pom.xml
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
work="${PATCHLINE_KAFKA_DIR:-$repo/.kafka}"
port="${PATCHLINE_KAFKA_PORT:-9092}"
controller_port=$((port + 1))
lib="$work/lib"
# Each port gets its own state, so two brokers (a developer's and the tests') never share files.
state="$work/broker-$port"
pidfile="$state/broker.pid"

log() { printf '[kafka.sh] %s\n' "$*" >&2; }

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

fetch() {
  if [ -f "$lib/.complete" ]; then
    return 0
  fi
  command -v mvn >/dev/null || { log "mvn not found: install Maven (apt-get install maven)"; exit 1; }
  command -v java >/dev/null || { log "java not found: install a JDK 17+"; exit 1; }
  mkdir -p "$lib"
  local version_flag=()
  [ -n "${KAFKA_VERSION:-}" ] && version_flag=("-Dkafka.version=$KAFKA_VERSION")
  log "resolving the Kafka broker from Maven Central into $lib"
  mvn -q -B -f "$here/pom.xml" "${version_flag[@]}" dependency:copy-dependencies \
    -DoutputDirectory="$lib" -DincludeScope=runtime
  touch "$lib/.complete"
}

write_config() {
  mkdir -p "$state/data" "$state/logs"
  cat >"$state/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$state/data
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
message.max.bytes=2097152
EOF
  cat >"$state/log4j2.properties" <<EOF
appender.file.type = File
appender.file.name = file
appender.file.fileName = $state/logs/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
EOF
}

java_cmd() {
  java -Xms256m -Xmx1g -XX:+UseG1GC \
    -Dlog4j2.configurationFile="$state/log4j2.properties" \
    -cp "$lib/*" "$@"
}

start() {
  fetch
  if port_open "$port"; then
    log "something already listens on 127.0.0.1:$port; stop it first (docker/kafka.sh stop)"
    exit 1
  fi
  rm -rf "$state"
  write_config
  local cluster_id
  cluster_id="$(java_cmd kafka.tools.StorageTool random-uuid | tail -n 1)"
  java_cmd kafka.tools.StorageTool format --standalone -t "$cluster_id" \
    -c "$state/server.properties" >"$state/logs/format.log" 2>&1 ||
    { cat "$state/logs/format.log" >&2; exit 1; }
  nohup java -Xms256m -Xmx1g -XX:+UseG1GC \
    -Dlog4j2.configurationFile="$state/log4j2.properties" \
    -cp "$lib/*" kafka.Kafka "$state/server.properties" \
    >"$state/logs/stdout.log" 2>&1 &
  echo $! >"$pidfile"
  local waited=0
  until port_open "$port" && grep -q "Kafka Server started" "$state/logs/server.log" 2>/dev/null; do
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      log "broker exited during start; last lines:"
      tail -n 30 "$state/logs/stdout.log" "$state/logs/server.log" >&2 || true
      exit 1
    fi
    sleep 0.5
    waited=$((waited + 1))
    if [ "$waited" -gt 240 ]; then
      log "broker did not answer within 120 s"
      stop
      exit 1
    fi
  done
  log "broker up on 127.0.0.1:$port (pid $(cat "$pidfile"), logs in $state/logs)"
}

stop() {
  [ -f "$pidfile" ] || { log "no broker pid file; nothing to stop"; return 0; }
  local pid
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 60); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "broker did not stop within 30 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$pidfile"
  log "broker stopped"
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  status) port_open "$port" ;;
  *)
    echo "usage: $0 fetch|start|stop|status" >&2
    exit 2
    ;;
esac
