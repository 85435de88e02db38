"""Quote versions: revising a sent quote supersedes it and opens the next version as a draft."""

from decimal import Decimal

import pytest
from django.urls import reverse
from djmoney.money import Money

from crm.workflow import DomainError, TransitionError
from quotes.models import Quote, QuoteState
from quotes.services import quote_line_add, quote_line_remove, quote_line_update, quote_revise, quote_send, quote_update
from tests import factories

pytestmark = pytest.mark.django_db


def test_revising_a_sent_quote_supersedes_it_and_copies_the_lines(seller):
    v1 = factories.quote(owner=seller, lines=2, sent=True)

    v2 = quote_revise(quote=v1, actor=seller)

    v1.refresh_from_db()
    assert v1.state == QuoteState.SUPERSEDED
    assert v2.state == QuoteState.DRAFT
    assert v2.number == f"{v1.number}-v2"
    assert (v2.root, v2.version) == (v1, 2)
    assert v2.opportunity == v1.opportunity
    old_lines = [(li.description, li.quantity, li.unit_price, li.net) for li in v1.lines.all()]
    new_lines = [(li.description, li.quantity, li.unit_price, li.net) for li in v2.lines.all()]
    assert new_lines == old_lines
    assert v2.gross_total == v1.gross_total
    assert v1.state_log().first().transition == "supersede"


def test_numbers_count_up_from_the_first_version(seller):
    v1 = factories.quote(owner=seller, sent=True)
    v2 = quote_send(quote=quote_revise(quote=v1, actor=seller), actor=seller)

    v3 = quote_revise(quote=v2, actor=seller)

    assert v3.number == f"{v1.number}-v3"
    assert (v3.root_id, v3.version) == (v1.pk, 3)
    assert [q.number for q in v3.versions()] == [v1.number, v2.number, v3.number]


@pytest.mark.parametrize("state", ["draft", "rejected", "superseded"])
def test_only_a_sent_quote_can_be_revised(seller, state):
    quote = factories.quote(owner=seller, sent=state != "draft")
    if state == "rejected":
        from quotes.services import quote_reject

        quote = quote_reject(quote=quote, actor=seller)
    elif state == "superseded":
        quote_revise(quote=quote, actor=seller)
    count = Quote.objects.count()

    with pytest.raises(TransitionError):
        quote_revise(quote=quote, actor=seller)

    assert Quote.objects.count() == count


def test_a_sent_version_is_frozen(seller):
    quote = factories.quote(owner=seller, lines=1, sent=True)
    line = quote.lines.get()

    with pytest.raises(DomainError, match="only drafts can be edited"):
        quote_line_add(quote=quote, actor=seller, description="Extra", unit_price=Decimal(5),
                       tax_rate=factories.TaxRateFactory())
    with pytest.raises(DomainError):
        quote_line_update(line=line, actor=seller, quantity=Decimal(9))
    with pytest.raises(DomainError):
        quote_line_remove(line=line, actor=seller)
    with pytest.raises(DomainError):
        quote_update(quote=quote, actor=seller, title="Changed")

    line.refresh_from_db()
    quote.refresh_from_db()
    assert quote.lines.count() == 1 and line.quantity == 1 and quote.title != "Changed"


def test_the_new_version_is_editable_and_the_old_one_keeps_its_amounts(seller):
    v1 = factories.quote(owner=seller, lines=1, sent=True)
    v2 = quote_revise(quote=v1, actor=seller)

    quote_line_update(line=v2.lines.get(), actor=seller, quantity=Decimal(3))

    v1.refresh_from_db()
    v2.refresh_from_db()
    assert v1.net_total == Money("100.00", "EUR")
    assert v2.net_total == Money("300.00", "EUR")


def test_the_quote_page_shows_versions_and_a_line_diff(seller_client, seller):
    v1 = factories.quote(owner=seller, lines=2, sent=True)
    v2 = quote_revise(quote=v1, actor=seller)
    first, second = v2.lines.all()
    quote_line_update(line=first, actor=seller, quantity=Decimal(2))
    quote_line_remove(line=second, actor=seller)
    quote_line_add(quote=v2, actor=seller, description="Extra support", unit_price=Decimal(40),
                   tax_rate=first.tax_rate)

    page = seller_client.get(reverse("quotes:detail", args=[v2.pk])).content.decode()

    assert "version 2 of 2" in page
    assert f"Changes since {v1.number}" in page
    assert "changed" in page and "added" in page and "removed" in page
    assert "Extra support" in page
    # The superseded version stays readable, with its own lines and without edit controls.
    old = seller_client.get(reverse("quotes:detail", args=[v1.pk]))
    assert old.status_code == 200
    assert "Superseded" in old.content.decode()
    assert reverse("quotes:line_add", args=[v1.pk]) not in old.content.decode()


def test_revise_button_posts_through_the_service_and_opens_the_new_version(seller_client, seller):
    v1 = factories.quote(owner=seller, sent=True)
    assert "Revise" in seller_client.get(reverse("quotes:detail", args=[v1.pk])).content.decode()

    response = seller_client.post(reverse("quotes:revise", args=[v1.pk]), follow=True)

    v2 = Quote.objects.get(root=v1)
    assert response.redirect_chain[-1][0] == v2.get_absolute_url()
    assert f"You are editing the new version {v2.number}" in response.content.decode()


def test_revising_a_draft_from_the_page_is_refused_with_a_message(seller_client, seller):
    draft = factories.quote(owner=seller)

    response = seller_client.post(reverse("quotes:revise", args=[draft.pk]), follow=True)

    assert "is not possible now" in response.content.decode()
    assert not Quote.objects.filter(root=draft).exists()


def test_another_teams_seller_cannot_revise(client, seller, other_team_seller):
    quote = factories.quote(owner=seller, sent=True)
    client.force_login(other_team_seller)

    assert client.post(reverse("quotes:revise", args=[quote.pk])).status_code == 404
    quote.refresh_from_db()
    assert quote.state == QuoteState.SENT


def test_current_versions_leave_out_superseded_ones(seller):
    v1 = factories.quote(owner=seller, sent=True)
    v2 = quote_revise(quote=v1, actor=seller)

    assert list(v1.opportunity.quotes.current()) == [v2]
