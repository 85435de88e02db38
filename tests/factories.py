"""factory-boy factories. Records in a later state are built through the real services, so a factory
never produces a record the application itself could not have produced."""

from __future__ import annotations

from decimal import Decimal

import factory
from django.contrib.auth.models import Group
from djmoney.money import Money

from crm.models import Account, Contact, Product, TaxRate, Team, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pw-for-tests-123")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(Group.objects.get(name=extracted))


def accountant() -> User:
    """The accountant of the test database (only accountants issue invoices, record payments and write
    credit notes): created on first use, the same user afterwards."""
    user = User.objects.filter(username="accountant").first()
    return user or UserFactory(username="accountant", role="accountant")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Team {n}")


class TaxRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TaxRate

    name = "VAT standard"
    percent = Decimal("19.00")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:04d}")
    name = factory.Faker("catch_phrase")
    price = Money("100.00", "EUR")
    tax_rate = factory.SubFactory(TaxRateFactory)


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Faker("company")
    domain = factory.Sequence(lambda n: f"customer{n}.example")
    owner = factory.SubFactory(UserFactory)


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    account = factory.SubFactory(AccountFactory)
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"contact{n}@customer.example")


def lead(*, owner: User, **fields):
    from leads.services import lead_create

    defaults = {"first_name": "Jane", "last_name": "Doe", "email": "", "company": "ACME GmbH"}
    return lead_create(actor=owner, owner=owner, **{**defaults, **fields})


def opportunity(*, owner: User, amount: str = "1000.00", **fields):
    from opportunities.services import opportunity_create_from_lead

    source = lead(owner=owner, **fields)
    return opportunity_create_from_lead(lead=source, actor=owner, amount=Decimal(amount))


def quote(*, owner: User, lines: int = 2, sent: bool = False, **fields):
    """A draft (or sent) quote with `lines` product lines of 100.00 EUR at 19 %."""
    from quotes.services import quote_create_from_opportunity, quote_line_add, quote_send

    opp = opportunity(owner=owner, **fields)
    q = quote_create_from_opportunity(opportunity=opp, actor=owner)
    tax = TaxRateFactory()
    for _ in range(lines):
        quote_line_add(quote=q, actor=owner, product=ProductFactory(tax_rate=tax), quantity=Decimal(1))
    q.refresh_from_db()
    if sent:
        q = quote_send(quote=q, actor=owner)
    return q


def order(*, owner: User, fulfilled: bool = False, **fields):
    from orders.services import order_create_from_quote, order_fulfil

    o = order_create_from_quote(quote=quote(owner=owner, sent=True, **fields), actor=owner)
    if fulfilled:
        o = order_fulfil(order=o, actor=owner)
    return o


def invoice(*, owner: User, issued: bool = False, **fields):
    from invoices.services import invoice_create_from_order, invoice_issue

    inv = invoice_create_from_order(order=order(owner=owner, fulfilled=True, **fields), actor=owner)
    if issued:
        # Only accountants issue invoices; the factory issues as the system (actor None), as a
        # billing schedule would, so tests need no accountant just to get an issued invoice.
        inv = invoice_issue(invoice=inv, actor=None)
    return inv
