"""seed_demo builds a usable demo company through the services, once."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from django_fsm_log.models import StateLog

from crm.models import Activity, CompanyProfile, Product, Team, User
from invoices.models import Invoice, Payment
from leads.models import Lead
from opportunities.models import Opportunity, StageChange
from orders.models import Order
from quotes.models import Quote

pytestmark = pytest.mark.django_db
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """One small demo company for the whole module (seeding is the slow part), rolled back afterwards;
    each test still runs in its own savepoint."""
    out = StringIO()
    with django_db_blocker.unblock(), transaction.atomic():
        with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
            call_command("seed_demo", scale=0.1, seed=3, stdout=out)
        yield out.getvalue()
        transaction.set_rollback(True)


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", scale=0.1, seed=3, stdout=out)
    return out.getvalue()


def states(model) -> set[str]:
    return set(model.objects.values_list("state", flat=True))


def test_demo_users_log_in_with_their_roles(client, seeded):
    output = seeded

    expected = {
        "admin": "admin", "manager": "sales_manager", "manager2": "sales_manager", "seller": "seller",
        "seller2": "seller", "seller3": "seller", "seller4": "seller", "seller5": "seller",
        "accountant": "accountant",
    }
    for username, role in expected.items():
        user = User.objects.get(username=username)
        assert list(user.groups.values_list("name", flat=True)) == [role]
        assert username in output
    assert User.objects.get(username="admin").is_superuser
    assert not User.objects.get(username="seller").is_staff
    assert client.login(username="seller", password="salesflow-demo")
    assert "salesflow-demo" in output

    north, south = Team.objects.get(name="Team North"), Team.objects.get(name="Team South")
    assert north.manager.username == "manager" and south.manager.username == "manager2"
    assert north.members.filter(username="seller").exists()
    assert User.objects.filter(groups__name="seller", teams__in=[north, south]).distinct().count() == 5


def test_every_state_of_the_flow_is_present(seeded):

    assert states(Lead) == {"new", "working", "qualified", "disqualified"}
    assert states(Opportunity) == {"open", "won", "lost"}
    assert {"draft", "sent", "accepted", "rejected"} <= states(Quote)
    assert states(Order) == {"confirmed", "in_fulfilment", "fulfilled", "cancelled"}
    assert {"draft", "issued", "partially_paid", "paid", "overdue"} <= states(Invoice)
    assert Opportunity.objects.filter(state="lost", lost_reason__isnull=False).exists()
    profile = CompanyProfile.current()
    assert profile.pk == 1 and profile.iban and profile.vat_id
    assert set(Product.objects.values_list("tax_rate__percent", flat=True)) == {19, 7}


def test_money_and_dates_add_up(seeded):
    today = timezone.localdate()

    paid = Invoice.objects.filter(state="paid").first()
    assert paid.amount_paid == paid.gross_total
    assert sum(p.amount.amount for p in Payment.objects.filter(invoice=paid)) == paid.gross_total.amount
    for invoice in Invoice.objects.filter(state="overdue"):
        assert invoice.due_date < today
        assert invoice.balance_due.amount > 0
    for invoice in Invoice.objects.filter(state__in=["issued", "partially_paid"]):
        assert invoice.due_date >= today
    assert not Invoice.objects.filter(state="draft").exclude(number=None).exists()


def test_history_is_spread_over_the_past_year_and_the_clock_is_restored(seeded):
    now = timezone.now()

    assert timezone.datetime is datetime  # the simulated clock is gone
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)
    oldest = Lead.objects.order_by("created_at").first().created_at
    assert now - timedelta(days=400) < oldest < now - timedelta(days=90)
    assert not Lead.objects.filter(created_at__gt=now).exists()
    assert not StateLog.objects.filter(timestamp__gt=now).exists()
    assert StateLog.objects.filter(timestamp__lt=now - timedelta(days=60)).exists()
    assert StageChange.objects.filter(at__lt=now - timedelta(days=60)).exists()
    # Invoice numbers follow issue dates: numbered in the order they were issued.
    issued = list(Invoice.objects.exclude(number=None).order_by("number").values_list("issue_date", flat=True))
    assert issued == sorted(issued)


def test_runs_once_and_leaves_an_existing_company_alone(seeded):
    counts = (User.objects.count(), Lead.objects.count(), Invoice.objects.count())

    output = seed()

    assert "already exist" in output
    assert (User.objects.count(), Lead.objects.count(), Invoice.objects.count()) == counts



def test_live_deals_have_a_planned_next_step_and_logged_calls_are_not_to_dos(seeded):
    planned = Activity.objects.filter(done=False, due_at__isnull=False)

    assert planned.exists()
    # Live deals and leads being worked: nothing closed, won, lost or disqualified carries a to-do.
    states = {activity.target.state for activity in planned}
    assert "open" in states and states <= {"open", "working"}
    assert not planned.filter(due_at__lt=timezone.now() - timedelta(days=4)).exists()  # due lately or soon
    assert Activity.objects.filter(due_at__isnull=True, subject="Intro call").exists()  # logged, not planned
