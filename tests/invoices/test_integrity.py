"""The SHA-256 chain of issued documents, and `manage.py verify_invoices` proving it intact."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import QuerySet
from djmoney.money import Money

from invoices.integrity import document_hash
from invoices.models import Invoice, InvoiceLine
from invoices.services import credit_note_create
from tests import factories

pytestmark = pytest.mark.django_db


def verify() -> str:
    out = StringIO()
    call_command("verify_invoices", stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def chain(seller):
    invoices = [factories.invoice(owner=seller, issued=True) for _ in range(3)]
    note = credit_note_create(invoice=invoices[0], actor=factories.accountant(), reason="wrong price")
    return invoices, note


def test_each_document_is_chained_to_the_previous_one_of_its_series(chain):
    (first, second, third), note = chain
    first, second, third = (Invoice.objects.get(pk=i.pk) for i in (first, second, third))
    assert first.previous_hash == ""
    assert second.previous_hash == first.chain_hash and third.previous_hash == second.chain_hash
    assert note.previous_hash == ""  # the first credit note starts its own chain
    assert len({first.chain_hash, second.chain_hash, third.chain_hash, note.chain_hash}) == 4
    assert first.chain_hash == document_hash(first, first.lines.all(), "")


def test_verify_passes_on_an_untouched_chain(chain):
    assert "OK: 4 document(s) in 2 chain(s)" in verify()


@pytest.mark.parametrize("tamper", [
    lambda inv: Invoice.objects.filter(pk=inv.pk).update(gross_total=Money("1.00", "EUR")),
    lambda inv: Invoice.objects.filter(pk=inv.pk).update(billing_address="Elsewhere"),
    lambda inv: InvoiceLine.objects.filter(invoice=inv).update(description="Something else"),
    lambda inv: Invoice.objects.filter(pk=inv.pk).update(seller={"legal_name": "Fake Ltd"}),
], ids=["total", "address", "line", "seller"])
def test_a_raw_update_is_detected_and_names_the_first_broken_document(chain, tamper):
    (_first, second, _third), _note = chain
    tamper(second)

    with pytest.raises(CommandError, match=f"Hash chain broken at {second.number}: its content does not match"):
        verify()


def test_recomputing_the_hash_of_a_tampered_row_breaks_the_next_link(chain):
    (_first, second, third), _note = chain
    Invoice.objects.filter(pk=second.pk).update(billing_address="Elsewhere")
    forged = Invoice.objects.get(pk=second.pk)
    Invoice.objects.filter(pk=second.pk).update(
        chain_hash=document_hash(forged, forged.lines.all(), forged.previous_hash))

    with pytest.raises(CommandError, match=f"broken at {third.number}: does not point at the hash"):
        verify()


def test_a_deleted_document_is_detected_as_a_gap(chain):
    (_first, second, third), _note = chain
    # Tampering below the application: Django's plain QuerySet.delete, past InvoiceQuerySet's refusal.
    QuerySet.delete(Invoice.objects.filter(pk=second.pk))

    with pytest.raises(CommandError, match=f"broken at {third.number}: number gap"):
        verify()
