import re
from decimal import Decimal

import pytest
from django.urls import reverse

from orders.models import Order
from quotes.models import Quote, QuoteLine
from tests import factories

pytestmark = pytest.mark.django_db


def test_list_shows_quotes_with_a_bounded_number_of_queries(seller_client, seller, django_assert_max_num_queries):
    opp = factories.opportunity(owner=seller)
    from quotes.services import quote_create_from_opportunity

    for _ in range(30):
        quote_create_from_opportunity(opportunity=opp, actor=seller)

    with django_assert_max_num_queries(15):
        response = seller_client.get(reverse("quotes:list"))

    assert response.status_code == 200
    assert len(re.findall(r'href="/quotes/\d+/"', response.content.decode())) == 25  # first page of 30
    assert "1–25 of 30" in response.content.decode()


def test_list_search_and_state_filter(seller_client, seller):
    draft = factories.quote(owner=seller, company="Alpha Widgets", lines=1)
    sent = factories.quote(owner=seller, company="Beta Tools", lines=1, sent=True)

    by_name = seller_client.get(reverse("quotes:list"), {"q": "Alpha"}).content.decode()
    by_state = seller_client.get(reverse("quotes:list"), {"state": "sent"}).content.decode()

    assert draft.number in by_name and sent.number not in by_name
    assert sent.number in by_state and draft.number not in by_state


def test_empty_list_shows_empty_state(seller_client):
    response = seller_client.get(reverse("quotes:list"))
    assert 'data-testid="empty-state"' in response.content.decode()


def test_create_from_opportunity_redirects_to_the_editor(seller_client, seller):
    opp = factories.opportunity(owner=seller)

    response = seller_client.post(reverse("quotes:create", args=[opp.pk]))

    quote = Quote.objects.get(opportunity=opp)
    assert response.status_code == 302
    assert response.url == reverse("quotes:detail", args=[quote.pk])


def test_create_refuses_get(seller_client, seller):
    opp = factories.opportunity(owner=seller)
    assert seller_client.get(reverse("quotes:create", args=[opp.pk])).status_code == 405
    assert not Quote.objects.exists()


def test_detail_shows_lines_totals_and_history(seller_client, seller):
    quote = factories.quote(owner=seller, lines=2)

    page = seller_client.get(reverse("quotes:detail", args=[quote.pk])).content.decode()

    assert quote.number in page
    assert "€238.00" in page  # 2 × 100.00 net + 19 % tax
    assert 'data-testid="history"' in page
    assert reverse("quotes:line_add", args=[quote.pk]) in page


def test_add_free_text_line_updates_totals(seller_client, seller):
    quote = factories.quote(owner=seller, lines=0)
    tax = factories.TaxRateFactory(percent=Decimal("7.00"), name="Reduced")

    response = seller_client.post(reverse("quotes:line_add", args=[quote.pk]), {
        "description": "Consulting day", "quantity": "2", "unit_price": "500.00", "discount_percent": "10",
        "tax_rate": tax.pk,
    })

    assert response.status_code == 302
    quote.refresh_from_db()
    assert quote.net_total.amount == Decimal("900.00")
    assert quote.gross_total.amount == Decimal("963.00")
    page = seller_client.get(response.url).content.decode()
    assert "Consulting day" in page and "€963.00" in page


def test_add_product_line_via_htmx_returns_the_lines_partial(seller_client, seller):
    quote = factories.quote(owner=seller, lines=0)
    product = factories.ProductFactory(name="Widget Pro")

    response = seller_client.post(
        reverse("quotes:line_add", args=[quote.pk]), {"product": product.pk, "quantity": "3"}, HTTP_HX_REQUEST="true"
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body  # a partial, not the page
    assert 'id="quote-lines"' in body and "Widget Pro" in body and "€357.00" in body
    assert 'hx-swap-oob="true"' in body  # header total and action buttons follow
    quote.refresh_from_db()
    assert quote.gross_total.amount == Decimal("357.00")


def test_invalid_line_shows_errors_and_adds_nothing(seller_client, seller):
    quote = factories.quote(owner=seller, lines=0)

    response = seller_client.post(reverse("quotes:line_add", args=[quote.pk]), {"quantity": "1"},
                                  HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert "Enter a description or choose a product." in response.content.decode()
    assert not QuoteLine.objects.filter(quote=quote).exists()


def test_remove_line_updates_totals(seller_client, seller):
    quote = factories.quote(owner=seller, lines=2)
    line = quote.lines.first()

    response = seller_client.post(reverse("quotes:line_remove", args=[quote.pk, line.pk]), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    quote.refresh_from_db()
    assert quote.lines.count() == 1
    assert quote.gross_total.amount == Decimal("119.00")


def test_editing_a_sent_quote_is_refused_and_nothing_changes(seller_client, seller):
    quote = factories.quote(owner=seller, lines=1, sent=True)
    line = quote.lines.get()
    tax = factories.TaxRateFactory()

    add = seller_client.post(reverse("quotes:line_add", args=[quote.pk]), {
        "description": "Sneaky extra", "quantity": "1", "unit_price": "1.00", "tax_rate": tax.pk,
    }, follow=True)
    remove = seller_client.post(reverse("quotes:line_remove", args=[quote.pk, line.pk]), follow=True)
    update = seller_client.post(reverse("quotes:update", args=[quote.pk]), {
        "title": "Changed", "valid_until": "2099-01-01", "language": "en", "terms": "", "notes": "",
    }, follow=True)

    for response in (add, remove, update):
        assert "only drafts can be edited" in response.content.decode()
    quote.refresh_from_db()
    assert quote.title != "Changed"
    assert list(quote.lines.values_list("pk", flat=True)) == [line.pk]
    assert quote.gross_total.amount == Decimal("119.00")


def test_a_notice_shows_once_on_the_page_and_with_the_lines_an_htmx_edit_swaps_in(seller_client, seller):
    quote = factories.quote(owner=seller, lines=1)

    page = seller_client.post(reverse("quotes:send", args=[quote.pk]), follow=True).content.decode()
    # Once, at the top of the page: the lines card included in the page does not repeat it.
    assert page.count("Quote sent.") == 1

    line = quote.lines.get()
    partial = seller_client.post(reverse("quotes:line_remove", args=[quote.pk, line.pk]),
                                 HTTP_HX_REQUEST="true").content.decode()
    assert 'id="quote-lines"' in partial and partial.count("only drafts can be edited") == 1


def test_update_draft_terms(seller_client, seller):
    quote = factories.quote(owner=seller, lines=1)

    response = seller_client.post(reverse("quotes:update", args=[quote.pk]), {
        "title": "Website relaunch", "valid_until": "2099-01-31", "language": "de", "terms": "Net 30",
        "notes": "Thanks!",
    })

    assert response.status_code == 302
    quote.refresh_from_db()
    assert (quote.title, quote.terms, quote.language) == ("Website relaunch", "Net 30", "de")


def test_send_then_accept_twice_creates_one_order(seller_client, seller):
    quote = factories.quote(owner=seller, lines=1)

    seller_client.post(reverse("quotes:send", args=[quote.pk]))
    first = seller_client.post(reverse("quotes:accept", args=[quote.pk]))
    second = seller_client.post(reverse("quotes:accept", args=[quote.pk]))

    order = Order.objects.get(quote=quote)
    assert Order.objects.count() == 1
    assert first.url == second.url == reverse("orders:detail", args=[order.pk])
    quote.refresh_from_db()
    assert quote.state == "accepted"


def test_send_without_lines_is_refused(seller_client, seller):
    quote = factories.quote(owner=seller, lines=0)

    response = seller_client.post(reverse("quotes:send", args=[quote.pk]), follow=True)

    quote.refresh_from_db()
    assert quote.state == "draft"
    assert "not possible now" in response.content.decode() or "at least one line" in response.content.decode()


def test_reject_with_reason(seller_client, seller):
    quote = factories.quote(owner=seller, lines=1, sent=True)

    seller_client.post(reverse("quotes:reject", args=[quote.pk]), {"reason": "Too expensive"})

    quote.refresh_from_db()
    assert quote.state == "rejected" and quote.rejection_reason == "Too expensive"


def test_cancel_draft(seller_client, seller):
    quote = factories.quote(owner=seller, lines=0)
    seller_client.post(reverse("quotes:cancel", args=[quote.pk]))
    quote.refresh_from_db()
    assert quote.state == "cancelled"


def test_pdf_not_rendered_yet_polls(seller_client, seller):
    quote = factories.quote(owner=seller, lines=1, sent=True)  # on_commit never fires in a test transaction

    detail = seller_client.get(reverse("quotes:detail", args=[quote.pk])).content.decode()
    status = seller_client.get(reverse("quotes:pdf_status", args=[quote.pk])).content.decode()
    download = seller_client.get(reverse("quotes:pdf", args=[quote.pk]))

    assert "PDF is being rendered" in detail
    assert 'hx-trigger="every 2s"' in status
    assert download.status_code == 302


def test_pdf_status_swaps_in_the_link_when_ready(seller_client, seller):
    from quotes.services import quote_render_pdf

    quote = factories.quote(owner=seller, lines=1, sent=True)
    quote_render_pdf(quote_id=quote.pk)

    status = seller_client.get(reverse("quotes:pdf_status", args=[quote.pk])).content.decode()
    download = seller_client.get(reverse("quotes:pdf", args=[quote.pk]))

    assert reverse("quotes:pdf", args=[quote.pk]) in status and "every 2s" not in status
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert download.content.startswith(b"%PDF")


def test_another_teams_seller_gets_404(client, seller, other_team_seller):
    from quotes.services import quote_render_pdf

    quote = factories.quote(owner=seller, lines=1, sent=True)
    quote_render_pdf(quote_id=quote.pk)
    client.force_login(other_team_seller)

    for name in ("quotes:detail", "quotes:pdf", "quotes:pdf_status"):
        assert client.get(reverse(name, args=[quote.pk])).status_code == 404
    assert client.post(reverse("quotes:accept", args=[quote.pk])).status_code == 404
    assert not Order.objects.exists()


def test_anonymous_is_sent_to_login(client, seller):
    quote = factories.quote(owner=seller, lines=0)
    response = client.get(reverse("quotes:detail", args=[quote.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response.url
