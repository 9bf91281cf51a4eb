"""The access commands say what is wrong and how to fix it, exit 2, never a traceback:
`ingest tokens issue`, `ingest forget`, `readapi serve`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ingest.access.tokens import TokenVerifier
from ingest.settings import PROJECT_DIR, ReadApiSettings

SECRET = "cli-test-secret-cli-test-secret-0123"


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("READ_API_")}
    return subprocess.run([sys.executable, "-m", *args], cwd=PROJECT_DIR, env={**environment, **env},
                          capture_output=True, text=True, timeout=300)


def test_tokens_issue_prints_a_token_the_api_accepts() -> None:
    done = run("ingest", "tokens", "issue", "--role", "school_admin", "--subject", "ada", "--school", "sch-north",
               READ_API_JWT_SECRET=SECRET)
    assert done.returncode == 0, done.stderr
    principal = TokenVerifier(ReadApiSettings(jwt_secret=SECRET)).verify(done.stdout.strip())
    assert (principal.role, principal.subject, principal.school_id) == ("school_admin", "ada", "sch-north")


def test_tokens_issue_without_a_secret_or_school_names_the_fix() -> None:
    no_secret = run("ingest", "tokens", "issue", "--role", "analyst", "--subject", "a")
    short = run("ingest", "tokens", "issue", "--role", "analyst", "--subject", "a", READ_API_JWT_SECRET="short")
    no_school = run("ingest", "tokens", "issue", "--role", "school_admin", "--subject", "a",
                    READ_API_JWT_SECRET=SECRET)
    for done, fix in ((no_secret, "READ_API_JWT_SECRET is not set"), (short, "at least 32"),
                      (no_school, "--school")):
        assert done.returncode == 2 and fix in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_forget_without_a_reason_and_serve_without_a_warehouse_name_the_fix(tmp_path: Path) -> None:
    forget = run("ingest", "forget", "s-1", "--reason", " ", WAREHOUSE_PATH=str(tmp_path / "w.sqlite"),
                 RAW_ZONE_URL=str(tmp_path / "zone"))
    serve = run("readapi", "serve", "--port", "1", WAREHOUSE_PATH=str(tmp_path / "none.sqlite"),
                READ_API_JWT_SECRET=SECRET)
    for done, fix in ((forget, "--reason"), (serve, "no warehouse at")):
        assert done.returncode == 2 and fix in done.stderr and "Traceback" not in done.stderr, done.stderr
