"""Weekly pipeline snapshot: service, Celery task, management command, beat schedule."""

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from djmoney.money import Money

from opportunities.models import PipelineSnapshot
from opportunities.services import opportunity_lose, opportunity_update, pipeline_snapshot_take, week_of
from opportunities.tasks import snapshot_pipeline
from tests import factories

pytestmark = pytest.mark.django_db

WEDNESDAY = date(2026, 11, 18)


def test_week_is_named_by_its_monday():
    assert week_of(WEDNESDAY) == date(2026, 11, 16)
    assert week_of(date(2026, 11, 16)) == date(2026, 11, 16)


def test_snapshot_records_every_open_deal_and_a_rerun_in_the_week_replaces_it(seller):
    first = factories.opportunity(owner=seller, amount="1000.00")
    factories.opportunity(owner=seller, amount="500.00")

    assert pipeline_snapshot_take(day=WEDNESDAY) == 2
    opportunity_update(opportunity=first, actor=seller, amount=Money("800.00", "EUR"))
    assert pipeline_snapshot_take(day=WEDNESDAY + timedelta(days=2)) == 2  # Friday: same week

    rows = PipelineSnapshot.objects.filter(week=date(2026, 11, 16))
    assert rows.count() == 2
    row = rows.get(opportunity=first)
    assert (row.amount, row.stage_id, row.probability, row.state) == (Money("800.00", "EUR"), first.stage_id, 10,
                                                                        "open")


def test_each_week_keeps_its_own_rows(seller):
    factories.opportunity(owner=seller)

    pipeline_snapshot_take(day=WEDNESDAY)
    pipeline_snapshot_take(day=WEDNESDAY + timedelta(days=7))

    assert sorted(PipelineSnapshot.objects.values_list("week", flat=True)) == [date(2026, 11, 16), date(2026, 11, 23)]


def test_deals_closed_long_ago_are_left_out(seller):
    opp = factories.opportunity(owner=seller)
    opportunity_lose(opportunity=opp, actor=seller, reason="price")

    today = timezone.localdate()  # the company's day, as the deal's close is counted: not UTC's
    assert pipeline_snapshot_take(day=today + timedelta(days=14)) == 0
    assert pipeline_snapshot_take(day=today) == 1  # closed this week: the week's outcome is kept


def test_task_and_command_do_the_same_work(seller):
    factories.opportunity(owner=seller)

    assert snapshot_pipeline.delay("2026-11-18").get() == 1
    out = StringIO()
    call_command("snapshot_pipeline", "--date", "2026-11-19", stdout=out)

    assert "week of 2026-11-16: 1 deal(s)" in out.getvalue()
    assert PipelineSnapshot.objects.count() == 1
    with pytest.raises(CommandError, match="--date"):
        call_command("snapshot_pipeline", "--date", "19.11.2026")


def test_weekly_beat_schedule_is_installed():
    task = PeriodicTask.objects.get(task="opportunities.tasks.snapshot_pipeline")
    assert task.enabled and task.crontab.day_of_week == "0"
