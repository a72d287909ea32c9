"""The API does what /api/v1/openapi.json says: schemathesis drives every operation with all its
checks (status codes, content types, headers, response schemas, schema-valid requests accepted,
schema-invalid ones rejected, undocumented methods answered 405 with a right Allow header, the
bearer token enforced), against an app built from a copy of the sample content.

Bounded so the suite stays fast and repeatable: a fixed number of generated examples per
operation, derandomized (a fixed seed), no deadline (a 2-core CI box is slow, not wrong).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance  # type: ignore[attr-defined]
from schemathesis.python import asgi
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from kb.content.site import Site
from kb.storage.db import run_with_database
from kb.tokens import Tokens
from kb.web import openapi
from kb.web.app import create_app
from kb.web.routes import analytics_api, api, feedback, health, policy, search
from tests.conftest import SAMPLE_CONTENT, settings_for

EXAMPLES = 25

# schemathesis's own strategies draw from the `random` module (seeded by Hypothesis, so runs stay
# repeatable); this Hypothesis version warns about that on every example.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module inside strategies:hypothesis.errors.HypothesisDeprecationWarning")


def sample_document() -> dict[str, Any]:
    """The document an app on the sample content serves (test_served_document_is_the_one_tested
    checks that it is exactly that). It is needed when tests are collected, before any fixture."""
    site = Site(SAMPLE_CONTENT)
    site.load()
    modules = [api, search, feedback, policy, analytics_api, health]
    return openapi.with_site(analytics_api.with_security_schemes(openapi.build_document(modules)), site)


DOCUMENT = sample_document()


class CurrentApp:
    """The app of the running test. schemathesis binds its schema to one ASGI app when tests are
    collected; this stands in for it and forwards to the app the `running` fixture built."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None
        self.token = ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None, "the app exists only while a test using the `running` fixture runs"
        await self.app(scope, receive, send)


CURRENT = CurrentApp()
schema = schemathesis.openapi.from_dict(DOCUMENT)
schema.app = CURRENT


@schema.auth(refresh_interval=None)
class BearerToken:
    """The running app's API token, on the operations that declare the bearer scheme. Through
    schemathesis (not a fixed header) so its negative cases can still leave the token out."""

    def get(self, case: Any, context: Any) -> str:
        return CURRENT.token

    def set(self, case: Any, data: str, context: Any) -> None:
        if case.operation.definition.raw.get("security"):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture
def running(tmp_path: Path, sample_tree: Path) -> Iterator[CurrentApp]:
    """An app on a fresh copy of the sample content, with an API token for /api/v1/analytics/."""
    kb_settings = settings_for(tmp_path, sample_tree)
    CURRENT.token = run_with_database(kb_settings.database, lambda db: Tokens(db).create("conformance"))
    CURRENT.app = create_app(kb_settings)
    try:
        yield CURRENT
    finally:
        # schemathesis starts the app's lifespan on the first request and keeps it until told.
        asgi.shutdown_lifespans()
        CURRENT.app, CURRENT.token = None, ""


# Rules the schema cannot express: since <= until, and a period of at most 731 days. A request
# breaking them is schema-valid and still refused (400), so for requests that give a date the
# "schema-valid data is accepted" check is replaced by one that only lets these two reasons through.
PERIOD_RULES = {"since must not be after until", "a period can span at most 731 days"}


def _gives_dates(case: Any) -> bool:
    query = case.query or {}
    return case.operation.path.startswith("/api/v1/analytics/") and bool({"since", "until"} & set(query))


@schema.parametrize()
@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_conforms(case: Any, running: CurrentApp) -> None:
    dated = _gives_dates(case)
    response = case.call_and_validate(excluded_checks=[positive_data_acceptance] if dated else None)
    if dated and response.status_code == 400:
        assert response.json()["error"] in PERIOD_RULES | {"since must be a date (YYYY-MM-DD)"} or (
            not case.meta.generation.mode.is_positive), response.text


def test_served_document_is_the_one_tested(sample_client: TestClient) -> None:
    assert sample_client.get("/api/v1/openapi.json").json() == DOCUMENT
