#!/usr/bin/env bash
# A real single-node Apache Kafka broker (KRaft: broker and controller in one JVM) on loopback,
# for local development and tests. The jars come from Maven Central (scripts/kafka/pom.xml).
#
#   scripts/kafka/kafka.sh install                      copy the broker's jars into .tools/kafka/libs (once; fast after)
#   scripts/kafka/kafka.sh start                        format the storage once, start the broker, wait until it answers
#   scripts/kafka/kafka.sh stop                         SIGTERM (controlled shutdown), SIGKILL after $KAFKA_STOP_TIMEOUT s
#   scripts/kafka/kafka.sh restart                      stop, then start on the same data (broker-restart tests)
#   scripts/kafka/kafka.sh status                       exit 0 when the broker of $KAFKA_DATA_DIR runs and answers
#   scripts/kafka/kafka.sh topics create NAME PARTITIONS   create a topic (replication factor 1; no-op if it exists)
#   scripts/kafka/kafka.sh topics list|describe [NAME]
#
# Environment (defaults are for local development only; never expose this broker):
#   KAFKA_PORT           client port on 127.0.0.1 (default 9092); the controller listens on KAFKA_PORT+1
#   KAFKA_CONTROLLER_PORT  controller port on 127.0.0.1 (default KAFKA_PORT+1)
#   KAFKA_DATA_DIR       one broker's home: its KRaft log dirs, config, pid file and log (default .tools/kafka/data)
#   KAFKA_HEAP           JVM heap flags (default "-Xmx512m -Xms256m"; the machine is small)
#   KAFKA_OPTS           more JVM flags for the broker (default none)
#   KAFKA_JAVA           the java to run (default $JAVA_HOME/bin/java, else java on PATH; needs Java 17+)
#   KAFKA_TOOLS_DIR      where the jars are installed (default .tools/kafka)
#   KAFKA_START_TIMEOUT  seconds to wait for the broker to answer (default 120)
#   KAFKA_STOP_TIMEOUT   seconds to wait after SIGTERM before SIGKILL (default 30)
#
# Exit codes: 0 ok, 1 failure, 2 usage, 3 not running (status), 75 Maven Central unreachable (install).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
POM=$ROOT/scripts/kafka/pom.xml
# A fixed cluster id (base64 of "studentbehavior1"): the same data dir always formats the same way.
CLUSTER_ID=c3R1ZGVudGJlaGF2aW9yMQ
NODE_ID=1

TOOLS=${KAFKA_TOOLS_DIR:-$ROOT/.tools/kafka}
LIBS=$TOOLS/libs
STAMP=$LIBS/.installed
PORT=${KAFKA_PORT:-9092}
CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-$((PORT + 1))}
DATA=${KAFKA_DATA_DIR:-$ROOT/.tools/kafka/data}
HEAP=${KAFKA_HEAP:--Xmx512m -Xms256m}
START_TIMEOUT=${KAFKA_START_TIMEOUT:-120}
STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-30}
EX_NO_NETWORK=75  # EX_TEMPFAIL: the tests skip on this code only

mkdir -p "$(dirname "$DATA")"
DATA=$(cd "$(dirname "$DATA")" && pwd)/$(basename "$DATA")
LOG_DIRS=$DATA/kraft
CONFIG=$DATA/server.properties
LOG4J=$DATA/log4j2.properties
PID_FILE=$DATA/broker.pid
LOG_FILE=$DATA/broker.log

say() { echo "kafka: $*" >&2; }

pom_hash() { sha256sum "$POM" | cut -d' ' -f1; }

installed() { [[ -f $STAMP && $(cat "$STAMP") == "$(pom_hash)" ]]; }

cmd_install() {
    if installed; then
        return 0
    fi
    # Two callers at once (parallel test workers) would install over each other: the second waits
    # for the first and then finds the tools installed.
    mkdir -p "$TOOLS"
    exec 9>"$TOOLS/.install.lock"
    flock 9
    if installed; then
        return 0
    fi
    command -v mvn >/dev/null || { say "needs Maven (mvn) to fetch the broker's jars from Maven Central"; return 1; }
    local started=$SECONDS log tmp
    log=$(mktemp)
    tmp=$TOOLS/libs.tmp.$$
    rm -rf "$tmp"
    mkdir -p "$TOOLS"
    say "copying the broker's jars from Maven Central (via ~/.m2) into $LIBS"
    if ! mvn -B -q -f "$POM" dependency:copy-dependencies -DoutputDirectory="$tmp" >"$log" 2>&1; then
        tail -n 20 "$log" >&2
        rm -rf "$tmp"
        if grep -qiE 'Could not transfer|UnknownHost|Unknown host|Connection refused|timed out|Network is unreachable|No route to host' "$log"; then
            rm -f "$log"
            say "cannot reach Maven Central to fetch the broker's jars"
            return $EX_NO_NETWORK
        fi
        rm -f "$log"
        say "copying the jars failed"
        return 1
    fi
    rm -f "$log"
    # Swap whole: jars of a previous version must not stay on the class path.
    rm -rf "$LIBS"
    mv "$tmp" "$LIBS"
    pom_hash >"$STAMP"
    say "installed $(find "$LIBS" -name '*.jar' | wc -l) jars in $((SECONDS - started))s"
}

java_major() {
    # 17 for 'openjdk version "17.0.15"', 8 for '"1.8.0_412"'.
    local v
    v=$("$1" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n 1)
    v=${v#1.}
    echo "${v%%[.+-]*}"
}

find_java() {
    local candidates=() java major
    [[ -n ${KAFKA_JAVA:-} ]] && candidates+=("$KAFKA_JAVA")
    [[ -n ${JAVA_HOME:-} ]] && candidates+=("$JAVA_HOME/bin/java")
    command -v java >/dev/null && candidates+=("$(command -v java)")
    for java in "${candidates[@]}" /usr/lib/jvm/*/bin/java; do
        [[ -x $java ]] || continue
        major=$(java_major "$java")
        if [[ $major =~ ^[0-9]+$ ]] && (( major >= 17 )); then
            echo "$java"
            return 0
        fi
    done
    say "needs Java 17 or later (set KAFKA_JAVA=/path/to/java)"
    return 1
}

running_pid() {
    # The pid of this data dir's broker, if it is alive and really is that broker (pids get reused).
    [[ -f $PID_FILE ]] || return 1
    local pid
    pid=$(cat "$PID_FILE")
    [[ -n $pid && -r /proc/$pid/cmdline ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "kafka.Kafka $CONFIG" || return 1
    echo "$pid"
}

probe() {
    # Exit 0 when a broker on 127.0.0.1:$1 answers a Metadata request (v4) listing at least one
    # live broker: in KRaft that is once the broker has caught up and is unfenced, ready for clients.
    python3 - "$1" <<'EOF'
import socket, struct, sys

port = int(sys.argv[1])
client_id = b"kafka.sh"
# header: api_key 3 (Metadata), version 4, correlation id 7, client id; body: topics [] (none), no auto-create
request = struct.pack(">hhih", 3, 4, 7, len(client_id)) + client_id + struct.pack(">ib", 0, 0)
try:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.settimeout(2)
        sock.sendall(struct.pack(">i", len(request)) + request)

        def read(n):
            buf = b""
            while len(buf) < n:
                chunk = sock.recv(n - len(buf))
                if not chunk:
                    raise EOFError
                buf += chunk
            return buf

        (size,) = struct.unpack(">i", read(4))
        response = read(size)
except (OSError, EOFError):
    sys.exit(1)
# response: correlation id, throttle time, brokers array length, ...
correlation_id, _throttle, brokers = struct.unpack(">iii", response[:12])
sys.exit(0 if correlation_id == 7 and brokers > 0 else 1)
EOF
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

write_config() {
    mkdir -p "$LOG_DIRS"
    # Written on every start: the ports may change between starts; the data does not care
    # (a static controller quorum: its address comes from this file, not from the log).
    cat >"$CONFIG" <<EOF
# Generated by scripts/kafka/kafka.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=$NODE_ID
controller.quorum.voters=$NODE_ID@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=$LOG_DIRS
# One node: every internal topic has one replica; topics are created explicitly.
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# A small machine: fewer threads than the defaults (3 network, 8 I/O).
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
EOF
    cat >"$LOG4J" <<'EOF'
# Generated by scripts/kafka/kafka.sh: everything to stdout (the broker log file), INFO and up.
status = warn
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
EOF
}

cmd_start() {
    installed || { say "not installed: run '$0 install' first"; return 1; }
    local pid java started=$SECONDS
    if pid=$(running_pid); then
        say "already running on 127.0.0.1:$PORT (pid $pid), data in $DATA"
        return 0
    fi
    for p in "$PORT" "$CONTROLLER_PORT"; do
        if port_open "$p"; then
            say "port $p on 127.0.0.1 is taken by another program: set KAFKA_PORT"
            return 1
        fi
    done
    java=$(find_java)
    write_config
    if [[ ! -f $LOG_DIRS/meta.properties ]]; then
        say "formatting $LOG_DIRS (cluster id $CLUSTER_ID)"
        if ! "$java" -Xmx256m -Dlog4j2.configurationFile="$LOG4J" -cp "$LIBS/*" kafka.tools.StorageTool \
                format --cluster-id "$CLUSTER_ID" --config "$CONFIG" --ignore-formatted >"$DATA/format.log" 2>&1; then
            tail -n 20 "$DATA/format.log" >&2
            say "formatting the storage failed"
            return 1
        fi
    fi
    # shellcheck disable=SC2086  # KAFKA_HEAP and KAFKA_OPTS are lists of flags
    nohup "$java" $HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
        -Djava.awt.headless=true -Dlog4j2.configurationFile="$LOG4J" ${KAFKA_OPTS:-} \
        -cp "$LIBS/*" kafka.Kafka "$CONFIG" >"$LOG_FILE" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$PID_FILE"
    local deadline=$((SECONDS + START_TIMEOUT))
    until probe "$PORT"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 30 "$LOG_FILE" >&2
            rm -f "$PID_FILE"
            say "the broker exited at start (log: $LOG_FILE)"
            return 1
        fi
        if (( SECONDS >= deadline )); then
            say "no answer after ${START_TIMEOUT}s (log: $LOG_FILE); stopping it"
            cmd_stop
            return 1
        fi
        sleep 0.2
    done
    say "running on 127.0.0.1:$PORT (pid $pid, controller 127.0.0.1:$CONTROLLER_PORT), data in $DATA;" \
        "ready in $((SECONDS - started))s"
}

cmd_stop() {
    local pid
    if ! pid=$(running_pid); then
        rm -f "$PID_FILE"
        say "not running (data dir $DATA)"
        return 0
    fi
    # SIGTERM: a controlled shutdown that flushes the logs and writes clean-shutdown markers.
    kill -TERM "$pid"
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while kill -0 "$pid" 2>/dev/null && (( SECONDS < deadline )); do
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "still running after ${STOP_TIMEOUT}s: SIGKILL"
        kill -KILL "$pid"
        while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
    rm -f "$PID_FILE"
    say "stopped (pid $pid)"
}

cmd_status() {
    local pid
    if pid=$(running_pid) && probe "$PORT"; then
        echo "running on 127.0.0.1:$PORT (pid $pid), data in $DATA"
    elif [[ -n ${pid:-} ]]; then
        echo "started (pid $pid) but not answering on 127.0.0.1:$PORT (log: $LOG_FILE)"
        return 1
    else
        echo "not running (data dir $DATA)"
        return 3
    fi
}

topic_tool() {
    installed || { say "not installed: run '$0 install' first"; return 1; }
    local java
    java=$(find_java)
    "$java" -Xmx256m -XX:TieredStopAtLevel=1 -cp "$LIBS/*" org.apache.kafka.tools.TopicCommand \
        --bootstrap-server "127.0.0.1:$PORT" "$@"
}

cmd_topics() {
    case ${1:-} in
        create)
            [[ $# -eq 3 && $3 =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 topics create NAME PARTITIONS" >&2; return 2; }
            topic_tool --create --if-not-exists --topic "$2" --partitions "$3" --replication-factor 1
            ;;
        list) topic_tool --list ;;
        describe) topic_tool --describe ${2:+--topic "$2"} ;;
        *) echo "usage: $0 topics create NAME PARTITIONS | topics list | topics describe [NAME]" >&2; return 2 ;;
    esac
}

case ${1:-} in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    restart) cmd_stop && cmd_start ;;
    status) cmd_status ;;
    topics) shift; cmd_topics "$@" ;;
    *) echo "usage: $0 install|start|stop|restart|status|topics create NAME PARTITIONS" >&2; exit 2 ;;
esac
