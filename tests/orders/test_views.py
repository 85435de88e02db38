import re

import pytest
from django.urls import reverse

from invoices.models import Invoice
from invoices.services import invoice_create_from_order, invoice_issue
from orders.services import order_create_from_quote
from tests import factories

pytestmark = pytest.mark.django_db


def test_list_has_a_bounded_number_of_queries(seller_client, seller, django_assert_max_num_queries):
    for _ in range(30):
        factories.order(owner=seller)

    with django_assert_max_num_queries(15):
        response = seller_client.get(reverse("orders:list"))

    assert response.status_code == 200
    assert len(re.findall(r'href="/orders/\d+/"', response.content.decode())) == 25


def test_list_search_and_empty_state(seller_client, seller):
    order = factories.order(owner=seller, company="Gamma Logistics")

    found = seller_client.get(reverse("orders:list"), {"q": "Gamma"}).content.decode()
    none = seller_client.get(reverse("orders:list"), {"q": "nothing-like-this"}).content.decode()

    assert order.number in found
    assert 'data-testid="empty-state"' in none


def test_detail_links_back_to_quote_and_opportunity(seller_client, seller):
    order = factories.order(owner=seller)

    page = seller_client.get(reverse("orders:detail", args=[order.pk])).content.decode()

    assert order.number in page
    assert reverse("quotes:detail", args=[order.quote_id]) in page
    assert reverse("opportunities:detail", args=[order.opportunity_id]) in page
    assert "€238.00" in page
    # A line without a discount shows a dash, as the quote editor does, not "0".
    assert re.search(r'<td class="text-end">–</td>\s*<td class="text-end">19</td>', page)


def test_the_invoicing_progress_reads_in_money(seller_client, seller):
    order = factories.order(owner=seller, fulfilled=True)
    url = reverse("orders:detail", args=[order.pk])

    before = seller_client.get(url).content.decode()
    invoice_issue(invoice=invoice_create_from_order(order=order, actor=seller), actor=None)
    after = seller_client.get(url).content.decode()

    assert "Invoiced €0.00 of €200.00 net (0.0 %)" in before
    assert "Invoiced €200.00 of €200.00 net (100.0 %)" in after


def test_update_while_confirmed(seller_client, seller):
    order = factories.order(owner=seller)

    seller_client.post(reverse("orders:update", args=[order.pk]), {
        "customer_reference": "PO-4711", "delivery_terms": "DAP Berlin", "billing_address": "ACME GmbH\nBerlin",
        "internal_notes": "Call before delivery",
    })

    order.refresh_from_db()
    assert order.customer_reference == "PO-4711" and order.delivery_terms == "DAP Berlin"


def test_fulfilled_order_cannot_be_edited(seller_client, seller):
    order = factories.order(owner=seller, fulfilled=True)

    response = seller_client.post(reverse("orders:update", args=[order.pk]), {
        "customer_reference": "PO-changed", "delivery_terms": "", "billing_address": "", "internal_notes": "",
    }, follow=True)

    order.refresh_from_db()
    assert order.customer_reference != "PO-changed"
    assert "cannot be edited" in response.content.decode()


def test_start_fulfilment_then_fulfil(seller_client, seller):
    order = factories.order(owner=seller)

    seller_client.post(reverse("orders:start_fulfilment", args=[order.pk]))
    order.refresh_from_db()
    assert order.state == "in_fulfilment"

    seller_client.post(reverse("orders:fulfil", args=[order.pk]))
    order.refresh_from_db()
    assert order.state == "fulfilled"


def test_invoice_only_when_fulfilled(seller_client, seller):
    order = factories.order(owner=seller)

    refused = seller_client.post(reverse("orders:invoice", args=[order.pk]), follow=True)

    assert not Invoice.objects.exists()
    assert "invoice it once it is fulfilled" in refused.content.decode()

    seller_client.post(reverse("orders:fulfil", args=[order.pk]))
    created = seller_client.post(reverse("orders:invoice", args=[order.pk]))
    again = seller_client.post(reverse("orders:invoice", args=[order.pk]))

    invoice = Invoice.objects.get(order=order)
    assert created.url == again.url == reverse("invoices:detail", args=[invoice.pk])
    assert invoice.state == "draft"


def test_cancel_needs_a_reason(seller_client, seller):
    order = factories.order(owner=seller)

    without = seller_client.post(reverse("orders:cancel", args=[order.pk]), {"reason": ""})
    order.refresh_from_db()
    assert without.status_code == 200 and order.state == "confirmed"

    seller_client.post(reverse("orders:cancel", args=[order.pk]), {"reason": "Customer withdrew"})
    order.refresh_from_db()
    assert order.state == "cancelled" and order.cancel_reason == "Customer withdrew"


def test_another_teams_seller_gets_404(client, seller, other_team_seller):
    order = factories.order(owner=seller, fulfilled=True)
    client.force_login(other_team_seller)

    assert client.get(reverse("orders:detail", args=[order.pk])).status_code == 404
    assert client.post(reverse("orders:invoice", args=[order.pk])).status_code == 404
    assert not Invoice.objects.exists()


def test_accepting_from_two_tabs_gives_the_same_order(seller):
    quote = factories.quote(owner=seller, sent=True)
    assert order_create_from_quote(quote=quote, actor=seller) == order_create_from_quote(quote=quote, actor=seller)
