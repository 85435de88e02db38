"""Quotes (with lines), orders, invoices and payments over the API: the whole flow through POST actions,
drafts editable and issued documents not, scoping, and bounded list queries."""

from __future__ import annotations

from decimal import Decimal

import pytest

from invoices.models import Invoice, Payment
from orders.models import Order
from quotes.models import Quote
from tests import factories

pytestmark = pytest.mark.django_db


# --- quotes --------------------------------------------------------------------------------------------------


def test_write_a_quote_with_lines_and_send_it(api, seller):
    deal = factories.opportunity(owner=seller)
    tax = factories.TaxRateFactory()
    product = factories.ProductFactory(tax_rate=tax)

    created = api.post("/api/quotes/", {"opportunity": deal.pk, "title": "Offer"}, format="json")
    quote_id = created.json()["id"]
    with_line = api.post(f"/api/quotes/{quote_id}/lines/", {"product": product.pk, "quantity": "2"}, format="json")
    free = api.post(f"/api/quotes/{quote_id}/lines/", {"description": "Setup", "unit_price": "250.00",
                                                      "tax_rate": tax.pk}, format="json")
    sent = api.post(f"/api/quotes/{quote_id}/send/")

    assert created.status_code == 201, created.json()
    assert with_line.status_code == 201, with_line.json()
    assert free.status_code == 201, free.json()
    assert [line["description"] for line in free.json()["lines"]] == [product.name, "Setup"]
    body = sent.json()
    assert body["state"] == "sent"
    quote = Quote.objects.get(pk=quote_id)
    assert body["gross_total"] == {"amount": str(quote.gross_total.amount.quantize(Decimal("0.01"))),
                                   "currency": "EUR"}
    assert isinstance(body["lines"][1]["unit_price"]["amount"], str)


def test_change_and_remove_lines_of_a_draft(api, seller):
    quote = factories.quote(owner=seller, lines=2)
    first, second = quote.lines.order_by("position")

    changed = api.patch(f"/api/quotes/{quote.pk}/lines/{first.pk}/", {"quantity": "3"}, format="json")
    removed = api.delete(f"/api/quotes/{quote.pk}/lines/{second.pk}/")

    assert changed.status_code == 200, changed.json()
    assert changed.json()["lines"][0]["quantity"] == "3.000"
    assert [line["id"] for line in removed.json()["lines"]] == [first.pk]
    assert removed.json()["net_total"] == {"amount": "300.00", "currency": "EUR"}


def test_a_line_of_another_quote_is_a_404(api, seller):
    quote = factories.quote(owner=seller, lines=1)
    other = factories.quote(owner=seller, lines=1)

    response = api.patch(f"/api/quotes/{quote.pk}/lines/{other.lines.get().pk}/", {"quantity": "9"},
                         format="json")

    assert response.status_code == 404
    assert other.lines.get().quantity == Decimal(1)


def test_a_sent_quote_refuses_line_and_field_edits(api, seller):
    quote = factories.quote(owner=seller, sent=True)
    line = quote.lines.first()

    line_edit = api.patch(f"/api/quotes/{quote.pk}/lines/{line.pk}/", {"quantity": "5"}, format="json")
    field_edit = api.patch(f"/api/quotes/{quote.pk}/", {"title": "Changed"}, format="json")

    assert line_edit.status_code == 400
    assert "only drafts can be edited" in line_edit.json()["detail"]
    assert field_edit.status_code == 400
    quote.refresh_from_db()
    assert quote.title != "Changed"


def test_sending_an_empty_quote_is_refused(api, seller):
    quote = factories.quote(owner=seller, lines=0)

    response = api.post(f"/api/quotes/{quote.pk}/send/")

    assert response.status_code == 400
    assert response.json()["detail"] == "Add at least one line before sending the quote."


def test_accept_creates_exactly_one_order(api, seller):
    quote = factories.quote(owner=seller, sent=True)

    first = api.post(f"/api/quotes/{quote.pk}/accept/")
    second = api.post(f"/api/quotes/{quote.pk}/accept/")

    assert first.status_code == 200, first.json()
    assert first.json()["quote"] == quote.pk and first.json()["state"] == "confirmed"
    assert second.json()["id"] == first.json()["id"]
    assert Order.objects.filter(quote=quote).count() == 1


def test_reject_revise_and_cancel(api, seller):
    rejected = factories.quote(owner=seller, sent=True)
    revised = factories.quote(owner=seller, sent=True)
    draft = factories.quote(owner=seller)

    r = api.post(f"/api/quotes/{rejected.pk}/reject/", {"reason": "Too expensive"}, format="json")
    v = api.post(f"/api/quotes/{revised.pk}/revise/")
    c = api.post(f"/api/quotes/{draft.pk}/cancel/")

    assert (r.json()["state"], r.json()["rejection_reason"]) == ("rejected", "Too expensive")
    assert v.status_code == 201 and v.json()["version"] == 2 and v.json()["state"] == "draft"
    assert c.json()["state"] == "cancelled"


def test_quote_list_is_bounded(api, seller, django_assert_max_num_queries):
    for _ in range(4):
        factories.quote(owner=seller, lines=3)

    with django_assert_max_num_queries(7):
        response = api.get("/api/quotes/")

    assert [len(q["lines"]) for q in response.json()["results"]] == [3, 3, 3, 3]


def test_another_teams_quote_is_a_404(other_api, seller):
    quote = factories.quote(owner=seller, sent=True)

    assert other_api.post(f"/api/quotes/{quote.pk}/accept/").status_code == 404
    assert not Order.objects.exists()


# --- orders ----------------------------------------------------------------------------------------------------


def test_order_update_and_fulfilment(api, seller):
    order = factories.order(owner=seller)

    patched = api.patch(f"/api/orders/{order.pk}/", {"customer_reference": "PO-77"}, format="json")
    started = api.post(f"/api/orders/{order.pk}/start-fulfilment/")
    fulfilled = api.post(f"/api/orders/{order.pk}/fulfil/")

    assert patched.json()["customer_reference"] == "PO-77"
    assert started.json()["state"] == "in_fulfilment"
    assert fulfilled.json()["state"] == "fulfilled"


def test_orders_are_not_created_directly(api):
    response = api.post("/api/orders/", {}, format="json")

    assert response.status_code == 405
    assert response.json()["detail"]


def test_record_a_delivery(api, seller):
    order = factories.order(owner=seller)
    first, second = order.lines.order_by("position")

    partial = api.post(f"/api/orders/{order.pk}/delivery/", {"lines": [{"line": first.pk, "delivered": "1"}]},
                       format="json")
    too_much = api.post(f"/api/orders/{order.pk}/delivery/", {"lines": [{"line": second.pk, "delivered": "9"}]},
                        format="json")

    assert partial.json()["state"] == "in_fulfilment"
    assert too_much.status_code == 400
    assert "must be between 0 and the 1 ordered" in too_much.json()["detail"]


def test_cancel_needs_a_reason(api, seller):
    order = factories.order(owner=seller)

    refused = api.post(f"/api/orders/{order.pk}/cancel/", {}, format="json")
    cancelled = api.post(f"/api/orders/{order.pk}/cancel/", {"reason": "Customer withdrew"}, format="json")

    assert refused.status_code == 400 and "reason" in refused.json()["errors"]
    assert cancelled.json()["state"] == "cancelled"


def test_invoice_a_fulfilled_order(api, seller):
    order = factories.order(owner=seller, fulfilled=True)

    response = api.post(f"/api/orders/{order.pk}/invoice/", {"mode": "full"}, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["state"] == "draft" and response.json()["number"] is None
    assert response.json()["gross_total"] == {"amount": "238.00", "currency": "EUR"}


def test_invoicing_an_unfulfilled_order_in_full_is_refused(api, seller):
    order = factories.order(owner=seller)

    response = api.post(f"/api/orders/{order.pk}/invoice/", {"mode": "full"}, format="json")

    assert response.status_code == 400
    assert "invoice it once it is fulfilled" in response.json()["detail"]
    assert not Invoice.objects.exists()


# --- invoices and payments -------------------------------------------------------------------------------------


def test_edit_a_draft_then_issue_it(accountant_api, seller):
    invoice = factories.invoice(owner=seller)

    patched = accountant_api.patch(f"/api/invoices/{invoice.pk}/", {"customer_reference": "PO-1"}, format="json")
    issued = accountant_api.post(f"/api/invoices/{invoice.pk}/issue/")

    assert patched.json()["customer_reference"] == "PO-1"
    assert issued.status_code == 200
    assert issued.json()["state"] == "issued" and issued.json()["number"]


def test_an_issued_invoice_refuses_edits_with_a_clear_json_error(accountant_api, seller):
    invoice = factories.invoice(owner=seller, issued=True)

    response = accountant_api.patch(f"/api/invoices/{invoice.pk}/", {"customer_reference": "changed"}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "detail": f"{invoice.number} is issued and cannot be changed; issue a credit note instead.",
        "code": "refused",
    }
    invoice.refresh_from_db()
    assert invoice.customer_reference == ""


def test_record_payments_until_paid(accountant_api, seller):
    invoice = factories.invoice(owner=seller, issued=True)

    part = accountant_api.post("/api/payments/",
                               {"invoice": invoice.pk, "amount": {"amount": "100.00", "currency": "EUR"}},
                    format="json")
    rest = accountant_api.post("/api/payments/",
                               {"invoice": invoice.pk, "amount": {"amount": "138.00", "currency": "EUR"},
                                       "method": "card", "reference": "TX-9"}, format="json")

    assert part.status_code == 201, part.json()
    assert part.json()["amount"] == {"amount": "100.00", "currency": "EUR"}
    assert accountant_api.get(f"/api/invoices/{invoice.pk}/").json()["state"] == "paid"
    assert rest.json()["method"] == "card"
    assert [p["id"] for p in accountant_api.get(f"/api/payments/?invoice={invoice.pk}").json()["results"]] == [
        rest.json()["id"], part.json()["id"]]


def test_a_payment_on_a_draft_or_in_another_currency_is_refused(accountant_api, seller):
    draft = factories.invoice(owner=seller)
    issued = factories.invoice(owner=seller, issued=True)

    on_draft = accountant_api.post("/api/payments/",
                                   {"invoice": draft.pk, "amount": {"amount": "10", "currency": "EUR"}},
                        format="json")
    wrong_currency = accountant_api.post("/api/payments/", {"invoice": issued.pk,
                                                 "amount": {"amount": "10", "currency": "USD"}}, format="json")

    assert on_draft.status_code == 400 and "payments can only be recorded" in on_draft.json()["detail"]
    assert wrong_currency.status_code == 400 and "cannot be booked" in wrong_currency.json()["detail"]
    assert not Payment.objects.exists()


def test_credit_note_cancels_a_fully_credited_invoice(accountant_api, seller):
    invoice = factories.invoice(owner=seller, issued=True)

    response = accountant_api.post(f"/api/invoices/{invoice.pk}/credit-note/",
                                   {"reason": "Wrong customer"}, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["kind"] == "credit_note" and response.json()["credit_of"] == invoice.pk
    assert accountant_api.get(f"/api/invoices/{invoice.pk}/").json()["state"] == "cancelled"


def test_invoices_and_payments_of_another_team_are_invisible(other_api, seller):
    invoice = factories.invoice(owner=seller, issued=True)
    from djmoney.money import Money

    from invoices.services import payment_record

    payment = payment_record(invoice=invoice, actor=factories.accountant(), amount=Money("10.00", "EUR"))

    assert other_api.get(f"/api/invoices/{invoice.pk}/").status_code == 404
    assert other_api.get(f"/api/payments/{payment.pk}/").status_code == 404
    refused = other_api.post("/api/payments/", {"invoice": invoice.pk,
                                                "amount": {"amount": "5", "currency": "EUR"}}, format="json")
    assert refused.status_code == 400 and "invoice" in refused.json()["errors"]
    assert Payment.objects.count() == 1


def test_the_accountant_sees_invoices_of_every_team(accountant_api, seller):
    invoice = factories.invoice(owner=seller, issued=True)

    assert [r["id"] for r in accountant_api.get("/api/invoices/").json()["results"]] == [invoice.pk]
    assert accountant_api.get("/api/leads/").json()["results"] == []


def test_invoice_list_is_bounded(accountant_api, seller, django_assert_max_num_queries):
    for _ in range(3):
        factories.invoice(owner=seller, issued=True)

    with django_assert_max_num_queries(6):
        response = accountant_api.get("/api/invoices/")

    assert len(response.json()["results"]) == 3
