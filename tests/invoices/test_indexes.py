"""The invoice table keeps only the indexes a query uses: the overdue sweep writes one entry into each of them
for every invoice it moves (issue 6)."""

import pytest
from django.db import IntegrityError, connection, transaction

from invoices.models import DunningNotice, Invoice
from tests import factories

pytestmark = pytest.mark.django_db


def test_invoice_numbers_stay_unique_in_the_database(seller):
    first = factories.invoice(owner=seller, issued=True)
    second = factories.invoice(owner=seller)
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=second.pk).update(number=first.number)


def index_columns(model) -> dict[str, tuple[list[str], bool]]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return {name: (info["columns"], info["unique"]) for name, info in found.items()
            if (info["index"] or info["unique"]) and not info["primary_key"]}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="index definitions are PostgreSQL's")
def test_no_duplicate_or_pattern_indexes_on_invoices():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [Invoice._meta.db_table])
        definitions = [row[0] for row in cursor.fetchall()]
    assert not [d for d in definitions if "pattern_ops" in d]
    leading = [columns[0] for columns, _unique in index_columns(Invoice).values()]
    assert leading.count("state") == 1  # (state, due_date) only
    partial = [d for d in definitions if " WHERE " in d]
    assert len(partial) == 3  # credit_of, archived_at, archived_by: NULL on almost every invoice


def test_dunning_notices_are_found_by_invoice_through_the_unique_index():
    indexes = index_columns(DunningNotice)
    assert (["invoice_id", "level_id"], True) in indexes.values()
    assert (["invoice_id"], False) not in indexes.values()
