"""Catalog and pricing on quotes: price lists per segment and currency, recurring items, tax exemption."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from djmoney.money import Money

from crm.models import PriceList, PriceListItem, TaxCategory, TaxRate
from crm.workflow import DomainError
from quotes.selectors import default_unit_price
from quotes.services import quote_line_add
from tests import factories

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def product(db):
    return factories.ProductFactory(price=Money("100.00", "EUR"))


def price_list(currency, segment, product, price):
    plist = PriceList.objects.create(name=f"{currency} {segment or 'all'}", currency=currency, segment=segment)
    PriceListItem.objects.create(price_list=plist, product=product, price=D(price))
    return plist


def test_the_segment_price_list_wins(product):
    account = factories.AccountFactory(segment="partner")
    price_list("EUR", "partner", product, "80")
    price_list("EUR", "", product, "95")

    assert default_unit_price(product=product, account=account, currency="EUR") == D(80)


def test_a_general_list_then_the_product_price(product):
    account = factories.AccountFactory(segment="enterprise")
    assert default_unit_price(product=product, account=account, currency="EUR") == D(100)
    price_list("EUR", "", product, "95")
    assert default_unit_price(product=product, account=account, currency="EUR") == D(95)


def test_another_currency_needs_a_price_list(product):
    account = factories.AccountFactory()
    assert default_unit_price(product=product, account=account, currency="USD") is None
    price_list("USD", "", product, "110")
    assert default_unit_price(product=product, account=account, currency="USD") == D(110)


def test_an_inactive_list_is_ignored(product):
    account = factories.AccountFactory(segment="partner")
    plist = price_list("EUR", "partner", product, "80")
    plist.active = False
    plist.save()

    assert default_unit_price(product=product, account=account, currency="EUR") == D(100)


def test_a_quote_line_takes_the_customers_price(seller, product):
    quote = factories.quote(owner=seller, lines=0)
    quote.account.segment = "partner"
    quote.account.save()
    price_list("EUR", "partner", product, "80")

    line = quote_line_add(quote=quote, actor=seller, product=product, quantity=D(2))

    assert line.unit_price == Money("80.00", "EUR") and line.net == Money("160.00", "EUR")


def test_recurring_products_show_per_month_on_the_quote(seller_client, seller):
    quote = factories.quote(owner=seller, lines=0)
    product = factories.ProductFactory(name="Hosting", recurring="monthly")

    line = quote_line_add(quote=quote, actor=seller, product=product)

    assert line.recurring == "monthly"
    assert "/month" in seller_client.get(quote.get_absolute_url()).content.decode()


def test_exempt_rates_need_a_reason():
    rate = TaxRate(name="Exempt", percent=D(0), category=TaxCategory.EXEMPT)
    with pytest.raises(ValidationError, match="exemption reason"):
        rate.full_clean()
    rate.exemption_reason = "Exempt under § 4 Nr. 21 UStG"
    rate.full_clean()


def test_reverse_charge_with_a_rate_is_invalid():
    rate = TaxRate(name="RC", percent=D(19), category=TaxCategory.REVERSE_CHARGE, exemption_reason="Reverse charge")
    with pytest.raises(ValidationError, match="0 %"):
        rate.full_clean()


def test_a_line_with_an_exempt_rate_without_reason_is_refused(seller):
    quote = factories.quote(owner=seller, lines=0)
    rate = TaxRate.objects.create(name="Exempt", percent=D(0), category=TaxCategory.EXEMPT)

    with pytest.raises(DomainError, match="no exemption reason"):
        quote_line_add(quote=quote, actor=seller, description="Training", unit_price=D(10), tax_rate=rate)

    assert not quote.lines.exists()
