"""Archived rows are a handful in every table: their columns are indexed for those rows only (issue 6)."""

import pytest
from django.db import connection

from crm.models import Account, Contact
from invoices.models import Invoice
from leads.models import Lead
from opportunities.models import Opportunity
from orders.models import Order
from quotes.models import Quote

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(connection.vendor != "postgresql", reason="index definitions are PostgreSQL's")
@pytest.mark.parametrize("model", [Account, Contact, Lead, Opportunity, Quote, Order, Invoice])
def test_archive_columns_have_only_partial_indexes(model):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [model._meta.db_table])
        definitions = [row[0] for row in cursor.fetchall()]
    on_archive = [d for d in definitions if "(archived_at)" in d or "(archived_by_id)" in d]

    assert len(on_archive) == 2, on_archive
    assert all(d.endswith("IS NOT NULL)") for d in on_archive), on_archive
