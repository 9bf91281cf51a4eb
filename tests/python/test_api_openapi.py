"""The OpenAPI document against the running API, with schemathesis: generated requests
(valid and not) must get only documented status codes and bodies, and never a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from ingest.api.process import ApiProcess

DOCUMENT = Path(__file__).resolve().parents[2] / "ingest" / "api" / "openapi.json"
schema = schemathesis.openapi.from_path(str(DOCUMENT))


@pytest.fixture(scope="module")
def running_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ApiProcess, str]]:
    folder = tmp_path_factory.mktemp("openapi")
    # Schemathesis sends every operation again with a wrong key, more than the 30 failed key checks a
    # minute after which an address is locked out with 429 (test_api.py checks that lockout): a fast
    # run locked itself out, and then a wrong key got 429, not the 401 the document promises.
    server = ApiProcess(raw_zone=str(folder / "zone"), keys_file=folder / "keys.json",
                        extra_args=["--auth-failures-per-minute", "100000"])
    key = server.create_key("schemathesis")
    server.start()
    yield server, key
    server.kill()


@schema.parametrize()
@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_the_api_conforms_to_its_openapi_document(case: schemathesis.Case,
                                                  running_api: tuple[ApiProcess, str]) -> None:
    server, key = running_api
    case.call_and_validate(base_url=server.url, headers={"Authorization": f"Bearer {key}"})


def test_the_served_document_is_the_checked_in_one(running_api: tuple[ApiProcess, str]) -> None:
    import http.client

    server, _ = running_api
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", "/openapi.json")
    assert connection.getresponse().read() == DOCUMENT.read_bytes()
