"""Quote, order and invoice PDFs download the same way (crm.views.pdf_download): from storage, with the file's
SHA-256 as a strong ETag so that a browser holding it gets 304; one not rendered yet sends the user back to the
record with a note saying whether the worker is on it or cannot be reached."""

from __future__ import annotations

import hashlib

import pytest
from django.urls import reverse

from crm.models import PendingTask
from invoices.services import invoice_render_pdf
from orders.services import order_render_pdf
from quotes.services import quote_render_pdf
from tests import factories

pytestmark = pytest.mark.django_db

KINDS = ["quote", "order", "invoice"]


def make(kind: str, seller):
    if kind == "quote":
        return factories.quote(owner=seller, lines=1, sent=True)
    if kind == "order":
        return factories.order(owner=seller)
    return factories.invoice(owner=seller, issued=True)


def render(record) -> None:
    {"quote": quote_render_pdf, "order": order_render_pdf, "invoice": invoice_render_pdf}[
        record._meta.model_name](**{f"{record._meta.model_name}_id": record.pk}, force=True)
    record.refresh_from_db()


def pdf_url(record) -> str:
    return reverse(f"{record._meta.app_label}:pdf", args=[record.pk])


@pytest.mark.parametrize("kind", KINDS)
def test_a_rendered_pdf_downloads_with_its_hash_as_etag_and_answers_304(seller_client, seller, kind):
    record = make(kind, seller)
    render(record)

    response = seller_client.get(pdf_url(record))

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{record.number}.pdf"'
    assert response.content.startswith(b"%PDF")
    assert response["ETag"] == f'"{record.pdf_sha256}"' == f'"{hashlib.sha256(response.content).hexdigest()}"'
    cached = seller_client.get(pdf_url(record), headers={"If-None-Match": response["ETag"]})
    assert cached.status_code == 304 and not cached.content


@pytest.mark.parametrize("kind", KINDS)
def test_a_pdf_not_rendered_yet_sends_the_user_back_saying_why(seller_client, seller, kind):
    record = make(kind, seller)
    type(record).objects.filter(pk=record.pk).update(pdf="", pdf_sha256="")

    rendering = seller_client.get(pdf_url(record), follow=True)
    assert rendering.redirect_chain[-1][0] == record.get_absolute_url()
    assert "The PDF is being rendered; try again in a moment." in rendering.content.decode()

    PendingTask.objects.create(task_name=type(record).PDF_TASK, args=[record.pk])
    waiting = seller_client.get(pdf_url(record), follow=True).content.decode()
    assert "The PDF is not rendered yet: the background worker cannot be reached." in waiting
    assert "try again in a moment" not in waiting


def test_a_file_stored_without_a_hash_downloads_without_an_etag(seller_client, seller):
    record = make("order", seller)
    render(record)
    type(record).objects.filter(pk=record.pk).update(pdf_sha256="")

    response = seller_client.get(pdf_url(record), headers={"If-None-Match": '""'})

    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert not response.has_header("ETag")
