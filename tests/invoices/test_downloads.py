"""Downloads come from storage with an ETag (the SHA-256); a client holding it gets 304."""

import hashlib

import pytest
from django.urls import reverse

from invoices.services import invoice_issue
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice(seller, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoice_issue(invoice=factories.invoice(owner=seller), actor=factories.accountant())
    invoice.refresh_from_db()
    return invoice


def test_pdf_download_has_a_sha256_etag_and_answers_304(invoice, seller_client):
    url = reverse("invoices:pdf", args=[invoice.pk])
    response = seller_client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["ETag"] == f'"{invoice.pdf_sha256}"'
    assert hashlib.sha256(response.content).hexdigest() == invoice.pdf_sha256

    cached = seller_client.get(url, headers={"If-None-Match": response["ETag"]})
    assert cached.status_code == 304 and not cached.content
    assert seller_client.get(url, headers={"If-None-Match": '"stale"'}).status_code == 200


def test_xml_download_has_an_etag_too(invoice, seller_client):
    url = reverse("invoices:xml", args=[invoice.pk, "ubl"])
    first = seller_client.get(url)
    assert seller_client.get(url, headers={"If-None-Match": first["ETag"]}).status_code == 304


def test_other_teams_get_404(invoice, other_team_seller, client):
    client.force_login(other_team_seller)
    assert client.get(reverse("invoices:pdf", args=[invoice.pk])).status_code == 404
    assert client.get(reverse("invoices:xml", args=[invoice.pk, "ubl"])).status_code == 404
