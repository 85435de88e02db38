"""Search everywhere: the menu's box finds every kind of record the user may see, a few of each."""

import re

import pytest
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db


def test_one_search_finds_the_customer_and_its_lead_deal_quote_order_and_invoice(
    seller_client, seller, other_team_seller, django_assert_max_num_queries
):
    invoice = factories.invoice(owner=seller, issued=True, company="Kranich Bau GmbH")
    order = invoice.order
    quote = order.quote
    deal = quote.opportunity
    factories.lead(owner=other_team_seller, company="Kranich Rival GmbH", last_name="Hidden")

    with django_assert_max_num_queries(12):
        page = seller_client.get(reverse("crm:search"), {"q": "kranich"}).content.decode()

    results = page[page.index('data-testid="search-results"'):]
    for record in (invoice.account, deal.lead, deal, quote, order, invoice):
        assert f'href="{record.get_absolute_url()}"' in results, record
    assert "Kranich Rival" not in results and "Hidden" not in results
    for heading in ("Customers", "Leads", "Deals", "Quotes", "Orders", "Invoices"):
        assert heading in results


def test_many_matches_show_the_first_five_and_link_to_the_list(seller_client, seller):
    for i in range(7):
        factories.lead(owner=seller, last_name=f"Zebra{i}", company="Stripes GmbH")

    page = seller_client.get(reverse("crm:search"), {"q": "zebra"}).content.decode()

    results = page[page.index('data-testid="search-results"'):]
    assert len(re.findall(r'href="/leads/\d+/"', results)) == 5
    assert 'href="/leads/?q=zebra">Show all' in results


def test_a_search_too_short_or_without_a_match_says_so(seller_client):
    short = seller_client.get(reverse("crm:search"), {"q": "k"}).content.decode()
    nothing = seller_client.get(reverse("crm:search"), {"q": "qqqxxzz"}).content.decode()

    assert "Type at least two characters." in short
    assert "Nothing found." in nothing


def test_the_menu_offers_the_search_on_every_page(seller_client):
    home = seller_client.get(reverse("crm:home")).content.decode()

    assert f'action="{reverse("crm:search")}"' in home and "data-global-search" in home
