"""Two browsers accept the same quote at the same instant: one order, one acceptance, one clear refusal.
PostgreSQL only (real row locks; SQLite serialises writers on the whole file)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from orders.models import Order
from quotes import links
from quotes.models import QuoteAcceptance, QuoteState
from tests import factories
from tests.test_concurrency import run_concurrently

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs row locks and concurrent writers"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_two_browsers_accepting_at_once_make_one_order(seller):
    quote = factories.quote(owner=seller, sent=True, email="buyer@acme.example")  # PDF rendered on commit
    quote.refresh_from_db()
    assert quote.pdf_sha256
    url = reverse("quote_public:accept", args=[links.make_token(quote)])

    def accept(index: int) -> int:
        response = Client().post(url, {"name": f"Buyer {index}", "confirm": "on", "pdf_sha256": quote.pdf_sha256})
        return response.status_code

    results = run_concurrently(4, accept)

    codes = sorted(result for status, result in results if status == "ok")
    assert codes == [302, 409, 409, 409], results
    assert Order.objects.filter(quote=quote).count() == 1
    assert QuoteAcceptance.objects.filter(quote=quote).count() == 1
    quote.refresh_from_db()
    assert quote.state == QuoteState.ACCEPTED
