"""crm.numbering: sequential, per series and year, gapless (a rolled-back number is given back)."""

from datetime import date

import pytest
from django.db import transaction
from django.utils import timezone

from crm import numbering
from crm.models import Sequence
from invoices.models import InvoiceState
from invoices.services import invoice_issue
from tests import factories

DAY = date(2026, 3, 15)


class Boom(Exception):
    pass


@pytest.mark.django_db
def test_numbers_are_sequential_per_series_and_year():
    assert numbering.next_number("Q", on=DAY) == "Q-2026-00001"
    assert numbering.next_number("Q", on=DAY) == "Q-2026-00002"
    assert numbering.next_number("Q", on=DAY) == "Q-2026-00003"
    assert Sequence.objects.get(series="Q", year=2026).last_value == 3


@pytest.mark.django_db
def test_series_are_independent():
    assert numbering.next_number("Q", on=DAY) == "Q-2026-00001"
    assert numbering.next_number("INV", on=DAY) == "INV-2026-00001"
    assert numbering.next_number("Q", on=DAY) == "Q-2026-00002"
    assert numbering.next_number("INV", on=DAY) == "INV-2026-00002"


@pytest.mark.django_db
def test_a_new_year_restarts_at_one():
    assert numbering.next_number("INV", on=date(2026, 12, 31)) == "INV-2026-00001"
    assert numbering.next_number("INV", on=date(2026, 12, 31)) == "INV-2026-00002"

    assert numbering.next_number("INV", on=date(2027, 1, 1)) == "INV-2027-00001"
    # a late entry for the old year continues the old year's sequence
    assert numbering.next_number("INV", on=date(2026, 12, 30)) == "INV-2026-00003"


@pytest.mark.django_db
def test_the_year_defaults_to_today():
    year = timezone.localdate().year
    assert numbering.next_number("L") == f"L-{year}-00001"


def test_number_format_pads_to_five_digits():
    assert numbering.format_number("SO", 2026, 42) == "SO-2026-00042"
    assert numbering.format_number("SO", 2026, 123456) == "SO-2026-123456"


def test_next_number_outside_a_transaction_is_refused():
    # Outside a transaction the number could never be given back on failure.
    with pytest.raises(RuntimeError, match="atomic"):
        numbering.next_number("INV")


@pytest.mark.django_db
def test_a_rolled_back_transaction_gives_its_number_back():
    with pytest.raises(Boom), transaction.atomic():
        assert numbering.next_number("INV", on=DAY) == "INV-2026-00001"
        raise Boom

    assert numbering.next_number("INV", on=DAY) == "INV-2026-00001"


@pytest.mark.django_db
def test_a_failed_invoice_issue_leaves_no_gap(seller):
    """Gapless: an issue that fails after taking its number rolls back, and the next issue reuses it."""
    first = factories.invoice(owner=seller)
    second = factories.invoice(owner=seller)
    year = timezone.localdate().year

    with pytest.raises(Boom), transaction.atomic():
        issued = invoice_issue(invoice=first, actor=factories.accountant())
        assert issued.number == f"INV-{year}-00001"
        raise Boom  # e.g. the PDF storage or the mail server failed later in the same request

    first.refresh_from_db()
    assert first.state == InvoiceState.DRAFT
    assert first.number is None
    assert first.issue_date is None

    second = invoice_issue(invoice=second, actor=factories.accountant())
    assert second.number == f"INV-{year}-00001"
    first = invoice_issue(invoice=first, actor=factories.accountant())
    assert first.number == f"INV-{year}-00002"
