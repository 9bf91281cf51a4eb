"""The read API: the warehouse's marts and features over HTTP, scoped by role and roster.

`python -m readapi serve` (see readapi/__main__.py). It reads the warehouse as a reader
(a read-only DuckLake attach never blocks loads or builds), keeps an in-memory copy of the
tables it serves (data.py), and checks every request's bearer token (ingest/access/tokens.py)
and what its role may see (scopes.py) before answering (app.py).
"""
