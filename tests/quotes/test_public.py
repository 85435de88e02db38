"""Sending a quote by e-mail with a signed link, and the customer's page behind that link."""

import hashlib
import re
from datetime import timedelta

import pytest
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from opportunities.models import OpportunityState
from orders.models import Order
from quotes import links
from quotes.models import Quote, QuoteAcceptance, QuoteState
from quotes.services import Evidence, quote_record_acceptance, quote_revise
from quotes.tasks import render_quote_pdf
from tests import factories

pytestmark = pytest.mark.django_db

BUYER = "buyer@acme.example"


@pytest.fixture
def sent(seller, django_capture_on_commit_callbacks) -> Quote:
    """A sent quote whose contact has an e-mail address; the render-and-mail task runs after commit
    (eagerly), so its PDF is stored and the mail is in the outbox."""
    with django_capture_on_commit_callbacks(execute=True):
        quote = factories.quote(owner=seller, sent=True, email=BUYER)
    quote.refresh_from_db()
    return quote


def url(quote: Quote, name: str = "view") -> str:
    return reverse(f"quote_public:{name}", args=[links.make_token(quote)])


def accept(client, quote: Quote, **data):
    payload = {"name": "Jane Buyer", "email": BUYER, "confirm": "on", "pdf_sha256": quote.pdf_sha256, **data}
    return client.post(url(quote, "accept"), payload, HTTP_USER_AGENT="Firefox/140", REMOTE_ADDR="203.0.113.9")


# --- e-mail ----------------------------------------------------------------------------------------

def test_sending_e_mails_the_pdf_with_a_signed_link(sent, mailoutbox):
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [BUYER]
    assert sent.number in mail.subject
    (name, content, mimetype), = mail.attachments
    assert (name, mimetype) == (f"{sent.number}.pdf", "application/pdf")
    assert hashlib.sha256(content).hexdigest() == sent.pdf_sha256
    assert "/q/" in mail.body
    token = mail.body.split("/q/")[1].split("/")[0]
    assert links.read_token(token).quote_id == sent.pk
    assert sent.emailed_to == BUYER and sent.emailed_at is not None


def test_the_quote_page_says_when_and_to_whom_it_was_e_mailed(sent, seller_client):
    page = seller_client.get(reverse("quotes:detail", args=[sent.pk])).content.decode()

    said = re.search(r"E-mailed to ([^<]*)</p>", page)
    assert said and said.group(1).startswith(f"{BUYER} on ")
    assert said.group(1).endswith(".") and not said.group(1).endswith("..")  # one full stop after the time


def test_running_the_task_again_sends_no_second_mail(sent, mailoutbox):
    render_quote_pdf.delay(sent.pk)
    render_quote_pdf.delay(sent.pk)

    assert len(mailoutbox) == 1


def test_without_an_address_nothing_is_mailed_and_the_seller_is_told(
    seller_client, seller, mailoutbox, django_capture_on_commit_callbacks
):
    quote = factories.quote(owner=seller)

    with django_capture_on_commit_callbacks(execute=True):
        response = seller_client.post(reverse("quotes:send", args=[quote.pk]), follow=True)

    assert mailoutbox == []
    page = response.content.decode()
    assert "share the quote link shown on this page yourself" in page
    assert "/q/" in page  # the customer link to copy


# --- the public page -------------------------------------------------------------------------------

def test_the_customer_sees_the_quote_without_logging_in(client, sent):
    response = client.get(url(sent))

    page = response.content.decode()
    assert response.status_code == 200
    assert sent.number in page
    assert "Accept quote" in page and "Decline quote" in page
    assert sent.lines.first().description in page
    pdf = client.get(url(sent, "pdf"))
    assert pdf.status_code == 200
    assert hashlib.sha256(b"".join(pdf.streaming_content)).hexdigest() == sent.pdf_sha256


@pytest.mark.parametrize("token", ["garbage", "eyJxIjoxfQ:1vabcd:xxxxxxxx"])
def test_a_forged_token_shows_a_clear_page(client, token):
    response = client.get(reverse("quote_public:view", args=[token]))

    assert response.status_code == 404
    assert "This link is not valid" in response.content.decode()


def test_a_tampered_token_is_refused_and_nothing_is_accepted(client, sent):
    value, stamp, signature = links.make_token(sent).rsplit(":", 2)
    # A longer validity in the payload with the genuine signature, and a genuine payload with a changed signature.
    longer = signing.TimestampSigner(salt="other").sign_object({"q": sent.pk, "u": "2999-01-01"}).rsplit(":", 2)[0]
    flipped = signature[:-1] + ("B" if signature.endswith("A") else "A")

    for bad in [f"{longer}:{stamp}:{signature}", f"{value}:{stamp}:{flipped}"]:
        assert client.get(reverse("quote_public:view", args=[bad])).status_code == 404
        response = client.post(reverse("quote_public:accept", args=[bad]),
                               {"name": "X", "confirm": "on", "pdf_sha256": sent.pdf_sha256})
        assert response.status_code == 404
    assert not Order.objects.exists()
    sent.refresh_from_db()
    assert sent.state == QuoteState.SENT


def test_a_token_signed_for_another_purpose_is_refused(client, sent):
    token = signing.TimestampSigner().sign_object({"q": sent.pk, "u": "2999-01-01"})

    assert client.get(reverse("quote_public:view", args=[token])).status_code == 404


# --- accepting -------------------------------------------------------------------------------------

def test_accepting_records_evidence_creates_the_order_and_wins_the_deal(client, sent):
    response = accept(client, sent)

    assert response.status_code == 302
    sent.refresh_from_db()
    assert sent.state == QuoteState.ACCEPTED
    evidence = QuoteAcceptance.objects.get(quote=sent)
    assert evidence.name == "Jane Buyer"
    assert evidence.email == BUYER
    assert evidence.ip_address == "203.0.113.9"
    assert evidence.user_agent == "Firefox/140"
    assert evidence.pdf_sha256 == sent.pdf_sha256
    assert evidence.version == 1
    assert evidence.gross_total == sent.gross_total.amount
    assert Order.objects.get(quote=sent)
    assert sent.opportunity.state == OpportunityState.WON
    page = client.get(url(sent)).content.decode()
    assert "this quote has been accepted" in page
    assert "Accept quote" not in page


def test_the_seller_sees_the_acceptance_evidence(seller_client, client, sent):
    accept(client, sent)

    page = seller_client.get(reverse("quotes:detail", args=[sent.pk])).content.decode()

    assert "Accepted online" in page and "Jane Buyer" in page and sent.pdf_sha256 in page


def test_double_accept_from_two_browsers_makes_one_order(client, sent):
    from django.test import Client

    other_browser = Client()

    first = accept(client, sent)
    second = accept(other_browser, sent, name="Someone Else")
    again = accept(client, sent)

    assert first.status_code == 302
    assert second.status_code == again.status_code == 409
    assert Order.objects.filter(quote=sent).count() == 1
    assert QuoteAcceptance.objects.filter(quote=sent).count() == 1
    assert QuoteAcceptance.objects.get(quote=sent).name == "Jane Buyer"


def test_accepting_needs_the_name_and_the_checkbox(client, sent):
    without_box = accept(client, sent, confirm="")
    without_name = accept(client, sent, name="")

    assert without_box.status_code == without_name.status_code == 400
    assert "Tick the box to accept the quote." in without_box.content.decode()
    assert not Order.objects.exists() and not QuoteAcceptance.objects.exists()


def test_accepting_a_different_document_than_the_current_one_is_refused(client, sent):
    response = accept(client, sent, pdf_sha256="0" * 64)

    assert response.status_code == 409
    assert "reload the page" in response.content.decode()
    assert not Order.objects.exists()


def test_accepting_an_expired_quote_is_refused(client, sent):
    token = links.make_token(sent)  # issued while valid
    Quote.objects.filter(pk=sent.pk).update(valid_until=timezone.localdate() - timedelta(days=1))

    page = client.get(reverse("quote_public:view", args=[token]))
    response = client.post(reverse("quote_public:accept", args=[token]),
                           {"name": "Jane", "confirm": "on", "pdf_sha256": sent.pdf_sha256})

    assert "This quote has expired" in page.content.decode()
    assert "Accept quote" not in page.content.decode()
    assert response.status_code == 409
    assert not Order.objects.exists() and not QuoteAcceptance.objects.exists()
    sent.refresh_from_db()
    assert sent.state == QuoteState.SENT


def test_the_service_refuses_an_expired_quote_too(sent):
    Quote.objects.filter(pk=sent.pk).update(valid_until=timezone.localdate() - timedelta(days=1))

    with pytest.raises(Exception, match="expired"):
        quote_record_acceptance(quote=sent, evidence=Evidence("Jane", "", None, "", sent.pdf_sha256))

    assert not QuoteAcceptance.objects.exists()


def test_a_link_past_its_validity_date_says_expired(client, sent):
    token = links.make_token(sent)

    with pytest.raises(links.LinkExpired):
        links.read_token(token, today=sent.valid_until + timedelta(days=1))


def test_a_superseded_quote_link_points_to_the_new_version(client, seller, sent):
    old_url = url(sent)
    v2 = quote_revise(quote=sent, actor=seller)

    page = client.get(old_url).content.decode()
    response = accept(client, sent)

    assert "replaced by a newer version" in page
    assert "Accept quote" not in page
    assert response.status_code == 409
    assert not Order.objects.exists()
    from quotes.services import quote_send

    quote_send(quote=v2, actor=seller)  # the PDF and mail of v2 would follow after commit
    assert links.public_path(v2).split("/")[2][:10] in client.get(old_url).content.decode()


# --- declining -------------------------------------------------------------------------------------

def test_declining_with_a_comment_rejects_the_quote(client, sent):
    response = client.post(url(sent, "reject"), {"name": "Jane", "comment": "Too expensive for us."})

    assert response.status_code == 302
    sent.refresh_from_db()
    assert sent.state == QuoteState.REJECTED
    assert sent.rejection_reason == "Too expensive for us."
    assert "Rejected by Jane" in sent.state_log().first().description
    page = client.get(url(sent)).content.decode()
    assert "You declined this quote." in page
    assert accept(client, sent).status_code == 409
    assert not Order.objects.exists()


def test_a_failed_mail_is_sent_again_by_the_retry(seller, mailoutbox, monkeypatch, django_capture_on_commit_callbacks):
    from django.core.mail import EmailMessage

    from quotes.services import quote_email

    real_send = EmailMessage.send
    monkeypatch.setattr(EmailMessage, "send", lambda self, *a, **k: (_ for _ in ()).throw(OSError("SMTP down")))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        quote = factories.quote(owner=seller, sent=True, email=BUYER)
    from quotes.services import quote_render_pdf

    quote_render_pdf(quote_id=quote.pk)
    with pytest.raises(OSError):
        quote_email(quote_id=quote.pk)
    quote.refresh_from_db()
    assert quote.emailed_at is None and mailoutbox == []

    monkeypatch.setattr(EmailMessage, "send", real_send)
    assert quote_email(quote_id=quote.pk) is True
    assert len(mailoutbox) == 1
    assert len(callbacks) == 1  # the render-and-mail task was queued once, after commit
