"""List pages count at most COUNT_LIMIT rows: past it they say "N+" instead of scanning the whole table."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.views import BoundedPaginator
from leads.models import Lead
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_limit(monkeypatch):
    monkeypatch.setattr(BoundedPaginator, "count_limit", 30)


def test_a_list_longer_than_the_limit_shows_a_bounded_count(seller_client, seller, small_limit):
    for _ in range(40):
        factories.lead(owner=seller)

    page = seller_client.get("/leads/").content.decode()

    assert "1–25 of 30+" in page
    assert "1 / 2+" in page


def test_a_list_within_the_limit_shows_the_exact_count(seller_client, seller, small_limit):
    for _ in range(27):
        factories.lead(owner=seller)

    page = seller_client.get("/leads/").content.decode()

    assert "1–25 of 27" in page and "27+" not in page
    assert "1 / 2</span>" in page


def test_the_count_query_stops_after_limit_plus_one_rows(seller, small_limit):
    for _ in range(35):
        factories.lead(owner=seller)
    paginator = BoundedPaginator(Lead.objects.order_by("pk"), 10)

    with CaptureQueriesContext(connection) as ctx:
        assert paginator.count == 30
        assert paginator.capped
        assert paginator.num_pages == 3
    [count_sql] = [q["sql"] for q in ctx.captured_queries]
    assert "COUNT(" in count_sql.upper() and "LIMIT 31" in count_sql.upper()
    # The last counted page is reachable and full; the rows past the limit are left to a narrower search.
    assert len(paginator.page(3).object_list) == 10


def test_count_label_groups_thousands(seller):
    paginator = BoundedPaginator(Lead.objects.none(), 10)
    paginator.__dict__["_found"] = 10_001  # what the LIMITed count returns at 100,000 rows
    paginator.count_limit = 10_000
    assert paginator.count_label == "10,000+"
