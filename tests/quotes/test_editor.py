"""The quote editor: catalog search, inline editing, reordering, headings and notes, discounts, defaults."""

import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from djmoney.money import Money

from crm.models import CompanyProfile, FieldChange
from crm.workflow import DomainError
from quotes.models import LineKind, QuoteLine
from quotes.services import (
    quote_create_from_opportunity,
    quote_line_add,
    quote_line_update,
    quote_lines_reorder,
    quote_send,
    quote_update,
)
from tests import factories

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def draft(seller):
    return factories.quote(owner=seller, lines=0)


@pytest.fixture
def vat19(db):
    return factories.TaxRateFactory(name="VAT 19", percent=D("19"))


def descriptions(quote):
    return list(quote.lines.order_by("position").values_list("description", flat=True))


def add(quote, actor, vat, text, price="100"):
    return quote_line_add(quote=quote, actor=actor, description=text, unit_price=D(price), tax_rate=vat)


# --- catalog search --------------------------------------------------------------------------------

def test_product_search_finds_active_products_by_name_or_sku(seller_client, draft):
    factories.ProductFactory(sku="CLOUD-1", name="Cloud hosting")
    factories.ProductFactory(sku="OLD-1", name="Cloud legacy", active=False)
    factories.ProductFactory(sku="WS-1", name="Workshop")

    by_name = seller_client.get(reverse("quotes:product_search", args=[draft.pk]), {"q": "cloud"}).content.decode()
    by_sku = seller_client.get(reverse("quotes:product_search", args=[draft.pk]), {"q": "ws-"}).content.decode()
    nothing = seller_client.get(reverse("quotes:product_search", args=[draft.pk]), {"q": "zzz"}).content.decode()

    assert "Cloud hosting" in by_name and "Cloud legacy" not in by_name and "Workshop" not in by_name
    assert "Workshop" in by_sku
    assert "No active product matches" in nothing


def test_product_search_is_scoped(client, other_team_seller, draft):
    client.force_login(other_team_seller)
    assert client.get(reverse("quotes:product_search", args=[draft.pk]), {"q": "a"}).status_code == 404


# --- inline editing --------------------------------------------------------------------------------

def test_inline_edit_form_and_save_update_the_totals(seller_client, seller, draft, vat19):
    line = add(draft, seller, vat19, "Consulting")
    edit_url = reverse("quotes:line_edit", args=[draft.pk, line.pk])

    form = seller_client.get(edit_url, HTTP_HX_REQUEST="true")
    saved = seller_client.post(edit_url, {"description": "Consulting day", "quantity": "3", "unit_price": "200",
                                          "discount_percent": "10"}, HTTP_HX_REQUEST="true")

    assert 'name="quantity"' in form.content.decode() and "Save line" in form.content.decode()
    assert saved.status_code == 200
    line.refresh_from_db()
    draft.refresh_from_db()
    assert (line.description, line.quantity, line.net) == ("Consulting day", D(3), Money("540.00", "EUR"))
    assert draft.gross_total == Money("642.60", "EUR")
    assert "642.60" in saved.content.decode()


def test_inline_edit_with_invalid_input_keeps_the_line(seller_client, seller, draft, vat19):
    line = add(draft, seller, vat19, "Consulting")

    response = seller_client.post(reverse("quotes:line_edit", args=[draft.pk, line.pk]),
                                  {"description": "Consulting", "quantity": "0", "unit_price": "100"},
                                  HTTP_HX_REQUEST="true")

    assert "Save line" in response.content.decode()  # the form comes back with the error
    line.refresh_from_db()
    assert line.quantity == 1


def test_editing_a_line_of_a_sent_quote_is_refused(seller_client, seller):
    quote = factories.quote(owner=seller, lines=1, sent=True)
    line = quote.lines.get()

    response = seller_client.post(reverse("quotes:line_edit", args=[quote.pk, line.pk]),
                                  {"description": "Cheaper", "quantity": "1", "unit_price": "1"}, follow=True)

    assert "only drafts can be edited" in response.content.decode()
    line.refresh_from_db()
    assert line.unit_price == Money("100.00", "EUR")


# --- reordering ------------------------------------------------------------------------------------

def test_move_buttons_swap_neighbours(seller_client, seller, draft, vat19):
    add(draft, seller, vat19, "A")
    b = add(draft, seller, vat19, "B")
    add(draft, seller, vat19, "C")

    seller_client.post(reverse("quotes:line_move", args=[draft.pk, b.pk, "up"]), HTTP_HX_REQUEST="true")
    assert descriptions(draft) == ["B", "A", "C"]
    seller_client.post(reverse("quotes:line_move", args=[draft.pk, b.pk, "down"]))
    assert descriptions(draft) == ["A", "B", "C"]


def test_row_buttons_work_without_javascript_through_the_shared_form(seller, draft, vat19):
    """Without htmx a row button submits the one CSRF form of the table to its own formaction."""
    add(draft, seller, vat19, "A")
    b = add(draft, seller, vat19, "B")
    client = Client(enforce_csrf_checks=True)
    client.force_login(seller)

    page = client.get(draft.get_absolute_url()).content.decode()
    shared = re.search(r'<form id="line-actions" method="post">(.*?)</form>', page, re.S).group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', shared).group(1)
    remove = re.search(r'<button form="line-actions" formaction="([^"]+)"[^>]*aria-label="Remove line B"', page)
    first_up = re.search(r'<button form="line-actions" formaction="[^"]+/up/"[^>]*>', page).group(0)

    assert "disabled" in first_up  # the first line cannot move up
    response = client.post(remove.group(1), {"csrfmiddlewaretoken": token})
    assert response.status_code == 302 and descriptions(draft) == ["A"]
    assert not QuoteLine.objects.filter(pk=b.pk).exists()


def test_the_product_select_keeps_the_choice_of_a_refused_line(seller_client, draft, vat19):
    chosen = factories.ProductFactory(sku="SKU-CHOSEN", name="Chosen", price=Money("12.50", "EUR"), tax_rate=vat19)
    factories.ProductFactory(sku="SKU-OTHER", name="Other")

    response = seller_client.post(reverse("quotes:line_add", args=[draft.pk]),
                                  {"kind": "item", "product": chosen.pk, "quantity": "-1"})

    select = re.search(r'<select name="product".*?</select>', response.content.decode(), re.S).group(0)
    option = re.search(rf'<option value="{chosen.pk}"[^>]*>[^<]*</option>', select).group(0)
    assert re.search(r'data-price="12\.50*" data-currency="EUR"', option) and f'data-tax="{vat19.pk}"' in option
    assert " selected>" in option and "SKU-CHOSEN · Chosen · " in option
    assert select.count(" selected") == 1


def test_drag_and_drop_posts_the_new_order(seller_client, seller, draft, vat19):
    a, b, c = (add(draft, seller, vat19, x) for x in "ABC")

    seller_client.post(reverse("quotes:lines_reorder", args=[draft.pk]), {"line": [c.pk, a.pk, b.pk]},
                       HTTP_HX_REQUEST="true")

    assert descriptions(draft) == ["C", "A", "B"]


def test_reordering_with_a_stale_list_changes_nothing(seller, draft, vat19):
    add(draft, seller, vat19, "A")
    b = add(draft, seller, vat19, "B")

    with pytest.raises(DomainError, match="changed meanwhile"):
        quote_lines_reorder(quote=draft, actor=seller, line_ids=[b.pk])

    assert descriptions(draft) == ["A", "B"]


# --- sections and notes ----------------------------------------------------------------------------

def test_sections_and_notes_carry_no_amounts(seller_client, seller, draft, vat19):
    url = reverse("quotes:line_add", args=[draft.pk])
    seller_client.post(url, {"kind": "section", "description": "Hardware"}, HTTP_HX_REQUEST="true")
    add(draft, seller, vat19, "Server", "1000")
    seller_client.post(url, {"kind": "note", "description": "Delivered within 2 weeks."}, HTTP_HX_REQUEST="true")

    draft.refresh_from_db()
    kinds = list(draft.lines.order_by("position").values_list("kind", flat=True))
    assert kinds == [LineKind.SECTION, LineKind.ITEM, LineKind.NOTE]
    assert draft.net_total == Money("1000.00", "EUR")
    assert draft.gross_total == Money("1190.00", "EUR")
    page = seller_client.get(draft.get_absolute_url()).content.decode()
    assert "Hardware" in page and "Delivered within 2 weeks." in page
    assert page.count("Tax 19 %") == 1  # no 0 % tax line for the heading or the note


def test_a_quote_with_only_headings_cannot_be_sent(seller, draft):
    quote_line_add(quote=draft, actor=seller, kind=LineKind.SECTION, description="Hardware")

    with pytest.raises(DomainError, match="at least one line"):
        quote_send(quote=draft, actor=seller)


def test_a_heading_needs_a_text(seller_client, draft):
    response = seller_client.post(reverse("quotes:line_add", args=[draft.pk]), {"kind": "section"},
                                  HTTP_HX_REQUEST="true")

    assert "Enter the text of the heading or note." in response.content.decode()
    assert not QuoteLine.objects.exists()


# --- discounts -------------------------------------------------------------------------------------

def test_a_line_discount_can_be_an_amount(seller, draft, vat19):
    line = quote_line_add(quote=draft, actor=seller, description="Licence", quantity=D(3), unit_price=D("33.33"),
                          discount_amount=D("9.99"), tax_rate=vat19)

    assert line.net == Money("90.00", "EUR")


@pytest.mark.parametrize(("percent", "amount", "message"), [
    ("10", "5", "not both"),
    ("0", "1000", "larger than the line amount"),
    ("101", "0", "between 0 and 100"),
])
def test_invalid_line_discounts_are_refused(seller, draft, vat19, percent, amount, message):
    with pytest.raises(DomainError, match=message):
        quote_line_add(quote=draft, actor=seller, description="X", unit_price=D(100), tax_rate=vat19,
                       discount_percent=D(percent), discount_amount=D(amount))
    assert not draft.lines.exists()


def test_a_document_discount_is_spread_over_the_tax_rates(seller_client, seller, draft, vat19):
    vat7 = factories.TaxRateFactory(name="VAT 7", percent=D("7"))
    add(draft, seller, vat19, "Service", "300")
    add(draft, seller, vat7, "Books", "100")

    seller_client.post(reverse("quotes:update", args=[draft.pk]), {
        "title": "T", "valid_until": draft.valid_until.isoformat(), "language": "en", "discount_amount": "40",
    })

    draft.refresh_from_db()
    # 40 off 400: 30 off the 19 % base (300 → 270), 10 off the 7 % base (100 → 90).
    assert draft.net_total == Money("360.00", "EUR")
    assert draft.tax_total == Money("57.60", "EUR")  # 51.30 + 6.30
    assert draft.gross_total == Money("417.60", "EUR")
    page = seller_client.get(draft.get_absolute_url()).content.decode()
    assert "Document discount" in page


def test_a_document_discount_larger_than_the_lines_is_refused(seller, draft, vat19):
    add(draft, seller, vat19, "Service", "10")

    with pytest.raises(DomainError, match="cannot be larger"):
        quote_update(quote=draft, actor=seller, discount_amount=D(11))

    draft.refresh_from_db()
    assert draft.discount_amount == 0 and draft.net_total == Money("10.00", "EUR")


def test_a_percentage_document_discount(seller, draft, vat19):
    add(draft, seller, vat19, "Service", "250")

    quote_update(quote=draft, actor=seller, discount_percent=D("10"))

    draft.refresh_from_db()
    assert (draft.net_total, draft.gross_total) == (Money("225.00", "EUR"), Money("267.75", "EUR"))


# --- company defaults ------------------------------------------------------------------------------

def test_new_quotes_take_terms_and_validity_from_the_company_profile(seller):
    CompanyProfile.objects.create(pk=1, legal_name="ACME", default_quote_terms="Prices valid for Germany.",
                                  default_payment_terms="14 days net.", default_validity_days=10)
    opportunity = factories.opportunity(owner=seller)

    quote = quote_create_from_opportunity(opportunity=opportunity, actor=seller)

    assert quote.terms == "Prices valid for Germany.\n\n14 days net."
    # Counted from the company's day (Europe/Berlin), not UTC's: just after midnight in Berlin they differ.
    assert (quote.valid_until - timezone.localtime(quote.created_at).date()).days == 10


def test_editing_a_line_keeps_the_sent_rule(seller):
    quote = factories.quote(owner=seller, lines=1, sent=True)
    with pytest.raises(DomainError):
        quote_line_update(line=quote.lines.get(), actor=seller, description="x")


# --- history -----------------------------------------------------------------------------------------

def test_the_history_says_which_line_was_added_changed_or_removed_and_by_whom(seller_client, seller, draft, vat19):
    kept = add(draft, seller, vat19, "Consulting day", price="1200")
    dropped = add(draft, seller, vat19, "Travel", price="80")
    quote_line_add(quote=draft, actor=seller, kind=LineKind.SECTION, description="Phase two")
    seller_client.post(reverse("quotes:line_edit", args=[draft.pk, kept.pk]),
                       {"description": "Consulting day", "quantity": "3", "unit_price": "1200",
                        "discount_percent": "10"}, HTTP_HX_REQUEST="true")
    seller_client.post(reverse("quotes:line_remove", args=[draft.pk, dropped.pk]))

    page = seller_client.get(draft.get_absolute_url()).content.decode()
    history = page[page.index("History"):]

    assert "Quote line added: 1 × Consulting day at €1,200.00" in history
    assert "Quote line added: Section heading: Phase two" in history
    assert ("Quote line changed: 1 × Consulting day at €1,200.00 → 3 × Consulting day at €1,200.00, 10 % off"
            in history)
    assert "Quote line removed: 1 × Travel at €80.00" in history
    assert seller.get_full_name() in history
    # The totals follow the lines: no "Total: … → …" row repeats each edit.
    assert "Total:" not in history


def test_saving_a_line_unchanged_adds_no_history(seller, draft, vat19):
    line = add(draft, seller, vat19, "Consulting day")

    quote_line_update(line=line, actor=seller, quantity="1", unit_price="100")

    rows = FieldChange.objects.filter(object_id=draft.pk, field="lines")
    assert list(rows.values_list("old_value", "new_value")) == [("", "1 × Consulting day at 100.00 EUR")]
