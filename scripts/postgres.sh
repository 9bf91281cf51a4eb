#!/usr/bin/env bash
# A real PostgreSQL server (Debian's postgresql-15) on loopback, for the production-style
# DuckLake catalog in development and tests: several writers commit side by side.
#
#   scripts/postgres.sh install     install Debian's postgresql package if it is missing (needs apt)
#   scripts/postgres.sh start       initdb once into $PG_DATA_DIR, start on 127.0.0.1:$PG_PORT, create
#                                   the role and database, wait until it answers
#   scripts/postgres.sh stop        fast shutdown (SIGINT), immediate after $PG_STOP_TIMEOUT s
#   scripts/postgres.sh status      exit 0 when the server of $PG_DATA_DIR runs and answers
#   scripts/postgres.sh url [DB]    print the DuckLake catalog string for WAREHOUSE_CATALOG (database DB)
#   scripts/postgres.sh createdb DB [TEMPLATE]
#                                   another database owned by the role (one per DuckLake; no-op if it
#                                   exists), a copy of TEMPLATE when given
#   scripts/postgres.sh psql [ARGS] psql into the database
#
# Environment (defaults are for local development only; the server listens on loopback only):
#   PG_PORT          port on 127.0.0.1 (default 5433, beside a system server on 5432)
#   PG_DATA_DIR      the cluster's folder: data, log and socket (default .tools/postgres/data)
#   PG_USER          role the pipeline uses (default ducklake), PG_PASSWORD (default ducklake-dev)
#   PG_DATABASE      database holding the DuckLake catalog (default student_behavior)
#   PG_START_TIMEOUT seconds to wait for the server to answer (default 60)
#   PG_STOP_TIMEOUT  seconds to wait for a fast shutdown before an immediate one (default 30)
#
# The server runs as the `postgres` system user when started by root (PostgreSQL refuses to
# run as root), as the calling user otherwise.
# Exit codes: 0 ok, 1 failure, 2 usage, 3 not running (status).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PORT=${PG_PORT:-5433}
DATA=${PG_DATA_DIR:-$ROOT/.tools/postgres/data}
USER_NAME=${PG_USER:-ducklake}
PASSWORD=${PG_PASSWORD:-ducklake-dev}
DATABASE=${PG_DATABASE:-student_behavior}
START_TIMEOUT=${PG_START_TIMEOUT:-60}
STOP_TIMEOUT=${PG_STOP_TIMEOUT:-30}

mkdir -p "$(dirname "$DATA")"
DATA=$(cd "$(dirname "$DATA")" && pwd)/$(basename "$DATA")
CLUSTER=$DATA/cluster
SOCKETS=$DATA/sockets
LOG_FILE=$DATA/postgres.log

say() { echo "postgres: $*" >&2; }

bin_dir() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        [[ -x $dir/pg_ctl ]] && { echo "$dir"; return 0; }
    done
    return 1
}

as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

cmd_install() {
    if bin_dir >/dev/null; then
        return 0
    fi
    command -v apt-get >/dev/null || { say "PostgreSQL is not installed and apt-get is missing: install PostgreSQL 15 by hand"; return 1; }
    say "installing Debian's postgresql package (once)"
    local sudo=""
    [[ $(id -u) -eq 0 ]] || sudo=sudo
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q postgresql >/dev/null \
        || { $sudo apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q postgresql >/dev/null; }
    bin_dir >/dev/null || { say "the postgresql package installed no server binaries"; return 1; }
}

answers() {
    "$(bin_dir)/pg_isready" -q -h 127.0.0.1 -p "$PORT" -d postgres 2>/dev/null
}

running() {
    [[ -f $CLUSTER/postmaster.pid ]] && as_owner "$(bin_dir)/pg_ctl" status -D "$CLUSTER" >/dev/null 2>&1
}

psql_admin() {
    as_owner "$(bin_dir)/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCKETS" -p "$PORT" -d postgres "$@"
}

cmd_start() {
    cmd_install
    local bin
    bin=$(bin_dir)
    mkdir -p "$DATA" "$SOCKETS"
    if [[ $(id -u) -eq 0 ]]; then
        chown -R postgres:postgres "$DATA"
        runuser -u postgres -- test -x "$DATA" || {
            say "the postgres user cannot reach $DATA (a parent folder is private to root): set PG_DATA_DIR to a folder under one it can traverse, such as /tmp or /var/lib"
            return 1
        }
    fi
    if [[ ! -f $CLUSTER/PG_VERSION ]]; then
        say "initdb into $CLUSTER"
        as_owner "$bin/initdb" -D "$CLUSTER" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
            -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    if running; then
        say "already running on 127.0.0.1:$PORT"
    else
        as_owner "$bin/pg_ctl" start -D "$CLUSTER" -l "$LOG_FILE" -w -t "$START_TIMEOUT" \
            -o "-c listen_addresses=127.0.0.1 -p $PORT -c unix_socket_directories=$SOCKETS -c max_connections=100 -c fsync=on" \
            >/dev/null || { say "did not start; see $LOG_FILE"; tail -20 "$LOG_FILE" >&2; return 1; }
    fi
    local waited=0
    until answers; do
        (( waited++ < START_TIMEOUT )) || { say "not answering after ${START_TIMEOUT}s; see $LOG_FILE"; return 1; }
        sleep 1
    done
    psql_admin <<SQL
do \$\$ begin
  if not exists (select from pg_roles where rolname = '$USER_NAME') then
    create role "$USER_NAME" login password '$PASSWORD';
  end if;
end \$\$;
SQL
    if [[ -z $(psql_admin -tA -c "select 1 from pg_database where datname = '$DATABASE'") ]]; then
        psql_admin -c "create database \"$DATABASE\" owner \"$USER_NAME\""
    fi
    say "running on 127.0.0.1:$PORT, database $DATABASE, role $USER_NAME (data in $CLUSTER)"
}

cmd_stop() {
    if ! running; then
        say "not running"
        return 0
    fi
    as_owner "$(bin_dir)/pg_ctl" stop -D "$CLUSTER" -m fast -w -t "$STOP_TIMEOUT" >/dev/null \
        || as_owner "$(bin_dir)/pg_ctl" stop -D "$CLUSTER" -m immediate -w >/dev/null
    say "stopped"
}

cmd_status() {
    if running && answers; then
        say "running on 127.0.0.1:$PORT"
        return 0
    fi
    say "not running"
    return 3
}

cmd_url() {
    echo "postgres:dbname=${1:-$DATABASE} host=127.0.0.1 port=$PORT user=$USER_NAME password=$PASSWORD"
}

cmd_createdb() {
    local name_pattern='^[A-Za-z_][A-Za-z0-9_]*$'
    [[ ${1:-} =~ $name_pattern && ( -z ${2:-} || ${2:-} =~ $name_pattern ) ]] \
        || { echo "usage: $0 createdb NAME [TEMPLATE] (letters, digits, _)" >&2; return 2; }
    if [[ -z $(psql_admin -tA -c "select 1 from pg_database where datname = '$1'") ]]; then
        psql_admin -c "create database \"$1\" owner \"$USER_NAME\"${2:+ template \"$2\"}"
    fi
}

case ${1:-} in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    url) shift; cmd_url "$@" ;;
    createdb) shift; cmd_createdb "$@" ;;
    psql) shift; PGPASSWORD=$PASSWORD "$(bin_dir)/psql" -X -h 127.0.0.1 -p "$PORT" -U "$USER_NAME" -d "$DATABASE" "$@" ;;
    *) echo "usage: $0 install|start|stop|status|url [DB]|createdb DB|psql [ARGS]" >&2; exit 2 ;;
esac
