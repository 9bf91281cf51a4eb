#!/usr/bin/env bash
# Apache Superset for the dashboards, provisioned from the repository (make dashboards).
#
#   dashboards/superset.sh install          .venv-superset from dashboards/requirements.txt (once per change)
#   dashboards/superset.sh install-browser  Debian's chromium for the browser test (apt-get, as root or with sudo)
#   dashboards/superset.sh start            migrate the metadata database, create admin/admin, import
#                                           dashboards/assets, apply dashboards/security.yaml, serve
#                                           (gunicorn) on $SUPERSET_HOST:$SUPERSET_PORT and wait until it answers
#   dashboards/superset.sh stop             stop the server of start (SIGTERM, then SIGKILL after $SUPERSET_STOP_TIMEOUT s)
#   dashboards/superset.sh status           exit 0 when the server answers /health, 3 when it does not run
#   dashboards/superset.sh export           write what the UI changed back to dashboards/assets
#   dashboards/superset.sh url              print the server's address
#
# Environment: everything ingest/settings.py reads (WAREHOUSE_PATH, WAREHOUSE_CATALOG,
# WAREHOUSE_DATA_PATH, DUCKDB_EXTENSION_DIR name the warehouse Superset reads; SUPERSET_HOST,
# SUPERSET_PORT, SUPERSET_SECRET_KEY, SUPERSET_HOME its own settings), plus
#   SUPERSET_START_TIMEOUT  seconds to wait for the server to answer (default 300)
#   SUPERSET_STOP_TIMEOUT   seconds to wait for it to stop (default 30)
# The metadata database (users, charts), the pid file and the log live in $SUPERSET_HOME
# (default .tools/superset). Exit codes: 0 ok, 1 failure, 2 usage, 3 not running (status).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
VENV=$ROOT/.venv-superset
PY=$VENV/bin/python
STAMP=$VENV/.installed
START_TIMEOUT=${SUPERSET_START_TIMEOUT:-300}
STOP_TIMEOUT=${SUPERSET_STOP_TIMEOUT:-30}
export SUPERSET_CONFIG_PATH=$ROOT/dashboards/superset_config.py
export FLASK_APP=superset
export PYTHONPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH}
export SUPERSET_LOAD_EXAMPLES=no

say() { echo "superset: $*" >&2; }

cmd_install() {
    if [[ -f $STAMP && $STAMP -nt dashboards/requirements.txt ]]; then
        return 0
    fi
    [[ -x $PY ]] || python3 -m venv "$VENV"
    say "installing dashboards/requirements.txt into $VENV (a few minutes, once)"
    "$PY" -m pip install --quiet --disable-pip-version-check -r dashboards/requirements.txt
    touch "$STAMP"
}

cmd_install_browser() {
    if command -v chromium >/dev/null; then
        return 0
    fi
    command -v apt-get >/dev/null || { say "chromium is not installed and apt-get is missing: install Chromium by hand"; return 1; }
    say "installing Debian's chromium package (once)"
    local sudo=""
    [[ $(id -u) -eq 0 ]] || sudo=sudo
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium >/dev/null \
        || { $sudo apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium >/dev/null; }
    command -v chromium >/dev/null || { say "the chromium package installed no chromium"; return 1; }
}

# host port home, from ingest/settings.py (a malformed value is a one-line error there)
read_settings() {
    local line
    line=$("$PY" -c 'from ingest.settings import Settings
from ingest.errors import InputError
import sys
try:
    s = Settings.from_env().dashboards
except InputError as error:
    sys.exit(f"error: {error}")
print(s.host, s.port, s.home.resolve())') || exit 2
    read -r HOST PORT HOME_DIR <<<"$line"
    PID_FILE=$HOME_DIR/superset.pid
    LOG_FILE=$HOME_DIR/superset.log
}

answers() {
    "$PY" - "$HOST" "$PORT" <<'PY' 2>/dev/null
import sys, urllib.request
with urllib.request.urlopen(f"http://{sys.argv[1]}:{sys.argv[2]}/health", timeout=5) as response:
    sys.exit(0 if response.status == 200 else 1)
PY
}

running() {
    [[ -f $PID_FILE ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null
}

superset() { "$VENV/bin/superset" "$@"; }

# The warehouse Superset will read exists (a SQLite catalog is a file; a PostgreSQL one is not checked).
check_warehouse() {
    "$PY" -c 'import sys
from ingest.errors import InputError
from ingest.settings import Settings
from ingest.warehouse.lake import location
try:
    settings = Settings.from_env()
    embedded = location(settings).is_embedded
except InputError as error:
    sys.exit(f"error: {error}")
if embedded and not settings.warehouse_path.is_file():
    sys.exit(f"error: no warehouse at {settings.warehouse_path}: run make run first, or set WAREHOUSE_PATH")'
}

cmd_start() {
    cmd_install
    read_settings
    check_warehouse || exit 2
    mkdir -p "$HOME_DIR"
    if running; then
        say "already running on http://$HOST:$PORT (pid $(cat "$PID_FILE"))"
        return 0
    fi
    say "metadata database: $HOME_DIR/superset.db"
    superset db upgrade >>"$LOG_FILE" 2>&1 || { say "db upgrade failed; see $LOG_FILE"; tail -20 "$LOG_FILE" >&2; return 1; }
    if [[ -z $(superset fab list-users 2>>"$LOG_FILE" | grep -w 'username:admin' || true) ]]; then
        superset fab create-admin --username admin --firstname Admin --lastname User \
            --email admin@example.org --password admin >>"$LOG_FILE" 2>&1
    fi
    superset init >>"$LOG_FILE" 2>&1 || { say "init failed; see $LOG_FILE"; tail -20 "$LOG_FILE" >&2; return 1; }
    "$PY" dashboards/provision.py import
    "$PY" dashboards/provision.py security
    say "serving on http://$HOST:$PORT (log: $LOG_FILE)"
    setsid "$VENV/bin/gunicorn" --bind "$HOST:$PORT" --workers 1 --threads 8 --timeout 300 \
        --limit-request-line 0 --limit-request-field_size 0 --pid "$PID_FILE" \
        "superset.app:create_app()" >>"$LOG_FILE" 2>&1 < /dev/null &
    local waited=0
    until answers; do
        if ! kill -0 $! 2>/dev/null; then
            say "exited at start; see $LOG_FILE"; tail -20 "$LOG_FILE" >&2; return 1
        fi
        (( waited++ < START_TIMEOUT )) || { say "not answering after ${START_TIMEOUT}s; see $LOG_FILE"; return 1; }
        sleep 1
    done
    say "up: http://$HOST:$PORT  (admin/admin; teacher t-north-alg1/demo-teacher; school admin admin-sch-north/demo-admin)"
}

cmd_stop() {
    read_settings
    if ! running; then
        say "not running"
        rm -f "$PID_FILE"
        return 0
    fi
    local pid waited=0
    pid=$(cat "$PID_FILE")
    kill -TERM "$pid"
    while kill -0 "$pid" 2>/dev/null; do
        if (( waited++ >= STOP_TIMEOUT )); then
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 1
    done
    rm -f "$PID_FILE"
    say "stopped"
}

cmd_status() {
    read_settings
    if running && answers; then
        say "running on http://$HOST:$PORT"
        return 0
    fi
    say "not running"
    return 3
}

cmd_export() {
    cmd_install
    read_settings
    "$PY" dashboards/provision.py export
}

case ${1:-} in
    install) cmd_install ;;
    install-browser) cmd_install_browser ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    export) cmd_export ;;
    url) read_settings; echo "http://$HOST:$PORT" ;;
    *) sed -n '2,20p' "$0" >&2; exit 2 ;;
esac
