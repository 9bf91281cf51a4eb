#!/usr/bin/env bash
# Prometheus and Alertmanager (Debian's packages) on loopback, scraping the tracking API, the
# Kafka consumer and the pipeline's metrics, with the alert rules of orchestration/monitoring/.
#
#   scripts/prometheus.sh install   install Debian's prometheus and prometheus-alertmanager if missing (needs apt)
#   scripts/prometheus.sh start     write the configurations into $PROM_DATA_DIR, start both, wait until ready
#   scripts/prometheus.sh stop      stop both (SIGTERM, then SIGKILL after $PROM_STOP_TIMEOUT s)
#   scripts/prometheus.sh status    exit 0 when both answer
#   scripts/prometheus.sh test      promtool: check the configuration and rules, run the rules' unit tests
#
# Environment (defaults are for local development; everything listens on 127.0.0.1 only):
#   PROM_PORT              Prometheus (default 9090)
#   ALERTMANAGER_PORT      Alertmanager (default 9093); ALERTMANAGER_CLUSTER_PORT its gossip port (default 9094)
#   PROM_DATA_DIR          configurations, data, logs and PIDs (default .tools/prometheus)
#   PROM_API_TARGET        tracking API /metrics listener (default 127.0.0.1:9108: `ingest serve --metrics-port 9108`)
#   PROM_KAFKA_TARGET      Kafka consumer /metrics (default 127.0.0.1:9308: `ingest consume --metrics-port 9308`)
#   PROM_PIPELINE_TARGET   pipeline metrics (default 127.0.0.1:$PIPELINE_METRICS_PORT or 9109: `make pipeline-metrics`)
#   PROM_SCRAPE_INTERVAL   scrape and rule evaluation interval (default 15s)
#   ALERT_WEBHOOK_URL      Slack-compatible webhook Alertmanager posts to (unset: alerts stay in Alertmanager's UI)
#   PROM_START_TIMEOUT / PROM_STOP_TIMEOUT   seconds (default 60 / 20)
# Exit codes: 0 ok, 1 failure, 2 usage, 3 not running (status).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MONITORING=$ROOT/orchestration/monitoring
PORT=${PROM_PORT:-9090}
AM_PORT=${ALERTMANAGER_PORT:-9093}
AM_CLUSTER_PORT=${ALERTMANAGER_CLUSTER_PORT:-9094}
DATA=${PROM_DATA_DIR:-$ROOT/.tools/prometheus}
API_TARGET=${PROM_API_TARGET:-127.0.0.1:9108}
KAFKA_TARGET=${PROM_KAFKA_TARGET:-127.0.0.1:9308}
PIPELINE_TARGET=${PROM_PIPELINE_TARGET:-127.0.0.1:${PIPELINE_METRICS_PORT:-9109}}
INTERVAL=${PROM_SCRAPE_INTERVAL:-15s}
WEBHOOK=${ALERT_WEBHOOK_URL:-}
START_TIMEOUT=${PROM_START_TIMEOUT:-60}
STOP_TIMEOUT=${PROM_STOP_TIMEOUT:-20}

say() { echo "prometheus: $*" >&2; }

cmd_install() {
    if command -v prometheus >/dev/null && command -v prometheus-alertmanager >/dev/null && command -v promtool >/dev/null \
            && command -v curl >/dev/null; then
        return 0
    fi
    command -v apt-get >/dev/null || { say "Prometheus is not installed and apt-get is missing: install prometheus and prometheus-alertmanager by hand"; return 1; }
    say "installing Debian's prometheus and prometheus-alertmanager packages (once)"
    local sudo=""
    [[ $(id -u) -eq 0 ]] || sudo=sudo
    # The packages start system services on the default ports where a service manager runs; this
    # script runs its own instances on its own ports and data folder, so those are not needed.
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends prometheus prometheus-alertmanager curl >/dev/null \
        || { $sudo apt-get update -q >/dev/null \
             && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends prometheus prometheus-alertmanager curl >/dev/null; }
    command -v prometheus >/dev/null && command -v prometheus-alertmanager >/dev/null \
        || { say "the packages installed no prometheus or prometheus-alertmanager binary"; return 1; }
}

write_configs() {
    mkdir -p "$DATA/prometheus-data" "$DATA/alertmanager-data"
    cp "$MONITORING/rules.yml" "$DATA/rules.yml"
    cat > "$DATA/prometheus.yml" <<YAML
# Written by scripts/prometheus.sh start; edit the script or its environment, not this file.
global:
  scrape_interval: $INTERVAL
  evaluation_interval: $INTERVAL
rule_files:
  - $DATA/rules.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:$AM_PORT"]
scrape_configs:
  - job_name: tracking-api
    static_configs: [{targets: ["$API_TARGET"]}]
  - job_name: kafka-consumer
    static_configs: [{targets: ["$KAFKA_TARGET"]}]
  - job_name: pipeline
    static_configs: [{targets: ["$PIPELINE_TARGET"]}]
YAML
    local receiver="    - name: on-call"
    if [[ -n $WEBHOOK ]]; then
        # Slack's incoming-webhook JSON (text, attachments): the same URL the Dagster sensors post to.
        receiver+="
      slack_configs:
        - api_url: '$WEBHOOK'
          send_resolved: true
          title: '{{ .Status | toUpper }}: {{ .CommonLabels.alertname }}'
          text: '{{ range .Alerts }}{{ .Annotations.summary }} (runbook: {{ .Annotations.runbook }})
{{ end }}'"
    fi
    cat > "$DATA/alertmanager.yml" <<YAML
# Written by scripts/prometheus.sh start.
route:
  receiver: on-call
  group_by: [alertname, step, group]
  group_wait: ${AM_GROUP_WAIT:-30s}
  group_interval: ${AM_GROUP_INTERVAL:-5m}
  repeat_interval: 4h
receivers:
$receiver
YAML
}

pid_alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

ready() {
    curl -fsS -o /dev/null "http://127.0.0.1:$PORT/-/ready" 2>/dev/null \
        && curl -fsS -o /dev/null "http://127.0.0.1:$AM_PORT/-/ready" 2>/dev/null
}

cmd_start() {
    cmd_install
    write_configs
    promtool check config "$DATA/prometheus.yml" >/dev/null || { say "invalid configuration $DATA/prometheus.yml"; return 1; }
    if ! pid_alive "$DATA/alertmanager.pid"; then
        prometheus-alertmanager --config.file="$DATA/alertmanager.yml" --storage.path="$DATA/alertmanager-data" \
            --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address="127.0.0.1:$AM_CLUSTER_PORT" \
            >"$DATA/alertmanager.log" 2>&1 &
        echo $! > "$DATA/alertmanager.pid"
    fi
    if ! pid_alive "$DATA/prometheus.pid"; then
        prometheus --config.file="$DATA/prometheus.yml" --storage.tsdb.path="$DATA/prometheus-data" \
            --web.listen-address="127.0.0.1:$PORT" --web.enable-lifecycle \
            >"$DATA/prometheus.log" 2>&1 &
        echo $! > "$DATA/prometheus.pid"
    fi
    local waited=0
    until ready; do
        pid_alive "$DATA/prometheus.pid" || { say "Prometheus exited; see $DATA/prometheus.log"; tail -20 "$DATA/prometheus.log" >&2; return 1; }
        pid_alive "$DATA/alertmanager.pid" || { say "Alertmanager exited; see $DATA/alertmanager.log"; tail -20 "$DATA/alertmanager.log" >&2; return 1; }
        (( waited++ < START_TIMEOUT )) || { say "not ready after ${START_TIMEOUT}s; see $DATA/*.log"; return 1; }
        sleep 1
    done
    say "Prometheus on http://127.0.0.1:$PORT, Alertmanager on http://127.0.0.1:$AM_PORT (scraping $API_TARGET, $KAFKA_TARGET, $PIPELINE_TARGET)"
}

stop_one() {
    local pidfile=$1 name=$2 pid waited=0
    pid_alive "$pidfile" || { rm -f "$pidfile"; return 0; }
    pid=$(cat "$pidfile")
    kill -TERM "$pid"
    while kill -0 "$pid" 2>/dev/null; do
        (( waited++ < STOP_TIMEOUT * 10 )) || { kill -KILL "$pid" 2>/dev/null || true; break; }
        sleep 0.1
    done
    rm -f "$pidfile"
    say "$name stopped"
}

cmd_stop() {
    stop_one "$DATA/prometheus.pid" Prometheus
    stop_one "$DATA/alertmanager.pid" Alertmanager
}

cmd_status() {
    if ready; then
        say "running: Prometheus on 127.0.0.1:$PORT, Alertmanager on 127.0.0.1:$AM_PORT"
        return 0
    fi
    say "not running"
    return 3
}

cmd_test() {
    cmd_install
    promtool check rules "$MONITORING/rules.yml"
    (cd "$MONITORING" && promtool test rules rules_test.yml)
}

case ${1:-} in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    test) cmd_test ;;
    *) echo "usage: $0 install|start|stop|status|test" >&2; exit 2 ;;
esac
