import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from invoices.models import Payment
from invoices.services import invoice_render_pdf
from tests import factories

pytestmark = pytest.mark.django_db


def pay(client, invoice, **fields):
    data = {"amount": "238.00", "currency": "EUR", "received_on": timezone.localdate().isoformat(),
            "method": "bank_transfer", "reference": "", **fields}
    return client.post(reverse("invoices:payment", args=[invoice.pk]), data)


def test_list_has_a_bounded_number_of_queries(seller_client, seller, django_assert_max_num_queries):
    for i in range(30):
        factories.invoice(owner=seller, issued=i % 2 == 0)

    with django_assert_max_num_queries(15):
        response = seller_client.get(reverse("invoices:list"))

    body = response.content.decode()
    assert response.status_code == 200
    assert len(re.findall(r'href="/invoices/\d+/"', body)) == 25
    assert "Balance due" in body and "Draft" in body


def test_list_filters_overdue_and_open(seller_client, seller):
    from invoices.services import invoices_sweep_overdue

    overdue = factories.invoice(owner=seller, issued=True)
    invoices_sweep_overdue(today=overdue.due_date + timezone.timedelta(days=1))
    draft = factories.invoice(owner=seller)

    overdue_page = seller_client.get(reverse("invoices:list"), {"state": "overdue"}).content.decode()
    open_page = seller_client.get(reverse("invoices:list"), {"state": "open"}).content.decode()

    assert overdue.number in overdue_page
    assert reverse("invoices:detail", args=[draft.pk]) not in overdue_page
    assert overdue.number in open_page and reverse("invoices:detail", args=[draft.pk]) not in open_page


def test_draft_detail_shows_draft_and_issue_button(accountant_client, seller):
    invoice = factories.invoice(owner=seller)

    page = accountant_client.get(reverse("invoices:detail", args=[invoice.pk])).content.decode()

    assert "Draft invoice" in page
    assert reverse("invoices:issue", args=[invoice.pk]) in page
    assert 'data-testid="payment-form"' not in page


def test_issue_assigns_sequential_numbers(accountant_client, seller):
    first, second = factories.invoice(owner=seller), factories.invoice(owner=seller)
    year = timezone.localdate().year

    accountant_client.post(reverse("invoices:issue", args=[first.pk]))
    accountant_client.post(reverse("invoices:issue", args=[second.pk]))
    again = accountant_client.post(reverse("invoices:issue", args=[first.pk]), follow=True)

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.number, second.number) == (f"INV-{year}-00001", f"INV-{year}-00002")
    assert first.state == "issued" and first.issue_date == timezone.localdate()
    assert "not possible now" in again.content.decode()
    first.refresh_from_db()
    assert first.number == f"INV-{year}-00001"


def test_full_payment_marks_paid_and_shows_in_history(accountant_client, seller):
    invoice = factories.invoice(owner=seller, issued=True)

    response = pay(accountant_client, invoice, reference="Bank 123")

    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.state == "paid"
    page = accountant_client.get(response.url).content.decode()
    assert "Payment of €238.00 received" in page and "Bank 123" in page


def test_payment_form_defaults_to_balance_due(accountant_client, seller):
    invoice = factories.invoice(owner=seller, issued=True)
    pay(accountant_client, invoice, amount="38.00")

    page = accountant_client.get(reverse("invoices:detail", args=[invoice.pk])).content.decode()

    assert 'value="200.00"' in page
    invoice.refresh_from_db()
    assert invoice.state == "partially_paid" and invoice.balance_due.amount == Decimal("200.00")


def test_overpayment_is_held_as_credit_and_shown(accountant_client, seller):
    invoice = factories.invoice(owner=seller, issued=True)

    response = pay(accountant_client, invoice, amount="500.00")

    assert response.status_code == 302
    page = accountant_client.get(invoice.get_absolute_url()).content.decode()
    assert "Customer credit" in page
    assert "262.00" in page  # 500.00 paid on 238.00
    invoice.refresh_from_db()
    assert invoice.state == "paid"


def test_wrong_currency_is_refused(accountant_client, seller):
    invoice = factories.invoice(owner=seller, issued=True)

    response = pay(accountant_client, invoice, currency="USD")

    assert "a payment in USD cannot be booked" in response.content.decode()
    assert not Payment.objects.exists()


def test_payment_on_a_draft_is_refused(accountant_client, seller):
    invoice = factories.invoice(owner=seller)

    response = pay(accountant_client, invoice)

    assert "payments can only be recorded on issued invoices" in response.content.decode()
    assert not Payment.objects.exists()


def test_pdf_download_after_render(seller_client, seller):
    invoice = factories.invoice(owner=seller, issued=True)
    waiting = seller_client.get(reverse("invoices:pdf_status", args=[invoice.pk])).content.decode()
    invoice_render_pdf(invoice_id=invoice.pk)

    ready = seller_client.get(reverse("invoices:pdf_status", args=[invoice.pk])).content.decode()
    download = seller_client.get(reverse("invoices:pdf", args=[invoice.pk]))

    assert 'hx-trigger="every 2s"' in waiting
    assert reverse("invoices:pdf", args=[invoice.pk]) in ready
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert f'filename="{invoice.number}.pdf"' in download["Content-Disposition"]


def test_another_teams_seller_gets_404(client, seller, other_team_seller):
    invoice = factories.invoice(owner=seller, issued=True)
    invoice_render_pdf(invoice_id=invoice.pk)
    client.force_login(other_team_seller)

    for name in ("invoices:detail", "invoices:pdf", "invoices:pdf_status"):
        assert client.get(reverse(name, args=[invoice.pk])).status_code == 404
    assert pay(client, invoice).status_code == 404
    assert not Payment.objects.exists()


def test_accountant_sees_every_teams_invoices(client, seller, accountant):
    invoice = factories.invoice(owner=seller, issued=True)
    client.force_login(accountant)
    assert client.get(reverse("invoices:detail", args=[invoice.pk])).status_code == 200


@pytest.fixture
def admin_client_(client, db):
    client.force_login(factories.UserFactory(is_staff=True, is_superuser=True))
    return client


def test_admin_issue_action_numbers_drafts(admin_client_, seller):
    first, second = factories.invoice(owner=seller), factories.invoice(owner=seller)

    admin_client_.post(reverse("admin:invoices_invoice_changelist"),
                       {"action": "issue_invoices", "_selected_action": [second.pk, first.pk]})

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.number.endswith("-00001") and second.number.endswith("-00002")


def test_admin_issued_invoice_is_read_only(admin_client_, seller):
    invoice = factories.invoice(owner=seller, issued=True)
    url = reverse("admin:invoices_invoice_change", args=[invoice.pk])

    page = admin_client_.get(url)
    post = admin_client_.post(url, {"billing_address": "Somewhere else", "customer_reference": "x",
                                    "payment_term": "", "language": "en"})
    delete = admin_client_.get(reverse("admin:invoices_invoice_delete", args=[invoice.pk]))

    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert post.status_code == 403
    assert delete.status_code == 403
    invoice.refresh_from_db()
    assert invoice.billing_address != "Somewhere else"


def test_admin_changelists_render(admin_client_, seller, django_assert_max_num_queries):
    for _ in range(5):
        factories.invoice(owner=seller, issued=True)
    for name in ("admin:quotes_quote_changelist", "admin:orders_order_changelist",
                 "admin:invoices_invoice_changelist", "admin:invoices_payment_changelist",
                 "admin:invoices_paymentterm_changelist", "admin:invoices_dunninglevel_changelist",
                 "admin:invoices_dunningnotice_changelist", "admin:invoices_customercredit_changelist"):
        with django_assert_max_num_queries(20):
            assert admin_client_.get(reverse(name)).status_code == 200


def test_admin_quote_send_action_and_draft_edit(admin_client_, seller):
    quote = factories.quote(owner=seller, lines=1)
    change_url = reverse("admin:quotes_quote_change", args=[quote.pk])
    page = admin_client_.get(change_url)
    assert page.status_code == 200 and 'name="_save"' in page.content.decode()

    admin_client_.post(reverse("admin:quotes_quote_changelist"),
                       {"action": "send_quotes", "_selected_action": [quote.pk]})

    quote.refresh_from_db()
    assert quote.state == "sent"
    assert admin_client_.post(change_url, {"title": "x"}).status_code == 403


def test_history_of_an_issued_invoice_shows_the_steps_not_their_bookkeeping(accountant_client, seller):
    """Creating a draft fills its totals and issuing freezes dates and parties: both are the step itself,
    which the history shows once ("Created", "Issue: Draft → Issued"), not as edits beside it."""
    invoice = factories.invoice(owner=seller, issued=True)

    page = accountant_client.get(invoice.get_absolute_url()).content.decode()
    history = page[page.index('data-testid="history"'):]

    assert "Issue: Draft → Issued" in history and "Created" in history
    assert "Total:" not in history and "Delivery date:" not in history
