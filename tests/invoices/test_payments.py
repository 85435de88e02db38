"""Payment terms with early-payment discount, part and over-payments, customer credit."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from djmoney.money import Money

from crm.workflow import DomainError
from invoices.models import CustomerCredit, InvoiceState, Payment, PaymentMethod, PaymentTerm
from invoices.services import (
    customer_credit_apply,
    customer_credit_balance,
    invoice_create_from_order,
    invoice_issue,
    payment_record,
)
from tests import factories

pytestmark = pytest.mark.django_db


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


@pytest.fixture
def skonto(db):
    return PaymentTerm.objects.create(name="14 days net, 2 % 10 days", net_days=14, discount_percent=Decimal(2),
                                      discount_days=10, is_default=True)


def test_payment_term_gives_both_dates_and_amounts(seller, seller_client, skonto):
    day = timezone.localdate()
    invoice = factories.invoice(owner=seller)
    assert invoice.payment_term == skonto
    invoice = invoice_issue(invoice=invoice, actor=factories.accountant(), issue_date=day)

    assert invoice.due_date == day + timedelta(days=14)
    assert invoice.discount_due_date == day + timedelta(days=10)
    assert invoice.discounted_total == eur("233.24")  # 238.00 − 2 %
    page = seller_client.get(invoice.get_absolute_url()).content.decode()
    assert "14 days net, 2 % 10 days" in page and "233.24" in page and "238.00" in page


def test_several_part_payments_then_paid(seller):
    invoice = factories.invoice(owner=seller, issued=True)
    for amount in ("100.00", "100.00"):
        payment_record(invoice=invoice, actor=factories.accountant(), amount=eur(amount))
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.PARTIALLY_PAID and invoice.balance_due == eur("38.00")
    payment_record(invoice=invoice, actor=factories.accountant(), amount=eur("38.00"))
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.PAID and invoice.balance_due == eur("0.00")
    assert not CustomerCredit.objects.exists()


def test_wrong_currency_is_refused_and_nothing_written(seller):
    invoice = factories.invoice(owner=seller, issued=True)
    with pytest.raises(DomainError, match="a payment in USD cannot be booked"):
        payment_record(invoice=invoice, actor=factories.accountant(), amount=Money("238.00", "USD"))
    assert not Payment.objects.exists() and not CustomerCredit.objects.exists()
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.ISSUED


def test_over_payment_becomes_credit_that_pays_the_next_invoice(seller, accountant_client):
    first = factories.invoice(owner=seller, issued=True)
    payment_record(invoice=first, actor=factories.accountant(), amount=eur("300.00"))
    account = first.account
    assert customer_credit_balance(account.pk, "EUR") == eur("62.00")

    order = factories.order(owner=seller, fulfilled=True)
    type(order).objects.filter(pk=order.pk).update(account=account)
    order.refresh_from_db()
    second = invoice_issue(invoice=invoice_create_from_order(order=order, actor=factories.accountant()),
                           actor=factories.accountant())
    page = accountant_client.get(second.get_absolute_url()).content.decode()
    assert "Use credit to pay" in page and "62.00" in page

    response = accountant_client.post(reverse("invoices:apply_credit", args=[second.pk]))

    assert response.status_code == 302
    second.refresh_from_db()
    assert second.state == InvoiceState.PARTIALLY_PAID and second.balance_due == eur("176.00")
    assert second.payments.get().method == PaymentMethod.CUSTOMER_CREDIT
    assert customer_credit_balance(account.pk, "EUR") == eur("0.00")


def test_applying_credit_without_any_is_refused(seller):
    invoice = factories.invoice(owner=seller, issued=True)
    with pytest.raises(DomainError, match="has no credit"):
        customer_credit_apply(invoice=invoice, actor=factories.accountant())
    assert not Payment.objects.exists()


def test_balance_due_is_shown_on_the_page(seller, seller_client):
    invoice = factories.invoice(owner=seller, issued=True)
    payment_record(invoice=invoice, actor=factories.accountant(), amount=eur("38.00"))
    page = seller_client.get(invoice.get_absolute_url()).content.decode()
    assert 'data-testid="balance-due"' in page and "200.00" in page
