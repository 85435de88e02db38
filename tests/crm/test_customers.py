"""Customer pages: the list with search, and one page per customer with its contacts, deals, quotes, orders and
invoices, scoped like every other page."""

import pytest
from django.urls import reverse
from djmoney.money import Money

from invoices.services import payment_record
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_list_finds_customers_by_name_domain_or_city_and_only_visible_ones(
    seller_client, seller, team, other_team_seller, django_assert_max_num_queries
):
    for i in range(30):
        factories.AccountFactory(name=f"Filler {i:02d} GmbH", owner=seller, team=team)
    factories.AccountFactory(name="Kranich Bau GmbH", domain="kranich-bau.example", city="Leipzig", owner=seller,
                             team=team)
    factories.AccountFactory(name="Hidden Rival AG", owner=other_team_seller)

    with django_assert_max_num_queries(10):
        first_page = seller_client.get(reverse("customers:list")).content.decode()
    by_name = seller_client.get(reverse("customers:list"), {"q": "kranich"}).content.decode()
    by_domain = seller_client.get(reverse("customers:list"), {"q": "kranich-bau.ex"}).content.decode()
    by_city = seller_client.get(reverse("customers:list"), {"q": "leipzig"}).content.decode()
    rival = seller_client.get(reverse("customers:list"), {"q": "rival"}).content.decode()

    rows = first_page[first_page.index('data-testid="customer-list"'):]
    assert rows.count('href="/customers/') == 25 and "1–25 of 31" in first_page
    assert all("Kranich Bau GmbH" in page for page in (by_name, by_domain, by_city))
    assert "Hidden Rival AG" not in rival and "No customer matches this search." in rival


def test_a_customer_page_shows_contacts_deals_quotes_orders_and_what_is_still_owed(
    seller_client, seller, accountant, django_assert_max_num_queries
):
    invoice = factories.invoice(owner=seller, issued=True, company="Kranich Bau GmbH")  # 238.00 EUR
    account = invoice.account
    payment_record(invoice=invoice, actor=accountant, amount=invoice.gross_total - Money("100.00", "EUR"),
                   received_on=invoice.issue_date, method="bank_transfer")
    factories.ContactFactory(account=account, first_name="Ida", last_name="Kranich", email="ida@kranich.example")
    deal = invoice.order.quote.opportunity

    with django_assert_max_num_queries(14):
        page = seller_client.get(account.get_absolute_url()).content.decode()

    assert "Kranich Bau GmbH" in page and "ida@kranich.example" in page
    assert deal.get_absolute_url() in page[page.index('data-testid="customer-deals"'):]
    assert invoice.order.quote.get_absolute_url() in page[page.index('data-testid="customer-quotes"'):]
    assert invoice.order.get_absolute_url() in page[page.index('data-testid="customer-orders"'):]
    invoices = page[page.index('data-testid="customer-invoices"'):]
    assert invoice.number in invoices and "€100.00 open" in invoices
    assert "€100.00" in page[page.index('data-testid="open-balance"'):]
    # Reached from the deal.
    assert account.get_absolute_url() in seller_client.get(deal.get_absolute_url()).content.decode()


def test_a_busy_customer_shows_the_latest_deals_and_how_many_there_are(seller_client, seller, team,
                                                                       django_assert_max_num_queries):
    from djmoney.money import Money

    from opportunities.services import opportunity_create

    account = factories.AccountFactory(name="Busy AG", owner=seller, team=team)
    for i in range(12):
        opportunity_create(actor=seller, account=account, name=f"Deal {i:02d}", amount=Money("100.00", "EUR"))

    with django_assert_max_num_queries(14):
        page = seller_client.get(account.get_absolute_url()).content.decode()

    deals = page[page.index('data-testid="customer-deals"'):page.index('data-testid="customer-quotes"')]
    assert "latest 10 of 12" in page and deals.count("<tr>") == 10 and "Deal 11" in deals and "Deal 01" not in deals


def test_a_new_deal_started_from_a_customer_page_is_for_that_customer(seller_client, seller, team):
    account = factories.AccountFactory(name="Reiher Logistik GmbH", owner=seller, team=team)

    page = seller_client.get(account.get_absolute_url()).content.decode()
    form = seller_client.get(reverse("opportunities:create"), {"account": account.pk}).content.decode()

    assert f'{reverse("opportunities:create")}?account={account.pk}' in page
    assert f'<option value="{account.pk}" selected>Reiher Logistik GmbH</option>' in form


def test_another_teams_customer_is_404(seller_client, other_team_seller):
    theirs = factories.AccountFactory(owner=other_team_seller)

    assert seller_client.get(theirs.get_absolute_url()).status_code == 404
