"""Property-based runs of `schemathesis` against the server's own OpenAPI spec: whatever a client
sends, the server answers with a status below 500 (a bad request says what is wrong; it never crashes)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from tests.ui.serving import ADMIN, key_of, make_home, rag_serve

pytestmark = [pytest.mark.integration, pytest.mark.slow]
schemathesis = pytest.importorskip("schemathesis")
HEADERS = {"Authorization": f"Bearer {key_of(ADMIN)}"}
EXAMPLES = 50  # per operation


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("openapi") / "home"  # its own server: generated uploads land here
    make_home(home)
    with rag_serve(home, "--api-key", ADMIN) as url:
        yield url


def test_no_generated_request_gets_a_server_error(base_url: str) -> None:
    # schemathesis' own pytest plugin does not load under pytest 9, so each operation's strategy
    # is run here by hypothesis directly
    schema = schemathesis.openapi.from_url(base_url + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def no_server_error(case: Any) -> None:
            response = case.call(base_url=base_url, headers=HEADERS, timeout=60)
            assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:500]}"
            if response.status_code >= 400:  # every error is JSON that says what is wrong
                assert response.json()["error"]["message"], response.text

        no_server_error()
