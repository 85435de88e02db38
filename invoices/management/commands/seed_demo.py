"""A realistic demo company with a year of sales history, built through the real services.

Every record is made the way a user would make it (lead_create, qualify, quote_send, order_fulfil,
invoice_issue, payment_record …), so numbers, state logs, stage changes and totals are exactly what the
application itself produces. History is spread over the past year by running each step under a
simulated clock, in global time order: invoice numbers follow issue dates, and a nightly overdue sweep
runs just as Celery beat would have.

It lives in the invoices app because only the last app of the flow may import all the others.
"""

from __future__ import annotations

import heapq
import random
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any
from unittest import mock

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from djmoney.money import Money

import crm.jobs
from crm import money
from crm.models import Account, CompanyProfile, Product, TaxCategory, TaxRate, Team, User
from crm.workflow import DomainError
from invoices.models import Invoice, PaymentMethod
from invoices.services import invoice_create_from_order, invoice_issue, invoices_sweep_overdue, payment_record
from leads import services as lead_services
from leads.models import DisqualifyReason, Lead, LeadSource
from opportunities.models import Opportunity, SalesTarget, Stage
from opportunities.selectors import pipeline_stages
from opportunities.services import (
    opportunity_create,
    opportunity_create_from_lead,
    opportunity_lose,
    opportunity_move_stage,
    opportunity_update,
)
from orders.models import Order
from orders.services import order_cancel, order_create_from_quote, order_fulfil, order_start_fulfilment, order_update
from quotes.models import Quote
from quotes.services import quote_cancel, quote_create_from_opportunity, quote_line_add, quote_reject, quote_send

DEMO_PASSWORD = "salesflow-demo"
# The next steps sellers plan on live deals (kind, subject).
NEXT_STEPS = [
    ("call", "Follow-up call"), ("meeting", "Demo for the buying team"), ("email", "Send the revised offer"),
    ("task", "Check budget approval"), ("call", "Clarify the delivery date"),
]
TEAM_MONTHLY_TARGET = Decimal(150_000)  # EUR; a team wins ~€300,000 a quarter in the demo: the target is a stretch
LEAD_NEXT_STEPS = [
    ("call", "Call back about their requirements"), ("email", "Send the product overview"),
    ("meeting", "Discovery meeting"),
]

# username, first name, last name, role, team it belongs to, manages that team
DEMO_USERS = [
    ("admin", "Ada", "Admin", "admin", None, False),
    ("manager", "Martina", "Keller", "sales_manager", "Team North", True),
    ("manager2", "Stefan", "Brandt", "sales_manager", "Team South", True),
    ("seller", "Sarah", "Lindqvist", "seller", "Team North", False),
    ("seller2", "Jonas", "Petersen", "seller", "Team North", False),
    ("seller3", "Mia", "Hoffmann", "seller", "Team North", False),
    ("seller4", "Luca", "Moretti", "seller", "Team South", False),
    ("seller5", "Elif", "Yilmaz", "seller", "Team South", False),
    ("accountant", "Andreas", "Vogel", "accountant", None, False),
]

# Team South runs its own pipeline with exit gates; Team North uses the default one (created by migration).
# name, probability, guidance, facts required before leaving, a quote must have been sent before leaving
SOUTH_STAGES = [
    ("Discovery", 10, "Find out budget, authority, need and timeline.", ["amount", "expected_close_date"], False),
    ("Demo", 30, "Show the product to the decision maker.", ["contact"], False),
    ("Proposal", 50, "Send the quote and walk the customer through it.", [], True),
    ("Negotiation", 70, "Agree the commercial terms.", [], False),
    ("Contract", 90, "Contract with the customer's legal department.", [], False),
]

# sku, name, unit, price, reduced tax rate (7 %: printed books)
PRODUCTS = [
    ("SF-LIC-STD", "Salesflow licence Standard (per user and year)", "user", "480.00", False),
    ("SF-LIC-PRO", "Salesflow licence Professional (per user and year)", "user", "780.00", False),
    ("SV-ONB", "Onboarding workshop (1 day, on site)", "day", "1450.00", False),
    ("SV-CONS", "Consulting", "h", "135.00", False),
    ("SV-IMPL", "Implementation package", "pc", "6900.00", False),
    ("SV-DATA", "Data migration from legacy CRM", "pc", "2400.00", False),
    ("SV-SUP", "Premium support (per year)", "pc", "1800.00", False),
    ("HW-TAB", "Rugged field tablet", "pc", "899.00", False),
    ("HW-SCAN", "Bluetooth barcode scanner", "pc", "249.00", False),
    ("HW-PRN", "Mobile label printer", "pc", "389.00", False),
    ("BK-HAND", "Printed user handbook", "pc", "39.00", True),
    ("BK-PLAY", "Sales playbook, print edition", "pc", "29.00", True),
]

# What a deal sells: a name and lines of (sku, quantity range); the first line is always quoted.
BUNDLES = [
    ("CRM rollout", [("SF-LIC-STD", (5, 40)), ("SV-ONB", (1, 2)), ("BK-HAND", (5, 40)), ("SV-SUP", (1, 1))]),
    ("Enterprise CRM migration",
     [("SF-LIC-PRO", (10, 80)), ("SV-IMPL", (1, 1)), ("SV-DATA", (1, 1)), ("SV-CONS", (8, 40))]),
    ("Field sales hardware", [("HW-TAB", (5, 30)), ("HW-SCAN", (5, 30)), ("HW-PRN", (1, 6)), ("BK-PLAY", (5, 30))]),
    ("Sales process consulting", [("SV-CONS", (16, 120)), ("BK-PLAY", (2, 20))]),
    ("Professional upgrade", [("SF-LIC-PRO", (5, 25)), ("SV-ONB", (1, 3)), ("SV-SUP", (1, 1)), ("BK-HAND", (5, 25))]),
]

FIRST_NAMES = [
    "Anna", "Lukas", "Sophie", "Felix", "Laura", "Maximilian", "Lea", "Paul", "Hannah", "Leon", "Emma", "Noah",
    "Marie", "Elias", "Julia", "Jan", "Clara", "Tim", "Nina", "David", "Katharina", "Tobias", "Sara", "Moritz",
    "Olivia", "Ben", "Amelie", "Finn", "Ayşe", "Mehmet", "Zofia", "Piotr", "Giulia", "Marco", "Ingrid", "Lars",
]
LAST_NAMES = [
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
    "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger",
    "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner", "Krause", "Meier", "Lehmann", "Kaya", "Nowak",
    "Rossi", "Jensen", "Novak", "Berg", "Kühn", "Frank",
]
COMPANY_STEMS = [
    "Nordlicht", "Bergmann", "Rheinblick", "Alster", "Havelland", "Isarwerk", "Elbtal", "Sonnenfeld", "Taunus",
    "Weserbrück", "Hanse", "Brenner", "Lindenhof", "Auenland", "Kessler", "Falkenstein", "Mainufer", "Seeblick",
    "Adler", "Greif", "Eichwald", "Sternberg", "Donautal", "Moosach", "Vulkan", "Ostwind", "Kranich", "Wendel",
    "Harzgold", "Ruhrstahl", "Spree", "Ammersee", "Schwanen", "Kiefer", "Blautal", "Hafenkante",
]
COMPANY_KINDS = [
    "Logistik GmbH", "Maschinenbau AG", "Medizintechnik GmbH", "Software GmbH", "Handels KG", "Bau GmbH",
    "Elektro GmbH & Co. KG", "Lebensmittel GmbH", "Consulting GmbH", "Automotive AG", "Energie GmbH",
    "Verlag GmbH",
]
CITIES = [
    ("10115", "Berlin"), ("20095", "Hamburg"), ("80331", "München"), ("50667", "Köln"),
    ("60311", "Frankfurt am Main"), ("70173", "Stuttgart"), ("40213", "Düsseldorf"), ("04109", "Leipzig"),
    ("30159", "Hannover"), ("28195", "Bremen"), ("01067", "Dresden"), ("90402", "Nürnberg"),
]
STREETS = ["Hauptstraße", "Industriestraße", "Am Hafen", "Bahnhofstraße", "Gewerbering", "Lindenallee",
           "Schillerstraße", "Marktplatz", "Kanalweg", "Werftstraße"]
TITLES = ["Managing Director", "Head of Sales", "IT Manager", "Procurement Lead", "COO", "Head of Operations",
          "CFO", "Project Manager", "Office Manager", "Head of Field Service"]
FREEMAIL = ["gmail.com", "web.de", "gmx.de", "outlook.com"]
SOURCE_WEIGHTS = {
    LeadSource.WEBSITE: 30, LeadSource.REFERRAL: 15, LeadSource.TRADE_SHOW: 14, LeadSource.EMAIL: 10,
    LeadSource.PHONE: 10, LeadSource.PARTNER: 10, LeadSource.IMPORT: 6, LeadSource.OTHER: 5,
}
LOST_NOTES = {
    "price": "Customer found our price 20 % above their budget.",
    "competitor": "Went with a competitor that already serves their parent company.",
    "no_decision": "Project postponed until next fiscal year.",
    "no_budget": "Budget was reallocated to another project.",
    "requirements": "They need an on-premise installation.",
    "other": "Champion left the company.",
}
REJECTION_REASONS = ["Budget frozen until next fiscal year", "Chose a competitor's offer",
                     "Scope too large for this year"]
CANCEL_REASONS = ["Customer withdrew after an internal reorganisation", "Duplicate order, entered twice",
                  "Credit check failed"]

# Lead-only outcomes and deal outcomes, with their counts at --scale 1 (~200 leads, ~80 opportunities).
LEAD_PLAN = {"new": 40, "working": 45, "disqualified": 35, "recycled": 8}
DEAL_PLAN = {
    "open": 16, "open_draft": 5, "open_sent": 7, "open_cancelled_draft": 2,
    "lost": 14, "lost_rejected": 7,
    "order_confirmed": 4, "order_in_fulfilment": 5, "order_cancelled": 3, "order_fulfilled": 2,
    "invoice_draft": 3, "invoice_issued": 3, "invoice_partial": 3, "invoice_overdue": 4, "invoice_paid": 12,
}


# --- simulated clock ---------------------------------------------------------------------------------

_RealDatetime = datetime


class _DatetimeMeta(type):
    # Django's timezone module checks isinstance(value, datetime); real datetimes must still pass.
    def __instancecheck__(cls, obj: object) -> bool:
        return isinstance(obj, _RealDatetime)

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, _RealDatetime)


class _ClockDatetime(_RealDatetime, metaclass=_DatetimeMeta):
    frozen: datetime | None = None

    @classmethod
    def now(cls, tz: Any = None) -> datetime:
        if cls.frozen is None:
            return _RealDatetime.now(tz)
        return cls.frozen.astimezone(tz) if tz is not None else cls.frozen.astimezone().replace(tzinfo=None)


@contextmanager
def simulated_clock() -> Iterator[type[_ClockDatetime]]:
    """Make django.utils.timezone.now() return `_ClockDatetime.frozen`.

    Patching `timezone.now` alone is not enough: model fields hold the original function as their
    default (created_at, StateLog.timestamp, StageChange.at …). That function reads the module's
    `datetime`, so replacing that name moves every "now" in Django at once.
    """
    with mock.patch("django.utils.timezone.datetime", _ClockDatetime):
        try:
            yield _ClockDatetime
        finally:
            _ClockDatetime.frozen = None


@contextmanager
def no_background_jobs() -> Iterator[None]:
    """Queue nothing while seeding: no broker is needed, and PDFs are rendered later by
    `render_documents` (make run starts it) or on demand."""
    original = crm.jobs.enqueue_on_commit
    modules = [m for m in list(sys.modules.values()) if getattr(m, "enqueue_on_commit", None) is original]
    patches = [mock.patch.object(m, "enqueue_on_commit", lambda *args, **kwargs: None) for m in modules]
    for p in patches:
        p.start()
    try:
        yield
    finally:
        for p in reversed(patches):
            p.stop()


# --- scripts: a chain of steps with gaps, anchored in time once its length is known ------------------

Step = Callable[[SimpleNamespace], None]


@dataclass
class Script:
    rng: random.Random
    steps: list[tuple[timedelta, Step]] = field(default_factory=list)
    length: timedelta = timedelta(0)
    ns: SimpleNamespace = field(default_factory=SimpleNamespace)

    def then(self, days: tuple[int, int], step: Step) -> None:
        if self.steps:
            self.length += timedelta(days=self.rng.randint(*days), minutes=self.rng.randint(3, 50))
        self.steps.append((self.length, step))


class Command(BaseCommand):
    help = (
        "Create a demo company (users, teams, products, a year of leads, deals, quotes, orders and invoices) "
        f"through the services. Refuses to run when the demo users exist. All logins use '{DEMO_PASSWORD}'."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=42, help="Random seed: the same seed gives the same data.")
        parser.add_argument(
            "--scale", type=float, default=1.0,
            help="Multiply the number of leads and deals (0.1 for a quick test; every state still appears).",
        )

    def handle(self, *args: Any, seed: int, scale: float, **options: Any) -> None:
        if scale <= 0:
            raise CommandError("--scale must be greater than 0")
        if User.objects.filter(username__in=[u[0] for u in DEMO_USERS]).exists():
            self.stdout.write("Demo users already exist: nothing to do (seed_demo runs once per database).")
            return
        started = time.monotonic()
        self.rng = random.Random(seed)
        self.scale = scale
        self.now = timezone.now()
        self.events: list[tuple[datetime, int, Step, SimpleNamespace]] = []
        self.skipped_moves = 0
        try:
            with no_background_jobs(), simulated_clock() as clock, transaction.atomic():
                self.clock = clock
                clock.frozen = self.now - timedelta(days=400)
                self.create_company()
                self.plan()
                self.run_events()
        except DomainError as exc:
            raise CommandError(f"Seeding failed, nothing was written: {exc}") from exc
        self.print_summary(time.monotonic() - started)

    # --- master data -----------------------------------------------------------------------------

    def create_company(self) -> None:
        CompanyProfile.objects.update_or_create(
            pk=1,
            defaults={
                "legal_name": settings.SALESFLOW_COMPANY_NAME, "street": "Friedrichstraße 123",
                "postal_code": "10117", "city": "Berlin", "country": "DE", "vat_id": "DE123456789",
                "email": "billing@salesflow-demo.example", "phone": "+49 30 1234567-0",
                "iban": "DE89370400440532013000", "bic": "COBADEFFXXX", "bank_name": "Commerzbank",
            },
        )
        # One hash for all: hashing is deliberately slow and every demo user shares the password.
        password = make_password(DEMO_PASSWORD)
        self.users: dict[str, User] = {}
        self.managers: dict[str, User] = {}
        teams = {name: Team.objects.get_or_create(name=name)[0] for name in ("Team North", "Team South")}
        for username, first, last, role, team_name, manages in DEMO_USERS:
            user = User(
                username=username, first_name=first, last_name=last, email=f"{username}@salesflow-demo.example",
                password=password, is_staff=role != "seller", is_superuser=role == "admin",
            )
            user.save()
            user.groups.add(Group.objects.get(name=role))
            if team_name:
                teams[team_name].members.add(user)
                if manages:
                    teams[team_name].manager = user
                    teams[team_name].save(update_fields=["manager"])
                    self.managers[team_name] = user
            self.users[username] = user
        self.sellers = [u for name, u in self.users.items() if name.startswith("seller")]
        self.accountant = self.users["accountant"]
        self.create_targets(teams.values())
        if not Stage.objects.filter(team=teams["Team South"]).exists():
            Stage.objects.bulk_create(
                Stage(team=teams["Team South"], name=name, order=i, probability=p, guidance=guidance,
                      required_fields=required, requires_quote_sent=quote_gate)
                for i, (name, p, guidance, required, quote_gate) in enumerate(SOUTH_STAGES)
            )
        standard, _ = TaxRate.objects.get_or_create(
            percent=Decimal("19.00"), category=TaxCategory.STANDARD, defaults={"name": "VAT standard"}
        )
        reduced, _ = TaxRate.objects.get_or_create(
            percent=Decimal("7.00"), category=TaxCategory.REDUCED, defaults={"name": "VAT reduced"}
        )
        currency = settings.DEFAULT_CURRENCY
        self.products = {}
        for sku, name, unit, price, is_reduced in PRODUCTS:
            self.products[sku], _ = Product.objects.get_or_create(
                sku=sku,
                defaults={"name": name, "unit": unit, "price": Money(Decimal(price), currency),
                          "tax_rate": reduced if is_reduced else standard},
            )
        names = [f"{stem} {kind}" for stem in COMPANY_STEMS for kind in COMPANY_KINDS]
        self.rng.shuffle(names)
        # Fewer companies than leads: some companies send several leads and become repeat customers.
        self.companies = names[: max(8, int(110 * self.scale))]

    # --- planning --------------------------------------------------------------------------------

    def count(self, n: int) -> int:
        return max(1, round(n * self.scale))

    def plan(self) -> None:
        for outcome, n in LEAD_PLAN.items():
            for _ in range(self.count(n)):
                self.plan_lead(outcome)
        for outcome, n in DEAL_PLAN.items():
            for _ in range(self.count(n)):
                self.plan_deal(outcome)
        # The nightly overdue sweep, as Celery beat runs it (02:15 local time).
        first_night = timezone.localtime(self.now - timedelta(days=365)).replace(hour=2, minute=15, second=0)
        night = first_night
        while night < self.now:
            self.events.append((night, len(self.events), self.sweep, SimpleNamespace()))
            night += timedelta(days=1)

    def schedule(self, script: Script, *, ended_days_ago: tuple[int, int]) -> None:
        """Place `script` so that its last step happens `ended_days_ago` days before now (at office hours)
        and its first step not much more than a year ago."""
        lo, hi = ended_days_ago
        hi = max(lo, min(hi, 365 - script.length.days))
        day = timezone.localtime(self.now - timedelta(days=self.rng.randint(lo, hi)))
        end = day.replace(hour=self.rng.randint(13, 17), minute=self.rng.randint(0, 59), second=0, microsecond=0)
        if end >= self.now:
            end = self.now - timedelta(minutes=5)
        start = end - script.length
        script.ns.end = end
        for offset, step in script.steps:
            self.events.append((start + offset, len(self.events), step, script.ns))

    def run_events(self) -> None:
        heapq.heapify(self.events)
        while self.events:
            at, _, step, ns = heapq.heappop(self.events)
            self.clock.frozen = at
            step(ns)
        self.clock.frozen = None

    def pick_owner(self) -> User:
        # The seller the README sends people to gets a good share of the data.
        return self.rng.choices(self.sellers, weights=[3, 2, 2, 2, 2])[0]

    def person(self) -> dict[str, Any]:
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
        company = self.rng.choice(self.companies)
        local = f"{first}.{last}".lower().translate(str.maketrans({"ü": "ue", "ö": "oe", "ä": "ae", "ş": "s"}))
        if self.rng.random() < 0.1:
            email = f"{local}@{self.rng.choice(FREEMAIL)}"
        else:
            domain = "-".join(company.split()[:2]).lower().translate(str.maketrans({"ü": "ue", "ö": "oe"}))
            email = f"{local}@{domain}.example"
        return {
            "first_name": first, "last_name": last, "email": email, "company": company,
            "title": self.rng.choice(TITLES),
            "phone": f"+49 {self.rng.randint(30, 911)} {self.rng.randint(100000, 999999)}",
            "source": self.rng.choices(list(SOURCE_WEIGHTS), weights=list(SOURCE_WEIGHTS.values()))[0],
            "score": self.rng.randint(5, 95),
        }

    def add_lead_steps(self, script: Script, owner: User, *, untouched: bool = False) -> None:
        fields = self.person()
        rng = self.rng
        # Imported and web leads are assigned by the team's manager; the others the seller enters.
        creator = self.managers[owner.teams.first().name] if fields["source"] in ("website", "import") else owner

        def create(ns: SimpleNamespace) -> None:
            ns.lead = lead_services.lead_create(actor=creator, owner=owner, **fields)

        script.then((0, 0), create)
        if not untouched and rng.random() < 0.6:
            script.then((0, 3), lambda ns: lead_services.lead_start_work(lead=ns.lead, actor=owner))
            script.then((0, 4), lambda ns: self.activity(ns.lead, owner, "call", "Intro call",
                                                         "Talked about their current tools and team size."))

    def plan_lead(self, outcome: str) -> None:
        script = Script(self.rng)
        owner = self.pick_owner()
        self.add_lead_steps(script, owner, untouched=outcome == "new")
        reason = self.rng.choice(DisqualifyReason.values)
        if outcome == "new":
            self.schedule(script, ended_days_ago=(1, 14))
            return
        if outcome == "working":
            if len(script.steps) == 1:
                script.then((0, 2), lambda ns: lead_services.lead_start_work(lead=ns.lead, actor=owner))
            if self.rng.random() < 0.5:
                script.then((0, 1), lambda ns: self.plan_next_step(ns.lead, owner, LEAD_NEXT_STEPS))
            self.schedule(script, ended_days_ago=(1, 60))
            return
        script.then((1, 20), lambda ns: lead_services.lead_disqualify(lead=ns.lead, actor=owner, reason=reason))
        if outcome == "recycled":
            script.then((20, 60), lambda ns: lead_services.lead_recycle(lead=ns.lead, actor=owner))
            self.schedule(script, ended_days_ago=(1, 90))
        else:
            self.schedule(script, ended_days_ago=(1, 360))

    def plan_deal(self, outcome: str) -> None:
        rng = self.rng
        script = Script(rng)
        owner = self.pick_owner()
        team = owner.teams.first()
        stages = pipeline_stages(team)
        proposal = next((i for i, s in enumerate(stages) if s.probability >= 50), len(stages) - 1)
        deal_name, bundle = rng.choice(BUNDLES)
        ns = script.ns
        ns.name, ns.open = deal_name, outcome.startswith("open")
        ns.estimate = self.estimate(bundle)
        expansion = rng.random() < 0.1  # repeat business: a deal on an existing account, without a lead

        if expansion:
            script.then((0, 0), lambda ns: self.create_expansion(ns, owner))
        else:
            self.add_lead_steps(script, owner)
            script.then((1, 14), lambda ns: self.qualify(ns, owner))
        script.then((0, 2), lambda ns: self.activity(ns.opp, owner, "meeting", "Discovery meeting",
                                                     "Walked through their sales process and pain points."))

        quoted = outcome in ("open_draft", "open_cancelled_draft", "open_sent", "lost_rejected") or (
            outcome.startswith(("order", "invoice")))
        sent = quoted and outcome not in ("open_draft", "open_cancelled_draft")
        if outcome.startswith("open"):
            target = {"open": rng.randrange(len(stages)), "open_draft": proposal,
                      "open_cancelled_draft": proposal}.get(outcome, min(proposal + 1, len(stages) - 1))
        elif outcome == "lost":
            target = rng.randrange(len(stages))
        else:
            target = proposal
        if not sent:  # a stage that needs a sent quote keeps quote-less deals (the gate a seller would meet)
            target = min(target, next((i for i, s in enumerate(stages) if s.requires_quote_sent), target))
        # Through the pipeline up to the proposal stage, quote there, then onwards.
        for index in range(1, min(target, proposal) + 1 if quoted else target + 1):
            script.then((3, 15), lambda ns, stage=stages[index]: self.move(ns, stage, owner))

        if quoted:
            if outcome == "open_cancelled_draft":
                script.then((1, 3), lambda ns: self.write_quote(ns, owner, bundle))
                script.then((1, 3), lambda ns: quote_cancel(quote=ns.quote, actor=owner))
            script.then((1, 4), lambda ns: self.write_quote(ns, owner, bundle))
            if sent:
                script.then((1, 3), lambda ns: setattr(ns, "quote", quote_send(quote=ns.quote, actor=owner)))
                script.then((1, 3), lambda ns: self.activity(ns.opp, owner, "email", "Quote sent",
                                                             "Sent the quote with a short summary of the scope."))
            for index in range(proposal + 1, target + 1):
                script.then((1, 5), lambda ns, stage=stages[index]: self.move(ns, stage, owner))

        if outcome == "lost_rejected":
            why = rng.choice(REJECTION_REASONS)
            script.then((3, 15), lambda ns: quote_reject(quote=ns.quote, actor=owner, reason=why))
        if outcome in ("lost", "lost_rejected"):
            reason = rng.choice(list(LOST_NOTES))  # codes of the global lost reasons (migration 0004)
            script.then((1, 10), lambda ns: opportunity_lose(
                opportunity=ns.opp, actor=owner, reason=reason, note=LOST_NOTES[reason]))
            # Mostly recent, as the won deals are: the report's default quarter then shows a win rate near 60 %, as
            # in a real B2B pipeline, not one loss against twenty wins.
            self.schedule(script, ended_days_ago=(1, 120))
            return
        if outcome.startswith("open"):
            script.then((0, 1), lambda ns: self.plan_next_step(ns.opp, owner, NEXT_STEPS))
            self.schedule(script, ended_days_ago=(1, 14))
            return

        # Won: the customer accepts the quote, which creates the order and marks the deal won.
        if len(stages) > proposal + 1 and rng.random() < 0.6:
            script.then((2, 6), lambda ns: self.move(ns, stages[proposal + 1], owner))
        script.then((2, 12), lambda ns: self.accept(ns, owner))
        if outcome == "order_confirmed":
            self.schedule(script, ended_days_ago=(1, 10))
            return
        script.then((1, 5), lambda ns: order_start_fulfilment(order=ns.order, actor=owner))
        if outcome == "order_in_fulfilment":
            self.schedule(script, ended_days_ago=(1, 20))
            return
        if outcome == "order_cancelled":
            why = rng.choice(CANCEL_REASONS)
            script.then((1, 10), lambda ns: order_cancel(order=ns.order, actor=owner, reason=why))
            self.schedule(script, ended_days_ago=(5, 300))
            return
        script.then((3, 20), lambda ns: order_fulfil(order=ns.order, actor=owner))
        if outcome == "order_fulfilled":
            self.schedule(script, ended_days_ago=(1, 5))
            return
        accountant = self.accountant
        script.then((0, 2), lambda ns: setattr(
            ns, "invoice", invoice_create_from_order(order=ns.order, actor=accountant)))
        if outcome == "invoice_draft":
            self.schedule(script, ended_days_ago=(1, 5))
            return
        script.then((0, 1), lambda ns: setattr(ns, "invoice", invoice_issue(invoice=ns.invoice, actor=accountant)))
        if outcome == "invoice_issued":
            self.schedule(script, ended_days_ago=(1, 12))  # due in 14 days: not yet due
        elif outcome == "invoice_overdue":
            self.schedule(script, ended_days_ago=(20, 80))  # due date long past, the sweep marks it
        elif outcome == "invoice_partial":
            share = Decimal(rng.choice([30, 40, 50]))
            script.then((1, 8), lambda ns: self.pay(ns, accountant, share=share))
            self.schedule(script, ended_days_ago=(1, 3))
        else:
            if rng.random() < 0.3:
                script.then((5, 12), lambda ns: self.pay(ns, accountant, share=Decimal(50)))
            script.then((5, 30), lambda ns: self.pay(ns, accountant))
            self.schedule(script, ended_days_ago=(1, 330))

    def create_targets(self, teams: Iterable[Team]) -> None:
        """Monthly targets from three months back to three ahead, for each team and each of its sellers, so that
        the forecast page has something to measure against."""
        month = timezone.localdate(self.now).replace(day=1)
        months = []
        for _step in range(3):
            month = (month - timedelta(days=1)).replace(day=1)
        for _step in range(7):
            months.append(month)
            month = (month + timedelta(days=32)).replace(day=1)
        for team in teams:
            members = set(team.members.values_list("pk", flat=True))
            sellers = [u for u in self.sellers if u.pk in members]
            share = Decimal(round(TEAM_MONTHLY_TARGET / max(len(sellers), 1) / 1000) * 1000)
            SalesTarget.objects.bulk_create(
                [SalesTarget(team=team, month=m, amount=Money(TEAM_MONTHLY_TARGET, "EUR")) for m in months]
                + [SalesTarget(team=team, seller=seller, month=m,
                               amount=Money(share, "EUR"))
                   for seller in sellers for m in months]
            )

    # --- steps -----------------------------------------------------------------------------------

    def activity(self, target: Any, actor: User, kind: str, subject: str, body: str) -> None:
        lead_services.activity_log(target=target, actor=actor, kind=kind, subject=subject, body=body)

    def plan_next_step(self, target: Lead | Opportunity, owner: User, steps: list[tuple[str, str]]) -> None:
        """A live deal's or lead's next step, due in the coming days; a few are already overdue, as in any real
        pipeline."""
        kind, subject = self.rng.choice(steps)
        day = timezone.localtime(self.now) + timedelta(days=self.rng.randint(-3, 12))
        due = day.replace(hour=self.rng.choice([9, 10, 11, 14, 15, 16]), minute=0, second=0, microsecond=0)
        lead_services.activity_log(target=target, actor=owner, kind=kind, subject=subject, due_at=due)

    def qualify(self, ns: SimpleNamespace, owner: User) -> None:
        ns.opp = opportunity_create_from_lead(
            lead=ns.lead, actor=owner, name=ns.name, amount=ns.estimate, expected_close_date=self.close_date(ns),
        )
        self.complete_account(ns.opp.account)

    def create_expansion(self, ns: SimpleNamespace, owner: User) -> None:
        candidates = list(Account.objects.filter(owner=owner).order_by("pk")) or list(Account.objects.order_by("pk"))
        account = self.rng.choice(candidates) if candidates else None
        if account is None:  # nothing to expand yet: start from a lead like every other deal
            ns.lead = lead_services.lead_create(actor=owner, owner=owner, **self.person())
            self.qualify(ns, owner)
            return
        ns.opp = opportunity_create(
            actor=owner, owner=owner, account=account, contact=account.contacts.first(),
            name=f"{ns.name} (expansion)", amount=money.money(ns.estimate,
                                                                 settings.DEFAULT_CURRENCY),
            expected_close_date=self.close_date(ns),
        )

    def estimate(self, bundle: list[tuple[str, tuple[int, int]]]) -> Decimal:
        """The seller's first guess of a deal's value: a typical order of its kind, rounded to 500."""
        typical = sum(self.products[sku].price.amount * (lo + hi) / 2 for sku, (lo, hi) in bundle)
        guess = typical * Decimal(self.rng.uniform(0.5, 1.2))
        return max(Decimal(500), (guess / 500).quantize(Decimal(1)) * 500)

    def close_date(self, ns: SimpleNamespace) -> Any:
        if ns.open:  # a seller's forecast for a live deal lies ahead
            return timezone.localdate(self.now) + timedelta(days=self.rng.randint(7, 75))
        return (timezone.localtime(ns.end) + timedelta(days=self.rng.randint(-10, 10))).date()

    def complete_account(self, account: Account) -> None:
        # The seller completes the new customer's address, as they would on the account page.
        if account.street:
            return
        postal_code, city = self.rng.choice(CITIES)
        account.street = f"{self.rng.choice(STREETS)} {self.rng.randint(1, 140)}"
        account.postal_code, account.city = postal_code, city
        account.vat_id = f"DE{self.rng.randint(100000000, 999999999)}"
        account.save(update_fields=["street", "postal_code", "city", "vat_id"])

    def move(self, ns: SimpleNamespace, stage: Stage, actor: User) -> None:
        try:
            ns.opp = opportunity_move_stage(opportunity=ns.opp, stage=stage, actor=actor)
        except DomainError:  # a stage gate said no: the deal stays where it is, as it would for a user
            self.skipped_moves += 1

    def write_quote(self, ns: SimpleNamespace, owner: User, bundle: list[tuple[str, tuple[int, int]]]) -> None:
        quote = quote_create_from_opportunity(opportunity=ns.opp, actor=owner)
        for position, (sku, (lo, hi)) in enumerate(bundle):
            if position and self.rng.random() < 0.35:
                continue
            discount = Decimal(self.rng.choice([0, 0, 0, 5, 10])) if sku.startswith("SF-") else Decimal(0)
            quote_line_add(quote=quote, actor=owner, product=self.products[sku],
                           quantity=Decimal(self.rng.randint(lo, hi)), discount_percent=discount)
        quote.refresh_from_db()
        ns.quote = quote
        ns.opp = opportunity_update(opportunity=ns.opp, actor=owner, amount=quote.net_total)

    def accept(self, ns: SimpleNamespace, owner: User) -> None:
        ns.order = order_create_from_quote(quote=ns.quote, actor=owner)
        if self.rng.random() < 0.5:
            ns.order = order_update(order=ns.order, actor=owner,
                                    customer_reference=f"PO-{self.rng.randint(10000, 99999)}")

    def pay(self, ns: SimpleNamespace, actor: User, share: Decimal | None = None) -> None:
        invoice = Invoice.objects.get(pk=ns.invoice.pk)
        due = invoice.balance_due.amount
        amount = due if share is None else money.quantize(invoice.gross_total.amount * share / 100, invoice.currency)
        payment_record(
            invoice=invoice, actor=actor, amount=Money(min(amount, due), invoice.currency),
            method=self.rng.choices([PaymentMethod.BANK_TRANSFER, PaymentMethod.DIRECT_DEBIT, PaymentMethod.CARD],
                                    weights=[8, 2, 1])[0],
            reference=f"{invoice.number} / {invoice.account.name}"[:100],
        )

    def sweep(self, ns: SimpleNamespace) -> None:
        # Most nights have nothing to sweep; one cheap query skips the set-based transition then.
        if Invoice.objects.overdue_candidates(timezone.localdate()).exists():
            invoices_sweep_overdue(actor=None)

    # --- report ----------------------------------------------------------------------------------

    def print_summary(self, seconds: float) -> None:
        def states(model: Any) -> str:
            counts = {row["state"]: row["n"] for row in model.objects.values("state").annotate(n=Count("pk"))}
            labels = dict(model._meta.get_field("state").choices)
            return ", ".join(f"{labels[s]} {counts[s]}" for s in labels if counts.get(s))

        w = self.stdout.write
        w(self.style.SUCCESS(f"Demo company created in {seconds:.1f} s."))
        w(f"  Products:      {Product.objects.count()} (two tax rates)")
        w(f"  Accounts:      {Account.objects.count()}")
        for title, model in [("Leads", Lead), ("Opportunities", Opportunity), ("Quotes", Quote),
                             ("Orders", Order), ("Invoices", Invoice)]:
            w(f"  {title + ':':<14} {model.objects.count():>4}  ({states(model)})")
        if self.skipped_moves:
            w(f"  {self.skipped_moves} stage moves were refused by stage gates.")
        w("")
        w(f"Logins (password for all: {DEMO_PASSWORD}):")
        for username, first, last, role, team, manages in DEMO_USERS:
            where = f", {'manages' if manages else 'member of'} {team}" if team else ""
            w(f"  {username:<11} {first} {last} ({role.replace('_', ' ')}{where})")
        w("Start the tour as 'seller'. PDFs are rendered by `manage.py render_documents` or the worker.")

