"""The tracking API: `POST /v1/track` into the raw zone (`python -m ingest serve`)."""
