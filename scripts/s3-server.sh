#!/usr/bin/env bash
# A real S3-compatible server (MinIO) on loopback for the raw zone: local development and tests.
#
#   scripts/s3-server.sh install   build MinIO from the Go module proxy into .tools/bin (once; fast after)
#   scripts/s3-server.sh start     start it on 127.0.0.1:$S3_PORT, objects on disk under $S3_DATA_DIR
#   scripts/s3-server.sh stop      stop the server of $S3_PORT
#   scripts/s3-server.sh status    exit 0 when the server of $S3_PORT is running
#
# Environment (defaults are for local development only; never expose this server):
#   S3_PORT        port on 127.0.0.1 (default 9000)
#   S3_DATA_DIR    where the objects are kept (default data/s3)
#   S3_ACCESS_KEY  root access key (default dev-raw-zone)
#   S3_SECRET_KEY  root secret key, 8 characters or more (default dev-raw-zone-secret)
#   S3_BUCKETS     buckets to create on start, space-separated (default raw-zone)
#   S3_TOOLS_DIR   where the server binary and run state live (default .tools)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# MinIO publishes no semver tags, so the Go module proxy serves pseudo-versions only;
# this is the last commit the proxy has (2026-02-12), pinned.
MINIO_MODULE=github.com/minio/minio
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c

TOOLS=${S3_TOOLS_DIR:-$ROOT/.tools}
BIN=$TOOLS/bin/minio
STAMP=$TOOLS/bin/minio.version
PORT=${S3_PORT:-9000}
DATA=${S3_DATA_DIR:-$ROOT/data/s3}
ACCESS_KEY=${S3_ACCESS_KEY:-dev-raw-zone}
SECRET_KEY=${S3_SECRET_KEY:-dev-raw-zone-secret}
BUCKETS=${S3_BUCKETS-raw-zone}
RUN_DIR=$TOOLS/run
PID_FILE=$RUN_DIR/s3-$PORT.pid
LOG_FILE=$RUN_DIR/s3-$PORT.log
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
EX_NO_NETWORK=75  # EX_TEMPFAIL: the tests skip on this code only

say() { echo "s3-server: $*" >&2; }

installed() { [[ -x $BIN && -f $STAMP && $(cat "$STAMP") == "$MINIO_VERSION" ]]; }

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
    [[ -x $GO ]] || { say "needs Go 1.24 or later (set GO=/path/to/go)"; return 1; }
    mkdir -p "$TOOLS/bin"
    say "building MinIO $MINIO_VERSION from the Go module proxy into $TOOLS/bin (several minutes the first time)"
    local started=$SECONDS log
    log=$(mktemp)
    # CGO off: a static binary, as MinIO ships it. -trimpath and -s -w: a smaller, faster link.
    if ! GOBIN=$TOOLS/bin CGO_ENABLED=0 GOFLAGS=-mod=mod "$GO" install -trimpath -ldflags "-s -w" \
            "$MINIO_MODULE@$MINIO_VERSION" >"$log" 2>&1; then
        tail -n 20 "$log" >&2
        if grep -qiE 'dial tcp|no such host|i/o timeout|connection refused|network is unreachable|TLS handshake timeout|proxyconnect' "$log"; then
            rm -f "$log"
            say "cannot reach the Go module proxy to build MinIO"
            return $EX_NO_NETWORK
        fi
        rm -f "$log"
        say "building MinIO failed"
        return 1
    fi
    rm -f "$log"
    echo "$MINIO_VERSION" >"$STAMP"
    say "installed $BIN in $((SECONDS - started))s"
}

running_pid() {
    # The pid of this port's server, if it is alive and really is our MinIO (pids get reused).
    [[ -f $PID_FILE ]] || return 1
    local pid
    pid=$(cat "$PID_FILE")
    [[ -n $pid && -r /proc/$pid/cmdline ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$BIN server" || return 1
    echo "$pid"
}

responds() {
    # Any HTTP answer means the server is listening; MinIO answers 200 here once it is ready.
    local code
    code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$PORT/minio/health/ready" || true)
    [[ $code == 200 ]]
}

cmd_start() {
    installed || { say "not installed: run '$0 install' first"; return 1; }
    if pid=$(running_pid); then
        say "already running on 127.0.0.1:$PORT (pid $pid)"
        return 0
    fi
    if curl -s -o /dev/null -m 2 "http://127.0.0.1:$PORT/"; then
        say "port $PORT on 127.0.0.1 is taken by another program: set S3_PORT"
        return 1
    fi
    (( ${#SECRET_KEY} >= 8 )) || { say "S3_SECRET_KEY must have 8 characters or more"; return 1; }
    mkdir -p "$DATA" "$RUN_DIR"
    # MinIO (single drive) takes every top-level folder of its drive as a bucket.
    for bucket in $BUCKETS; do
        mkdir -p "$DATA/$bucket"
    done
    # Loopback only; no web console, no update checks, no call-home, no secrets in the log: a plain S3 endpoint.
    MINIO_ROOT_USER=$ACCESS_KEY MINIO_ROOT_PASSWORD=$SECRET_KEY MINIO_BROWSER=off MINIO_UPDATE=off \
        MINIO_CALLHOME_ENABLE=off \
        nohup "$BIN" server --quiet --anonymous --address "127.0.0.1:$PORT" "$DATA" \
        >"$LOG_FILE" 2>&1 </dev/null &
    echo $! >"$PID_FILE"
    local pid=$! tries=0
    until responds; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "$LOG_FILE" >&2
            rm -f "$PID_FILE"
            say "the server exited at start (log: $LOG_FILE)"
            return 1
        fi
        if (( ++tries > 300 )); then
            kill -TERM "$pid"
            rm -f "$PID_FILE"
            say "not ready after 30s, stopped it (log: $LOG_FILE)"
            return 1
        fi
        sleep 0.1
    done
    say "running on http://127.0.0.1:$PORT (pid $pid), objects under $DATA"
    local secret='$S3_SECRET_KEY'
    [[ -n ${S3_SECRET_KEY:-} ]] || secret=$SECRET_KEY  # only the dev default is ever printed
    say "use it: export RAW_ZONE_URL=s3://${BUCKETS%% *} AWS_ENDPOINT_URL=http://127.0.0.1:$PORT" \
        "AWS_ACCESS_KEY_ID=$ACCESS_KEY AWS_SECRET_ACCESS_KEY=$secret AWS_REGION=us-east-1"
}

cmd_stop() {
    local pid
    if ! pid=$(running_pid); then
        rm -f "$PID_FILE"
        say "not running on port $PORT"
        return 0
    fi
    kill -TERM "$pid"
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid"
    fi
    rm -f "$PID_FILE" "$LOG_FILE"
    say "stopped (pid $pid)"
}

cmd_status() {
    local pid
    if pid=$(running_pid); then
        echo "running on http://127.0.0.1:$PORT (pid $pid)"
    else
        echo "not running on port $PORT"
        return 3
    fi
}

case ${1:-} in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
