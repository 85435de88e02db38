"""Every list endpoint answers with a fixed number of queries, however many rows the page holds."""

from __future__ import annotations

import pytest
from djmoney.money import Money

from crm.models import Activity, ActivityKind
from invoices.services import payment_record
from tests import factories

pytestmark = pytest.mark.django_db

ENDPOINTS = ["leads", "accounts", "contacts", "opportunities", "quotes", "orders", "invoices", "payments",
             "activities"]


def _records(owner, count: int) -> None:
    for _ in range(count):
        # A company of its own each, so that qualifying creates a new account (and contact) every time.
        invoice = factories.invoice(owner=owner, issued=True, company=factories.AccountFactory.build().name + " X")
        payment_record(invoice=invoice, actor=factories.accountant(), amount=Money("10.00", "EUR"))
        Activity.objects.create(target=invoice, owner=owner, kind=ActivityKind.NOTE, subject="Sent")
        Activity.objects.create(target=invoice.order.opportunity, owner=owner, kind=ActivityKind.CALL,
                                subject="Call")


def _queries(api, endpoint: str) -> tuple[int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = api.get(f"/api/{endpoint}/?page_size=100")
    assert response.status_code == 200
    return len(captured.captured_queries), len(response.json()["results"])


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_list_queries_do_not_grow_with_rows(api, seller, endpoint, django_assert_max_num_queries):
    _records(seller, 1)
    few_queries, few_rows = _queries(api, endpoint)
    _records(seller, 3)

    with django_assert_max_num_queries(few_queries):
        response = api.get(f"/api/{endpoint}/?page_size=100")

    assert len(response.json()["results"]) > few_rows
    assert few_queries <= 8
