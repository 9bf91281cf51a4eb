"""Dagster over the project's dlt loader and dbt models (issue 12).

`definitions.py` assembles what `make orchestrate` serves: the assets (the raw load, every
dbt model, a Python summary), the dbt tests as asset checks, the raw-partition check, the
schedules and the alert sensors. Everything is configured from `ingest.settings.Settings`.
"""
