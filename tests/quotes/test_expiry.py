"""Quotes past their validity date expire: nightly beat task and `manage.py expire_quotes`."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_fsm_log.models import StateLog

from quotes.models import Quote, QuoteState
from quotes.services import quote_expire_due
from quotes.tasks import expire_quotes
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def quotes(seller):
    yesterday = timezone.localdate() - timedelta(days=1)
    past = factories.quote(owner=seller, sent=True)
    current = factories.quote(owner=seller, sent=True)
    draft = factories.quote(owner=seller)
    Quote.objects.filter(pk__in=[past.pk, draft.pk]).update(valid_until=yesterday)
    return past, current, draft


def states(*quotes):
    return [Quote.objects.get(pk=q.pk).state for q in quotes]


def test_only_sent_quotes_past_their_validity_expire(quotes):
    past, current, draft = quotes

    assert quote_expire_due() == 1

    assert states(past, current, draft) == [QuoteState.EXPIRED, QuoteState.SENT, QuoteState.DRAFT]
    log = StateLog.objects.for_(Quote.objects.get(pk=past.pk)).get(transition="expire")
    assert (log.source_state, log.state, log.by) == ("sent", "expired", None)


def test_a_quote_valid_until_today_is_still_open(seller):
    quote = factories.quote(owner=seller, sent=True)
    Quote.objects.filter(pk=quote.pk).update(valid_until=timezone.localdate())

    assert quote_expire_due() == 0
    assert states(quote) == [QuoteState.SENT]


def test_running_twice_expires_nothing_more(quotes):
    assert quote_expire_due() == 1
    assert quote_expire_due() == 0
    assert StateLog.objects.filter(transition="expire").count() == 1


def test_the_beat_task_expires_them(quotes):
    assert expire_quotes.delay().get() == 1
    assert states(quotes[0]) == [QuoteState.EXPIRED]


def test_the_beat_schedule_is_installed():
    task = PeriodicTask.objects.get(task="quotes.tasks.expire_quotes")
    assert task.enabled and task.crontab is not None


def test_command_dry_run_changes_nothing(quotes):
    out = StringIO()

    call_command("expire_quotes", "--dry-run", stdout=out)

    assert "1 quote(s)" in out.getvalue() and "dry run" in out.getvalue()
    assert states(quotes[0]) == [QuoteState.SENT]


def test_command_expires_and_reports(quotes):
    out = StringIO()

    call_command("expire_quotes", stdout=out)

    assert "1 quote(s) expired." in out.getvalue()
    assert states(quotes[0]) == [QuoteState.EXPIRED]


def test_the_expiry_is_set_based(seller, django_assert_max_num_queries):
    for _ in range(3):
        factories.quote(owner=seller, sent=True, lines=1)
    Quote.objects.update(valid_until=timezone.localdate() - timedelta(days=2))

    with django_assert_max_num_queries(8):
        assert quote_expire_due() == 3
