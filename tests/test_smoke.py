from decimal import Decimal

from djmoney.money import Money

from invoices.services import payment_record
from tests import factories


def test_a_lead_goes_all_the_way_to_a_paid_invoice(seller):
    invoice = factories.invoice(owner=seller, issued=True)
    payment_record(invoice=invoice, actor=factories.accountant(), amount=Money(Decimal("238.00"), "EUR"))
    invoice.refresh_from_db()
    assert invoice.state == "paid"
    assert invoice.number.startswith("INV-")
    assert invoice.order.quote.opportunity.state == "won"
