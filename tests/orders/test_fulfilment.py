"""Per-line fulfilment (delivered quantities, partial delivery) and the order confirmation PDF."""

import io
from decimal import Decimal

import pdfplumber
import pytest
from django.urls import reverse

from crm.workflow import DomainError
from orders.services import order_cancel, order_fulfil, order_record_delivery
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(seller):
    return factories.order(owner=seller)


def test_partial_then_full_delivery_moves_the_order(order, seller):
    first, second = order.lines.order_by("position", "pk")
    order = order_record_delivery(order=order, actor=seller, delivered={first.pk: Decimal("0.5")})
    assert order.state == "in_fulfilment"
    first.refresh_from_db()
    assert first.provisioning_status == "partial"

    order = order_record_delivery(order=order, actor=seller, delivered={first.pk: Decimal(1), second.pk: Decimal(1)})
    assert order.state == "fulfilled" and order.fulfilled_at


def test_marking_fulfilled_delivers_what_was_still_open(order, seller, seller_client):
    first, second = order.lines.order_by("position", "pk")
    order_record_delivery(order=order, actor=seller, delivered={first.pk: Decimal("0.5")})

    seller_client.post(reverse("orders:fulfil", args=[order.pk]))

    order.refresh_from_db()
    first.refresh_from_db()
    second.refresh_from_db()
    assert order.state == "fulfilled"
    assert (first.delivered_quantity, second.delivered_quantity) == (first.quantity, second.quantity)
    page = seller_client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert page.count("<td>Delivered</td>") == 2 and "<td>Pending</td>" not in page


def test_marking_a_cancelled_order_fulfilled_is_refused_and_delivers_nothing(order, seller):
    order = order_cancel(order=order, actor=seller, reason="Customer withdrew")

    with pytest.raises(DomainError):
        order_fulfil(order=order, actor=seller)

    assert list(order.lines.values_list("delivered_quantity", flat=True)) == [0, 0]


def test_delivering_more_than_ordered_is_refused_and_nothing_written(order, seller):
    line = order.lines.first()
    with pytest.raises(DomainError, match="between 0 and the 1 ordered"):
        order_record_delivery(order=order, actor=seller, delivered={line.pk: Decimal(2)})
    line.refresh_from_db()
    order.refresh_from_db()
    assert line.delivered_quantity == 0 and order.state == "confirmed"


def test_delivery_form_on_the_order_page(order, seller_client):
    first, second = order.lines.order_by("position", "pk")
    response = seller_client.post(reverse("orders:delivery", args=[order.pk]),
                                  {f"delivered_{first.pk}": "1", f"delivered_{second.pk}": "0"})
    assert response.status_code == 302
    page = seller_client.get(order.get_absolute_url()).content.decode()
    assert "Delivered" in page and "In fulfilment" in page

    refused = seller_client.post(reverse("orders:delivery", args=[order.pk]),
                                 {f"delivered_{first.pk}": "7", f"delivered_{second.pk}": "0"})
    assert refused.status_code == 400
    first.refresh_from_db()
    assert first.delivered_quantity == 1


def test_other_team_cannot_record_deliveries(order, other_team_seller, client):
    client.force_login(other_team_seller)
    line = order.lines.first()
    assert client.post(reverse("orders:delivery", args=[order.pk]), {f"delivered_{line.pk}": "1"}).status_code == 404


def test_order_confirmation_pdf_is_rendered_after_creation(seller, seller_client, django_capture_on_commit_callbacks):
    quote = factories.quote(owner=seller, sent=True, company="Kunde AG")
    from orders.services import order_create_from_quote

    with django_capture_on_commit_callbacks(execute=True):
        order = order_create_from_quote(quote=quote, actor=seller)
    order.refresh_from_db()
    assert order.pdf and order.pdf_sha256

    response = seller_client.get(reverse("orders:pdf", args=[order.pk]))
    assert response.status_code == 200 and response["ETag"] == f'"{order.pdf_sha256}"'
    with pdfplumber.open(io.BytesIO(response.content)) as pdf:
        text = pdf.pages[0].extract_text()
    assert "Order confirmation" in text and order.number in text and "238.00" in text
    assert seller_client.get(reverse("orders:pdf", args=[order.pk]),
                             headers={"If-None-Match": response["ETag"]}).status_code == 304


def test_order_page_shows_rendering_until_the_pdf_exists(order, seller_client):
    page = seller_client.get(order.get_absolute_url()).content.decode()
    assert "Confirmation is being rendered" in page
