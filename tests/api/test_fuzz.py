"""Schemathesis fuzzes the API against its own OpenAPI schema, in-process through the WSGI app.

Valid and invalid requests (positive and negative generation) for every operation, a bounded number of
examples with a fixed seed (derandomized), as a signed-in seller with records to act on. Whatever comes in:
never a 5xx, and every 4xx is JSON with a human message in `detail`.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode

from crm.wsgi import application
from tests import factories

pytestmark = pytest.mark.django_db

EXAMPLES_PER_OPERATION = 4


def _check(response, label: str) -> None:
    assert response.status_code < 500, f"{label}: {response.status_code} {response.text[:500]}"
    if response.status_code >= 400:
        try:
            body = json.loads(response.text)
        except ValueError:
            pytest.fail(f"{label}: {response.status_code} is not JSON: {response.text[:300]}")
        assert isinstance(body, dict) and isinstance(body.get("detail"), str) and body["detail"], (
            f"{label}: {response.status_code} without a message: {body}"
        )


@pytest.fixture
def in_test_transaction():
    """Call the real WSGI app inside the test's transaction, as Django's test client does: the handler
    would otherwise close the database connection after each request (PostgreSQL) and lose the test data."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def records(seller):
    """Something to find under small ids: a lead, a deal, a sent quote, an order and an issued invoice."""
    factories.lead(owner=seller)
    factories.invoice(owner=seller, issued=True)
    factories.quote(owner=seller, sent=True)


def _fuzz(operation, mode: GenerationMode, key: str) -> None:
    label = f"{mode} {operation.method.upper()} {operation.path}"

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION, derandomize=True, database=None, deadline=None,
        phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
    )
    def check(case) -> None:
        _check(case.call(headers={"Authorization": f"Token {key}"}), label)

    check()


def test_fuzz_the_api_against_its_own_schema(seller, records, in_test_transaction):
    key = Token.objects.create(user=seller).key
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(operation, mode, key)
