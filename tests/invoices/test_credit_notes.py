"""An issued invoice never changes (model, form, admin, services); corrections are credit notes."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from djmoney.money import Money

from crm.models import Sequence
from crm.workflow import DomainError
from invoices.forms import InvoiceDraftForm
from invoices.models import CustomerCredit, ImmutableInvoice, Invoice, InvoiceKind, InvoiceLine, InvoiceState
from invoices.services import credit_note_create, invoice_issue, invoice_update_draft, payment_record
from tests import factories

pytestmark = pytest.mark.django_db


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


@pytest.fixture
def invoice(seller):
    return factories.invoice(owner=seller, issued=True)


def stored(invoice: Invoice) -> dict:
    return Invoice.objects.filter(pk=invoice.pk).values().get()


# --- immutability ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("field", "value"), [
    ("gross_total", eur("1.00")), ("billing_address", "Elsewhere"), ("issue_date", None), ("number", "X-1"),
    ("seller", {"legal_name": "Someone else"}), ("customer_reference", "changed"),
])
def test_saving_a_legal_field_of_an_issued_invoice_raises_and_writes_nothing(invoice, field, value):
    before = stored(invoice)
    setattr(invoice, field, value)

    with pytest.raises(ImmutableInvoice, match="credit note"):
        invoice.save()

    assert stored(invoice) == before


def test_a_stale_instance_cannot_slip_a_change_through(seller):
    draft = factories.invoice(owner=seller)
    stale = Invoice.objects.get(pk=draft.pk)
    invoice_issue(invoice=draft, actor=factories.accountant())
    stale.billing_address = "Elsewhere"

    with pytest.raises(ImmutableInvoice):
        stale.save()


def test_lines_of_an_issued_invoice_cannot_be_changed_added_or_deleted(invoice):
    line = invoice.lines.first()
    line.quantity = Decimal(5)
    with pytest.raises(ImmutableInvoice):
        line.save()
    with pytest.raises(ImmutableInvoice):
        line.delete()
    with pytest.raises(ImmutableInvoice):
        InvoiceLine(invoice=invoice, description="extra", unit_price=eur("1.00")).save()
    assert invoice.lines.count() == 2 and invoice.lines.filter(quantity=1).count() == 2


def test_an_issued_invoice_cannot_be_deleted(invoice):
    with pytest.raises(ImmutableInvoice):
        invoice.delete()
    assert Invoice.objects.filter(pk=invoice.pk).exists()


def test_bookkeeping_fields_still_move_on_an_issued_invoice(invoice, seller):
    payment_record(invoice=invoice, actor=factories.accountant(), amount=eur("38.00"))
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.PARTIALLY_PAID and invoice.amount_paid == eur("38.00")


def test_the_draft_service_and_form_refuse_an_issued_invoice(invoice, seller, accountant_client):
    before = stored(invoice)
    with pytest.raises(DomainError, match="issued and cannot be changed"):
        invoice_update_draft(invoice=invoice, actor=factories.accountant(), billing_address="Elsewhere")

    response = accountant_client.post(reverse("invoices:update", args=[invoice.pk]),
                                  {"billing_address": "Elsewhere", "customer_reference": "", "payment_term": ""},
                                  follow=True)
    assert "issued and cannot be changed" in response.content.decode()
    assert stored(invoice) == before
    assert InvoiceDraftForm(invoice=invoice).initial["billing_address"] == invoice.billing_address


def test_model_validation_reports_the_refusal(invoice):
    invoice.full_clean()  # unchanged: fine
    invoice.billing_address = "Elsewhere"
    with pytest.raises(ValidationError, match="credit note"):
        invoice.full_clean()


def test_a_draft_stays_editable(seller):
    draft = factories.invoice(owner=seller)
    invoice_update_draft(invoice=draft, actor=factories.accountant(), billing_address="New address")
    draft.refresh_from_db()
    assert draft.billing_address == "New address"


# --- credit notes ---------------------------------------------------------------------------------------------

def test_a_full_credit_note_has_its_own_series_and_cancels_the_invoice(invoice, seller):
    note = credit_note_create(invoice=invoice, actor=factories.accountant(), reason="Wrong customer")

    assert note.kind == InvoiceKind.CREDIT_NOTE and note.credit_of == invoice
    assert note.number.startswith("CN-") and note.number.endswith("-00001")
    assert note.state == InvoiceState.ISSUED
    # Positive amounts: the document type (381) carries the sign.
    assert note.gross_total == invoice.gross_total == eur("238.00")
    assert [line.source_line_id for line in note.lines.order_by("position")] == list(
        invoice.lines.order_by("position").values_list("pk", flat=True))
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.CANCELLED
    assert invoice.amount_credited == eur("238.00") and invoice.balance_due == eur("0.00")


def test_credit_note_numbers_are_gapless_in_their_own_series(seller):
    notes = [credit_note_create(invoice=factories.invoice(owner=seller, issued=True),
                                actor=factories.accountant(), reason="x")
             for _ in range(3)]
    assert [n.number[-5:] for n in notes] == ["00001", "00002", "00003"]
    assert Sequence.objects.get(series="CN").last_value == 3
    assert Sequence.objects.get(series="INV").last_value == 3


def test_a_partial_credit_lowers_the_balance_and_keeps_the_invoice_open(invoice, seller):
    first = invoice.lines.order_by("position").first()

    note = credit_note_create(invoice=invoice, actor=factories.accountant(), reason="One item returned",
                              quantities={first.pk: Decimal(1)})

    assert note.gross_total == eur("119.00")
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.ISSUED and invoice.balance_due == eur("119.00")
    payment_record(invoice=invoice, actor=factories.accountant(), amount=eur("119.00"))
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.PAID


def test_partial_credits_add_up_to_a_cancellation(invoice, seller):
    a, b = invoice.lines.order_by("position")
    credit_note_create(invoice=invoice, actor=factories.accountant(), reason="first", quantities={a.pk: Decimal(1)})
    credit_note_create(invoice=invoice, actor=factories.accountant(), reason="second", quantities={b.pk: Decimal(1)})
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.CANCELLED


@pytest.mark.parametrize("quantity", ["2", "-1"])
def test_crediting_more_than_was_invoiced_is_refused_and_writes_nothing(invoice, seller, quantity):
    line = invoice.lines.first()
    with pytest.raises(DomainError, match="cannot be credited"):
        credit_note_create(invoice=invoice, actor=factories.accountant(), reason="x",
                           quantities={line.pk: Decimal(quantity)})
    assert not Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).exists()
    assert not Sequence.objects.filter(series="CN").exclude(last_value=0).exists()


def test_credit_note_refusals(invoice, seller):
    with pytest.raises(DomainError, match="Say why"):
        credit_note_create(invoice=invoice, actor=factories.accountant(), reason="  ")
    with pytest.raises(DomainError, match="only issued invoices"):
        credit_note_create(invoice=factories.invoice(owner=seller), actor=factories.accountant(), reason="x")
    note = credit_note_create(invoice=invoice, actor=factories.accountant(), reason="x")
    with pytest.raises(DomainError, match="cannot itself be credited"):
        credit_note_create(invoice=note, actor=factories.accountant(), reason="x")
    with pytest.raises(DomainError, match="only issued invoices"):
        credit_note_create(invoice=invoice, actor=factories.accountant(), reason="again")
    assert Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).count() == 1


def test_crediting_a_paid_invoice_holds_the_refund_as_customer_credit(invoice, seller):
    payment_record(invoice=invoice, actor=factories.accountant(), amount=eur("238.00"))

    credit_note_create(invoice=invoice, actor=factories.accountant(), reason="Cancelled after payment")

    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.CANCELLED
    credit = CustomerCredit.objects.get()
    assert credit.amount == eur("238.00") and credit.account == invoice.account


def test_cancel_only_through_a_credit_note(invoice, seller):
    assert not invoice.can("cancel_by_credit_note")


def test_payments_on_a_credit_note_are_refused(invoice, seller):
    note = credit_note_create(invoice=invoice, actor=factories.accountant(), reason="x")
    with pytest.raises(DomainError, match="payments can only be recorded"):
        payment_record(invoice=note, actor=factories.accountant(), amount=eur("1.00"))


def test_credit_note_page_flow(invoice, accountant_client):
    line = invoice.lines.first()
    other = invoice.lines.exclude(pk=line.pk).get()
    page = accountant_client.get(invoice.get_absolute_url()).content.decode()
    assert "Issue a credit note" in page

    response = accountant_client.post(reverse("invoices:credit_note", args=[invoice.pk]),
                                  {"reason": "Damaged", f"qty_{line.pk}": "1", f"qty_{other.pk}": "0"})

    note = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    assert response.status_code == 302 and response.url == note.get_absolute_url()
    note_page = accountant_client.get(note.get_absolute_url()).content.decode()
    assert "Credit note" in note_page and invoice.number in note_page
    assert note.number in accountant_client.get(invoice.get_absolute_url()).content.decode()


def test_credit_note_page_refusal_shows_the_error_and_writes_nothing(invoice, accountant_client):
    line = invoice.lines.first()
    response = accountant_client.post(reverse("invoices:credit_note", args=[invoice.pk]),
                                  {"reason": "Too much", f"qty_{line.pk}": "5"})
    assert response.status_code == 400
    assert "cannot be credited" in response.content.decode()
    assert not Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).exists()


def test_another_teams_seller_cannot_credit(invoice, other_team_seller, client):
    client.force_login(other_team_seller)
    response = client.post(reverse("invoices:credit_note", args=[invoice.pk]), {"reason": "x"})
    assert response.status_code == 404
    assert not Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).exists()
