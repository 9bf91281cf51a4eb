# The project's verbs. Every target that needs the environment depends on `setup`.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DBT_PROFILES_DIR := $(CURDIR)/profiles
export WAREHOUSE_PATH ?= warehouse/student_behavior.sqlite
export DUCKDB_EXTENSION_DIR ?= $(CURDIR)/.duckdb/extensions
DBT := $(BIN)/dbt
TEST_DATA := data/test_sample
TEST_WAREHOUSE := warehouse/test.sqlite

.PHONY: help setup run test test-python test-dbt lint docs bench bench-api bench-freshness clean
EVENTS ?= 10000000

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@# DuckDB's extensions (ducklake, sqlite, postgres, httpfs) from their PyPI wheels, offline
	$(BIN)/python -c "from ingest.settings import Settings; from ingest.warehouse.lake import install_extensions; install_extensions(Settings.from_env().extension_dir)"
	@touch $(STAMP)

setup: $(STAMP) ## create .venv from the pinned requirements (fast when nothing changed)

run: setup ## generate a sample, load it, dbt build, print a summary
	$(BIN)/python -m ingest run

test: setup ## every test: pytest, dbt build on a small sample, sqlfluff
	$(MAKE) --no-print-directory test-python
	$(MAKE) --no-print-directory test-dbt
	$(MAKE) --no-print-directory lint

PYTEST_WORKERS ?= 2
test-python: setup ## pytest on PYTEST_WORKERS processes (default 2; 0 runs one), a test file per worker; the 25 slowest listed
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=25 tests/python

test-dbt: setup ## dbt build (models, data tests, unit tests) on a small generated sample
	rm -rf $(TEST_DATA) $(TEST_WAREHOUSE)*
	$(BIN)/python -m ingest generate --students 150 --days 7 --seed 7 --out $(TEST_DATA)
	WAREHOUSE_PATH=$(TEST_WAREHOUSE) $(BIN)/python -m ingest files $(TEST_DATA)
	WAREHOUSE_PATH=$(TEST_WAREHOUSE) $(DBT) build --fail-fast

LINT_EMPTY_WAREHOUSE := warehouse/lint-empty.sqlite
lint: setup ## sqlfluff on models, tests and analyses; ruff and mypy on the Python and its tests (settings in pyproject.toml)
	@# sqlfluff's dbt templater attaches the warehouse (created if new). A model renders one way
	@# on a first build (no relation yet) and another on an incremental run: lint both renders,
	@# on an empty warehouse and, once make test-dbt has built it, on the test warehouse.
	@mkdir -p $(dir $(TEST_WAREHOUSE))
	rm -rf $(LINT_EMPTY_WAREHOUSE)*
	WAREHOUSE_PATH=$(LINT_EMPTY_WAREHOUSE) $(BIN)/sqlfluff lint models tests/singular analyses
	@if [[ -f $(TEST_WAREHOUSE) ]]; then echo "sqlfluff on the incremental render ($(TEST_WAREHOUSE))"; \
		WAREHOUSE_PATH=$(TEST_WAREHOUSE) $(BIN)/sqlfluff lint models; fi
	$(BIN)/ruff check ingest orchestration readapi dashboards tests/dashboards tests/python bench
	$(BIN)/mypy
	@# A run of its own: tests/python and tests/dashboards each have a conftest module.
	$(BIN)/mypy tests/python

docs: setup ## build the dbt docs site into target/
	$(DBT) docs generate
	@echo "docs: serve with '$(DBT) docs serve --profiles-dir profiles' or open target/index.html"

bench: setup ## benchmark a day of EVENTS events (default 10M) + one incremental hour; writes bench/results.json
	$(BIN)/python bench/run.py --events $(EVENTS)

bench-api: setup ## benchmark the tracking API (events/s in batches of 1 and 100, p50/p99 at 1,000 req/s)
	$(BIN)/python bench/api.py

bench-freshness: setup ## streaming freshness: Kafka at 1,000 events/s to gold.course_activity_realtime
	scripts/kafka/kafka.sh install
	$(BIN)/python bench/freshness.py

clean: ## remove generated data, warehouse and dbt artifacts (keeps .venv)
	rm -rf data warehouse target logs dbt_packages bench/work

.PHONY: serve-read bench-read
serve-read: setup ## the read API on 127.0.0.1:8100 (READ_API_JWT_SECRET or READ_API_JWKS; tokens: python -m ingest tokens issue)
	$(BIN)/python -m readapi serve

bench-read: setup ## benchmark the read API: p50/p99 at 200 req/s on the warehouse at WAREHOUSE_PATH (build it first)
	$(BIN)/python bench/read.py

.PHONY: s3-up s3-down
s3-up: ## build (once) and start a local S3 server (MinIO, dev credentials) on 127.0.0.1:9000 (S3_PORT)
	scripts/s3-server.sh install
	scripts/s3-server.sh start

s3-down: ## stop the local S3 server of s3-up
	scripts/s3-server.sh stop

.PHONY: kafka-up kafka-down
kafka-up: ## fetch (once) and start a single-node Kafka broker (KRaft) on 127.0.0.1:9092 (KAFKA_PORT)
	scripts/kafka/kafka.sh install
	scripts/kafka/kafka.sh start

kafka-down: ## stop the Kafka broker of kafka-up (its data stays in .tools/kafka/data)
	scripts/kafka/kafka.sh stop

.PHONY: postgres-up postgres-down maintain
postgres-up: ## start a local PostgreSQL (Debian's) on 127.0.0.1:5433 (PG_PORT) for a DuckLake catalog shared by writers
	scripts/postgres.sh start
	@echo "use it: export WAREHOUSE_CATALOG='$$(scripts/postgres.sh url)' WAREHOUSE_DATA_PATH=$(CURDIR)/warehouse/shared.files"

postgres-down: ## stop the PostgreSQL of postgres-up (its data stays in .tools/postgres/data)
	scripts/postgres.sh stop

maintain: setup ## compact the warehouse's small files, expire old snapshots, delete unreferenced files
	$(BIN)/python -m ingest maintain

.PHONY: orchestrate pipeline-metrics prometheus-up prometheus-down
DAGSTER_HOME ?= $(CURDIR)/.tools/dagster
DAGSTER_PORT ?= 3000
orchestrate: setup ## Dagster UI and daemon on 127.0.0.1:3000 (DAGSTER_PORT): the graph, schedules, backfills, alerts
	$(BIN)/python -m orchestration.instance $(DAGSTER_HOME)
	@# dagster-dbt finds dbt on PATH: the venv's bin first
	PATH=$(CURDIR)/$(BIN):$$PATH DAGSTER_HOME=$(DAGSTER_HOME) $(BIN)/dagster dev -m orchestration.definitions \
		--host 127.0.0.1 --port $(DAGSTER_PORT)

pipeline-metrics: setup ## serve the pipeline's metrics (ops.pipeline_runs) on 127.0.0.1:9109/metrics (PIPELINE_METRICS_PORT)
	$(BIN)/python -m orchestration.metrics

prometheus-up: ## install (once) and start Prometheus on 127.0.0.1:9090 and Alertmanager on :9093 with the alert rules
	scripts/prometheus.sh start

prometheus-down: ## stop the Prometheus and Alertmanager of prometheus-up
	scripts/prometheus.sh stop

# Apache Superset in its own virtual environment (its pins clash with the project's): dashboards/.
DASHBOARDS_TEST_WAREHOUSE := warehouse/dashboards-test.sqlite
DASHBOARDS_TEST_DATA := data/dashboards_test_sample
.PHONY: dashboards dashboards-stop dashboards-export test-dashboards dashboards-screenshots
dashboards: setup ## start Superset (SUPERSET_PORT, default 8088) with the teacher and school admin dashboards on WAREHOUSE_PATH
	dashboards/superset.sh start

dashboards-stop: ## stop the Superset of make dashboards
	dashboards/superset.sh stop

dashboards-export: ## write dashboards, charts and datasets changed in Superset's UI back to dashboards/assets/
	dashboards/superset.sh export

test-dashboards: setup ## browser test of the dashboards (Superset, headless chromium) on a small sample with its roster
	dashboards/superset.sh install
	dashboards/superset.sh install-browser
	@if [[ ! -f $(DASHBOARDS_TEST_WAREHOUSE) ]]; then \
		rm -rf $(DASHBOARDS_TEST_DATA) $(DASHBOARDS_TEST_WAREHOUSE)*; \
		WAREHOUSE_PATH=$(DASHBOARDS_TEST_WAREHOUSE) $(BIN)/python -m ingest run --students 40 --days 10 --seed 42 \
			--out $(DASHBOARDS_TEST_DATA); \
	fi
	DASHBOARDS_TEST_WAREHOUSE=$(DASHBOARDS_TEST_WAREHOUSE) .venv-superset/bin/python -m pytest tests/dashboards

dashboards-screenshots: ## run the browser test and keep its screenshots in docs/dashboards/ (shown in the README)
	UPDATE_SCREENSHOTS=1 $(MAKE) --no-print-directory test-dashboards
