"""Where the student hash salt comes from on the DuckDB target (metrics.md, Pseudonymization).

The salt is read here, in Python, and bound into each DuckDB connection (ingest/warehouse/dbt_plugin.py),
so dbt never renders it into SQL, artifacts or logs. The checks on it (demo salt, length,
fingerprint) are on-run-start hooks of the dbt project (macros/student_hash_salt_checks.sql),
which serve BigQuery too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Final

SALT_ENV_VAR: Final = "STUDENT_HASH_SALT"
# Public, documented, and so no secret: anyone can reverse its hashes of guessable ids.
DEMO_SALT: Final = "student-behavior-demo-salt"
DEMO_SALT_WARNING: Final = (
    f"WARNING: {SALT_ENV_VAR} is not set, so student_hash uses the public demo salt: anyone can "
    f"reverse every hash of an id like s-1234567 in seconds. Fine for sample data only; for real "
    f"data set {SALT_ENV_VAR} to a secret of at least 32 characters."
)


def salt_from_environment(environ: Mapping[str, str] = os.environ) -> str:
    """The salt of STUDENT_HASH_SALT; the demo salt when it is unset or empty."""
    return environ.get(SALT_ENV_VAR) or DEMO_SALT


def uses_demo_salt(environ: Mapping[str, str] = os.environ) -> bool:
    return salt_from_environment(environ) == DEMO_SALT
