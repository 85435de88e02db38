"""Benchmark data: a deterministic, consistent company-sized dataset, bulk-inserted.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/salesflow_bench .venv/bin/python bench/generate.py --scale 1
    .venv/bin/python bench/generate.py --invoices-only 1000000     # the overdue-sweep table

At scale S=1: 20k accounts, 30k contacts, 100k leads, 50k opportunities over 3 teams (~6 stage changes each, a
year of activities), 40k quotes (~5 lines, superseded revisions), 25k orders, 25k invoices in every state with
payments. Numbers use the app's own format (crm.numbering.format_number) and the Sequence rows are set to the
highest number afterwards, so records created later through the services continue the series without a clash.
Totals go through crm.money, like the services compute them. Same seed and same --today → same data.
"""

from __future__ import annotations

import argparse
import enum
import json
import os
import random
import sys
import time
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import django
from django.apps import apps as django_apps

if not django_apps.ready:  # run as a script: set Django up before importing models
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    django.setup()

from django.contrib.auth.models import Group  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_fsm_log.models import StateLog  # noqa: E402
from djmoney.money import Money  # noqa: E402

from crm import money  # noqa: E402
from crm.models import Account, Activity, Contact, Product, Sequence, TaxRate, Team, User  # noqa: E402
from crm.numbering import format_number  # noqa: E402
from invoices.models import Invoice, InvoiceLine, InvoiceState, Payment  # noqa: E402
from leads.models import DisqualifyReason, Lead, LeadSource, LeadState  # noqa: E402
from opportunities.models import LostReason, Opportunity, OpportunityState, Stage, StageChange  # noqa: E402
from orders.models import Order, OrderLine, OrderState  # noqa: E402
from quotes.models import Quote, QuoteLine, QuoteState  # noqa: E402

BATCH = 5000
SELLERS_PER_TEAM = 8
TEAM_NAMES = ["Bench North", "Bench South", "Bench West"]
# The seller and records the page benchmarks open (bench/run.py looks them up by these markers).
BENCH_SELLER = "bench_seller_1_1"
BENCH_MANAGER = "bench_manager_1"
BENCH_ADMIN = "bench_admin"
BENCH_ACCOUNTANT = "bench_accountant"
LONG_HISTORY_NAME = "Long history deal"
EDITOR_QUOTE_TITLE = "Bench quote with 100 lines"
PDF_INVOICE_REFERENCE = "BENCH-PDF-20"
LONG_HISTORY_COUNT = 3

BASE_COUNTS = {
    "accounts": 20_000, "contacts": 30_000, "leads": 100_000, "opportunities": 50_000,
    "quotes": 40_000, "orders": 25_000, "invoices": 25_000,
}

FIRST = ["Anna", "Ben", "Clara", "David", "Elif", "Felix", "Greta", "Hannes", "Ida", "Jonas", "Kira", "Lars",
         "Mia", "Noah", "Olga", "Paul", "Quirin", "Rosa", "Sven", "Tara", "Ulf", "Vera", "Wim", "Yusuf", "Zoe"]
LAST = ["Schmidt", "Müller", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
        "Koch", "Richter", "Klein", "Wolf", "Neumann", "Schwarz", "Braun", "Zimmermann", "Hartmann", "Krüger",
        "Lindqvist", "Petersen", "Moretti", "Yilmaz", "Nowak", "Dubois", "Rossi", "Jansen", "Berg", "Larsen"]
WORDS = ["Alpen", "Nord", "Rhein", "Blau", "Stahl", "Licht", "Werk", "Daten", "Logistik", "Bau", "Solar", "Medi",
         "Agrar", "Holz", "Glas", "Tech", "Form", "Druck", "Motor", "Chemie", "Textil", "Energie", "Netz", "Food"]
SUFFIX = ["GmbH", "AG", "KG", "GmbH & Co. KG", "SE", "e.K.", "Ltd", "BV", "S.A.", "Oy"]
CITIES = [("10115", "Berlin"), ("20095", "Hamburg"), ("80331", "München"), ("50667", "Köln"),
          ("60311", "Frankfurt"), ("70173", "Stuttgart"), ("04109", "Leipzig"), ("28195", "Bremen")]
TITLES = ["CEO", "CFO", "Head of Purchasing", "IT Manager", "Operations Lead", "Buyer", "Office Manager"]
ACTIVITY_SUBJECTS = ["Discovery call", "Demo", "Follow-up e-mail", "Pricing discussion", "Site visit",
                     "Send references", "Check budget", "Call back decision maker", "Contract review"]
DEAL_KINDS = ["rollout", "expansion", "renewal", "pilot", "migration"]
# Currencies: mostly the company currency, a few foreign customers.
CURRENCY_WEIGHTS = [("EUR", 88), ("USD", 6), ("GBP", 3), ("CHF", 3)]


def counts_for(scale: float) -> dict[str, int]:
    return {name: max(1, round(n * scale)) for name, n in BASE_COUNTS.items()}


def weighted(rng: random.Random, pairs: list[tuple[Any, int]]) -> Any:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def log(message: str, verbose: bool) -> None:
    if verbose:
        print(message, flush=True)


def delivered_in_full(lines: list[dict]) -> list[dict]:
    """The order lines of a fulfilled order: every line delivered, as orders.services.order_fulfil leaves them."""
    return [{**values, "delivered_quantity": values["quantity"]} for values in lines]


class Numbers:
    """Document numbers per series and year in the app's format; Sequence rows are set to match at the end."""

    def __init__(self) -> None:
        self.last: dict[tuple[str, int], int] = defaultdict(int)
        for seq in Sequence.objects.all():
            self.last[(seq.series, seq.year)] = seq.last_value

    def next(self, series: str, on: date) -> str:
        self.last[(series, on.year)] += 1
        return format_number(series, on.year, self.last[(series, on.year)])

    def save(self) -> None:
        for (series, year), value in self.last.items():
            Sequence.objects.update_or_create(series=series, year=year, defaults={"last_value": value})


class Generator:
    def __init__(self, *, scale: float, seed: int, today: date, verbose: bool) -> None:
        self.scale = scale
        self.rng = random.Random(seed)
        self.today = today
        self.now = timezone.make_aware(datetime.combine(today, datetime.min.time())) + timedelta(hours=12)
        self.verbose = verbose
        self.counts = counts_for(scale)
        self.numbers = Numbers()
        self.timings: dict[str, float] = {}

    # ---------------------------------------------------------------- helpers
    def when(self, start: datetime | None = None, end: datetime | None = None) -> datetime:
        """A moment between start (default: a year ago) and end (default: now), uniformly."""
        start = start or self.now - timedelta(days=365)
        end = end or self.now
        span = max((end - start).total_seconds(), 1)
        return start + timedelta(seconds=self.rng.random() * span)

    def bulk(self, model: type, objs: list, label: str = "") -> list:
        started = time.perf_counter()
        created = copy_insert(model, objs) if connection.vendor == "postgresql" else model.objects.bulk_create(
            objs, batch_size=BATCH)
        key = label or model.__name__
        self.timings[key] = self.timings.get(key, 0) + time.perf_counter() - started
        return created

    def company(self) -> str:
        return f"{self.rng.choice(WORDS)}{self.rng.choice(WORDS).lower()} {self.rng.choice(SUFFIX)}"

    def currency(self) -> str:
        return weighted(self.rng, CURRENCY_WEIGHTS)

    # ---------------------------------------------------------------- people, catalog
    def people(self) -> None:
        groups = {g.name: g for g in Group.objects.all()}
        self.teams = [Team.objects.get_or_create(name=name)[0] for name in TEAM_NAMES]
        self.sellers_by_team: dict[int, list[User]] = {}
        self.team_of: dict[int, Team] = {}
        for t_index, team in enumerate(self.teams, start=1):
            manager, _ = User.objects.get_or_create(
                username=f"bench_manager_{t_index}",
                defaults={"first_name": "Manager", "last_name": team.name, "email": f"manager{t_index}@bench.test"},
            )
            manager.groups.add(groups["sales_manager"])
            team.manager = manager
            team.save(update_fields=["manager"])
            sellers = []
            for s_index in range(1, SELLERS_PER_TEAM + 1):
                seller, _ = User.objects.get_or_create(
                    username=f"bench_seller_{t_index}_{s_index}",
                    defaults={"first_name": self.rng.choice(FIRST), "last_name": self.rng.choice(LAST),
                              "email": f"seller{t_index}{s_index}@bench.test"},
                )
                seller.groups.add(groups["seller"])
                sellers.append(seller)
                self.team_of[seller.pk] = team
            team.members.add(*sellers)
            self.sellers_by_team[team.pk] = sellers
        admin, _ = User.objects.get_or_create(
            username=BENCH_ADMIN, defaults={"is_superuser": True, "is_staff": True, "email": "admin@bench.test"}
        )
        admin.groups.add(groups["admin"])
        accountant, _ = User.objects.get_or_create(username=BENCH_ACCOUNTANT, defaults={"email": "acc@bench.test"})
        accountant.groups.add(groups["accountant"])
        self.accountant = accountant
        self.sellers = [s for team in self.teams for s in self.sellers_by_team[team.pk]]
        # The first team works with the default pipeline, the others with their own.
        default_stages = list(Stage.objects.filter(team__isnull=True).order_by("order", "pk"))
        self.stages_by_team: dict[int, list[Stage]] = {self.teams[0].pk: default_stages}
        for team in self.teams[1:]:
            own = list(Stage.objects.filter(team=team).order_by("order", "pk"))
            if not own:
                own = Stage.objects.bulk_create(
                    Stage(team=team, name=name, order=i, probability=p)
                    for i, (name, p) in enumerate(
                        [("Lead in", 10), ("Discovery", 20), ("Demo", 40), ("Proposal", 60), ("Contract", 80)]
                    )
                )
            self.stages_by_team[team.pk] = own

    def catalog(self) -> None:
        rates = list(TaxRate.objects.filter(active=True))
        if not rates:
            rates = TaxRate.objects.bulk_create([
                TaxRate(name="VAT standard", percent=Decimal("19.00"), category="S"),
                TaxRate(name="VAT reduced", percent=Decimal("7.00"), category="AA"),
                TaxRate(name="Zero rated", percent=Decimal("0.00"), category="Z"),
            ])
        self.tax_rates = rates
        existing = {p.sku: p for p in Product.objects.filter(sku__startswith="BENCH-")}
        new = []
        for i in range(1, 201):
            sku = f"BENCH-{i:04d}"
            if sku not in existing:
                rate = rates[0] if i % 5 else rates[-1 if len(rates) > 1 else 0]
                kind = self.rng.choice(["licence", "service", "module", "support", "training", "hardware"])
                new.append(Product(
                    sku=sku, name=f"{self.rng.choice(WORDS)} {kind} {i}",
                    unit=self.rng.choice(["pc", "h", "month", "user"]),
                    price=Money(Decimal(self.rng.randint(5, 5000)) + Decimal("0.50") * (i % 2), "EUR"),
                    tax_rate=rate,
                ))
        Product.objects.bulk_create(new)
        self.products = list(Product.objects.filter(sku__startswith="BENCH-").select_related("tax_rate"))

    # ---------------------------------------------------------------- parties
    def parties(self) -> None:
        n_accounts, n_contacts = self.counts["accounts"], self.counts["contacts"]
        accounts = []
        for i in range(n_accounts):
            owner = self.rng.choice(self.sellers)
            postal, city = self.rng.choice(CITIES)
            name = self.company()
            slug = "".join(ch for ch in name.lower() if ch.isalnum())[:20]
            accounts.append(Account(
                name=name, domain=f"{slug}{i}.example", vat_id=f"DE{100000000 + i}", email=f"info@{slug}{i}.example",
                phone=f"+49 30 {self.rng.randint(1000000, 9999999)}",
                street=f"{self.rng.choice(WORDS)}straße {i % 200 + 1}",
                postal_code=postal, city=city, owner=owner, team=self.team_of[owner.pk], created_at=self.when(),
            ))
        for account in accounts:
            account.refresh_keys()  # bulk inserts skip save(), which keeps the matching keys
        self.accounts = self.bulk(Account, accounts)
        self.account_by_id = {a.pk: a for a in self.accounts}
        self.accounts_by_team: dict[int, list[Account]] = defaultdict(list)
        for account in self.accounts:
            self.accounts_by_team[account.team_id].append(account)
        contacts = []
        for i in range(n_contacts):
            # Every account gets a contact first, the rest are spread at random.
            account = self.accounts[i] if i < len(self.accounts) else self.rng.choice(self.accounts)
            first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
            contacts.append(Contact(
                account=account, first_name=first, last_name=last, email=f"{first}.{last}.{i}@{account.domain}".lower(),
                phone=f"+49 40 {self.rng.randint(1000000, 9999999)}", title=self.rng.choice(TITLES),
                created_at=account.created_at,
            ))
        for contact in contacts:
            contact.refresh_keys()
        self.contacts = self.bulk(Contact, contacts)
        self.contacts_by_account: dict[int, list[Contact]] = defaultdict(list)
        for contact in self.contacts:
            self.contacts_by_account[contact.account_id].append(contact)

    # ---------------------------------------------------------------- leads
    def leads(self) -> None:
        n = self.counts["leads"]
        states = [(LeadState.NEW, 25), (LeadState.WORKING, 25), (LeadState.QUALIFIED, 30), (LeadState.DISQUALIFIED, 20)]
        sources = [(s, w) for s, w in zip(LeadSource.values, [30, 15, 10, 12, 8, 10, 10, 5], strict=True)]
        rows = []
        for _ in range(n):
            owner = self.rng.choice(self.sellers)
            state = weighted(self.rng, states)
            created = self.when()
            first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
            company = self.company()
            rows.append(Lead(
                state=state, owner=owner, team=self.team_of[owner.pk], created_at=created,
                first_name=first, last_name=last, company=company, title=self.rng.choice(TITLES),
                email=f"{first}.{last}{self.rng.randint(1, 9999)}@{company.split()[0].lower()}.example",
                phone=f"+49 89 {self.rng.randint(1000000, 9999999)}", source=weighted(self.rng, sources),
                score=self.rng.randint(0, 100),
                disqualify_reason=self.rng.choice(DisqualifyReason.values) if state == LeadState.DISQUALIFIED else "",
                qualified_at=self.when(created, min(created + timedelta(days=30), self.now))
                if state == LeadState.QUALIFIED else None,
            ))
        rows.sort(key=lambda lead: lead.created_at)
        for lead in rows:
            lead.number = self.numbers.next(Lead.NUMBER_SERIES, lead.created_at.date())
        self.lead_rows = self.bulk(Lead, rows)
        self.qualified_leads = [lead for lead in self.lead_rows if lead.state == LeadState.QUALIFIED]
        self.rng.shuffle(self.qualified_leads)
        # Leads get a few activities too (calls before qualification).
        lead_ct = ContentType.objects.get_for_model(Lead)
        activities = [
            self.activity(lead_ct, lead.pk, lead.owner_id, lead.created_at, self.now)
            for lead in self.rng.sample(self.lead_rows, k=len(self.lead_rows) // 2)
        ]
        self.bulk(Activity, activities, "Activity (leads)")

    def activity(self, ct: ContentType, object_id: int, owner_id: int, start: datetime, end: datetime) -> Activity:
        kind = self.rng.choice(["call", "meeting", "email", "task", "note"])
        at = self.when(start, end)
        return Activity(
            kind=kind, subject=self.rng.choice(ACTIVITY_SUBJECTS), body="Notes from the conversation." * 2,
            due_at=at + timedelta(days=2) if kind == "task" else None, done=kind != "task" or self.rng.random() < 0.7,
            owner_id=owner_id, created_at=at, content_type=ct, object_id=object_id,
        )

    # ---------------------------------------------------------------- opportunities
    def opportunities(self) -> None:
        n = self.counts["opportunities"]
        states = [(OpportunityState.OPEN, 45), (OpportunityState.WON, 35), (OpportunityState.LOST, 20)]
        rows = []
        for i in range(n):
            lead = self.qualified_leads[i] if i < len(self.qualified_leads) else None
            owner = next(s for s in self.sellers if s.pk == lead.owner_id) if lead else self.rng.choice(self.sellers)
            rows.append(self.new_opportunity(owner, weighted(self.rng, states), lead=lead))
        self.save_opportunities(rows, changes_per_deal=(4, 8), activities_per_deal=(1, 7))
        self.opps = rows
        self.opps_by_state: dict[str, list[Opportunity]] = defaultdict(list)
        for opp in rows:
            self.opps_by_state[opp.state].append(opp)

    def new_opportunity(self, owner: User, state: str, *, lead: Lead | None = None, name: str = "") -> Opportunity:
        team = self.team_of[owner.pk]
        account = self.rng.choice(self.accounts_by_team[team.pk] or self.accounts)
        contacts = self.contacts_by_account.get(account.pk) or [None]
        created = lead.qualified_at if lead else self.when()
        stage = self.rng.choice(self.stages_by_team[team.pk])
        closed = self.when(created, self.now) if state != OpportunityState.OPEN else None
        currency = self.currency()
        return Opportunity(
            state=state, owner=owner, team=team, created_at=created, account=account, contact=self.rng.choice(contacts),
            lead=lead, source=lead.source if lead else "",
            name=name or f"{account.name.split()[0]} {self.rng.choice(DEAL_KINDS)}",
            amount=money.money(Decimal(self.rng.randint(1000, 250000)), currency),
            expected_close_date=(created + timedelta(days=self.rng.randint(14, 180))).date(),
            probability={"open": stage.probability, "won": 100, "lost": 0}[state], stage=stage,
            closed_at=closed, **self.lost_reason(state),
        )

    def lost_reason(self, state: str) -> dict[str, Any]:
        field = Opportunity._meta.get_field("lost_reason")
        if field.is_relation:  # reasons are rows (a team may define its own)
            if not hasattr(self, "_lost_reasons"):
                self._lost_reasons = list(field.related_model.objects.all()[:20])
            if state != OpportunityState.LOST or not self._lost_reasons:
                return {}
            return {"lost_reason": self.rng.choice(self._lost_reasons)}
        return {"lost_reason": self.rng.choice(LostReason.values) if state == OpportunityState.LOST else ""}

    def save_opportunities(
        self, rows: list[Opportunity], *, changes_per_deal: tuple[int, int], activities_per_deal: tuple[int, int]
    ) -> None:
        rows.sort(key=lambda o: o.created_at)
        # Stage walk first: the last change sets the current stage and when it was entered.
        walks = []
        for opp in rows:
            stages = self.stages_by_team[opp.team_id]
            k = self.rng.randint(*changes_per_deal)
            end = opp.closed_at or self.now
            times = sorted(self.when(opp.created_at, end) for _ in range(k - 1))
            path = [stages[0]]
            for _ in range(k - 2):
                path.append(self.rng.choice([s for s in stages if s.pk != path[-1].pk] or stages))
            if opp.stage.pk != path[-1].pk or len(path) == 1:
                path.append(opp.stage)
            times = [opp.created_at, *times][: len(path)]
            while len(times) < len(path):
                times.append(end)
            opp.stage_entered_at = times[-1]
            walks.append(list(zip(path, times, strict=True)))
            opp.number = self.numbers.next(Opportunity.NUMBER_SERIES, opp.created_at.date())
        self.bulk(Opportunity, rows)
        changes = []
        for opp, walk in zip(rows, walks, strict=True):
            previous = None
            for number, (stage, at) in enumerate(walk):
                left = walk[number + 1][1] if number + 1 < len(walk) else None
                changes.append(StageChange(opportunity_id=opp.pk, from_stage=previous, to_stage=stage, at=at,
                                           ended_at=left, by_id=opp.owner_id))
                previous = stage
            if len(changes) >= 50_000:
                self.bulk(StageChange, changes)
                changes = []
        self.bulk(StageChange, changes)
        ct = ContentType.objects.get_for_model(Opportunity)
        activities = []
        for opp in rows:
            for _ in range(self.rng.randint(*activities_per_deal)):
                activities.append(self.activity(ct, opp.pk, opp.owner_id, opp.created_at, opp.closed_at or self.now))
            if len(activities) >= 50_000:
                self.bulk(Activity, activities, "Activity (deals)")
                activities = []
        self.bulk(Activity, activities, "Activity (deals)")

    # ---------------------------------------------------------------- documents
    def lines_for(self, count: int, currency: str) -> list[dict[str, Any]]:
        lines = []
        for position in range(1, count + 1):
            product = self.rng.choice(self.products)
            rate = product.tax_rate
            price = product.price.amount if currency == "EUR" else (product.price.amount * Decimal("1.1")).quantize(
                Decimal("0.01"))
            lines.append({
                "position": position, "product_id": product.pk, "description": product.name,
                "quantity": Decimal(self.rng.choice([1, 1, 2, 3, 5, 10, 12, 25])), "unit": product.unit,
                "unit_price": Money(price, currency),
                "discount_percent": Decimal(self.rng.choice([0, 0, 0, 5, 10, 15])),
                "tax_rate_id": rate.pk, "tax_percent": rate.percent, "tax_category": rate.category,
            })
        for line in lines:
            line["net"] = Money(money.line_net(quantity=line["quantity"], unit_price=line["unit_price"].amount,
                                               discount_percent=line["discount_percent"], currency=currency), currency)
        return lines

    @staticmethod
    def totals(lines: list[dict[str, Any]], currency: str) -> dict[str, Money]:
        inputs = [money.LineInput(quantity=ln["quantity"], unit_price=ln["unit_price"].amount,
                                  tax_percent=ln["tax_percent"], discount_percent=ln["discount_percent"])
                  for ln in lines]
        return money.compute_totals(inputs, currency).as_money()

    def quotes(self) -> None:
        n_quotes, n_orders = self.counts["quotes"], self.counts["orders"]
        won = self.opps_by_state[OpportunityState.WON] or self.opps
        open_ = self.opps_by_state[OpportunityState.OPEN] or self.opps
        lost = self.opps_by_state[OpportunityState.LOST] or self.opps
        plan: list[tuple[Opportunity, str]] = []
        # Every order comes from an accepted quote: most won deals have one, some two (a follow-up order).
        for i in range(n_orders):
            plan.append((won[i % len(won)], QuoteState.ACCEPTED))
        rest = n_quotes - len(plan)
        mix = [(QuoteState.SUPERSEDED, 30), (QuoteState.SENT, 25), (QuoteState.DRAFT, 18), (QuoteState.REJECTED, 12),
               (QuoteState.EXPIRED, 10), (QuoteState.CANCELLED, 5)]
        for _ in range(max(rest, 0)):
            state = weighted(self.rng, mix)
            if state in (QuoteState.SENT, QuoteState.DRAFT):
                opp = self.rng.choice(open_)
            elif state == QuoteState.SUPERSEDED:
                # An older version of a quote that went on (to an order, or still out with the customer).
                opp = self.rng.choice(won) if self.rng.random() < 0.6 else self.rng.choice(open_)
            else:
                opp = self.rng.choice(lost + open_)
            plan.append((opp, state))
        rows, line_sets = [], []
        for opp, state in plan:
            created = self.when(opp.created_at, opp.closed_at or self.now)
            quote, lines = self.new_quote(opp, state, created, self.rng.randint(3, 7))
            rows.append(quote)
            line_sets.append(lines)
        self.link_versions(rows)
        self.save_documents(Quote, QuoteLine, "quote", rows, line_sets)
        self.accepted = [(q, ls) for q, ls in zip(rows, line_sets, strict=True) if q.state == QuoteState.ACCEPTED]

    def link_versions(self, rows: list[Quote]) -> None:
        """A superseded quote is version 1 of a quote that went on: its revision (same deal) points at it."""
        if "root" not in {f.name for f in Quote._meta.get_fields()}:
            return
        later = defaultdict(list)
        for quote in rows:
            if quote.state != QuoteState.SUPERSEDED:
                later[quote.opportunity_id].append(quote)
        for quote in rows:
            if quote.state != QuoteState.SUPERSEDED:
                continue
            candidates = [q for q in later[quote.opportunity_id] if q.root is None and q.version == 1]
            if candidates:
                revision = candidates[0]
                # The superseded version was written before its revision.
                quote.created_at = self.when(quote.opportunity.created_at, revision.created_at)
                quote.sent_at = quote.created_at + timedelta(hours=2)
                later[quote.opportunity_id].remove(revision)
                revision.root = quote
                revision.version = 2

    def new_quote(self, opp: Opportunity, state: str, created: datetime, n_lines: int,
                  title: str = "") -> tuple[Quote, list[dict]]:
        currency = opp.amount.currency.code
        lines = self.lines_for(n_lines, currency)
        sent = created + timedelta(days=1) if state not in (QuoteState.DRAFT, QuoteState.CANCELLED) else None
        decided = sent + timedelta(days=self.rng.randint(1, 20)) if state in (
            QuoteState.ACCEPTED, QuoteState.REJECTED) else None
        quote = Quote(
            state=state, owner_id=opp.owner_id, team_id=opp.team_id, created_at=created, opportunity=opp,
            account_id=opp.account_id, contact_id=opp.contact_id, title=title or opp.name, currency=currency,
            valid_until=(created + timedelta(days=30)).date(), language=self.rng.choice(["en", "en", "de"]),
            sent_at=sent, decided_at=decided,
            rejection_reason="Too expensive" if state == QuoteState.REJECTED else "",
            **self.totals(lines, currency),
        )
        return quote, lines

    def save_documents(self, model: type, line_model: type, fk: str, rows: list, line_sets: list[list[dict]]) -> None:
        order = sorted(range(len(rows)), key=lambda i: rows[i].created_at)
        rows[:] = [rows[i] for i in order]
        line_sets[:] = [line_sets[i] for i in order]
        for row in rows:
            if model is not Invoice:  # invoices get their number when issued
                row.number = self.numbers.next(model.NUMBER_SERIES, row.created_at.date())
        # Revisions point at their first version: insert the first versions first, then link.
        revisions = [row for row in rows if getattr(row, "root", None) is not None]
        self.bulk(model, [row for row in rows if getattr(row, "root", None) is None])
        for row in revisions:
            row.root = row.root  # copies the now known id into root_id
        self.bulk(model, revisions)
        lines = []
        for row, line_set in zip(rows, line_sets, strict=True):
            lines += [line_model(**{f"{fk}_id": row.pk}, **values) for values in line_set]
            if len(lines) >= 50_000:
                self.bulk(line_model, lines)
                lines = []
        self.bulk(line_model, lines)

    def orders(self) -> None:
        mix = [(OrderState.CONFIRMED, 15), (OrderState.IN_FULFILMENT, 20), (OrderState.FULFILLED, 60),
               (OrderState.CANCELLED, 5)]
        rows, line_sets = [], []
        for quote, lines in self.accepted:
            state = weighted(self.rng, mix)
            created = quote.decided_at or quote.created_at
            account = self.account_by_id[quote.account_id]
            rows.append(Order(
                state=state, owner_id=quote.owner_id, team_id=quote.team_id, created_at=created, quote=quote,
                opportunity_id=quote.opportunity_id, account_id=quote.account_id, contact_id=quote.contact_id,
                order_date=created.date(), billing_address="\n".join([account.name, *account.address_lines]),
                customer_reference=f"PO-{self.rng.randint(10000, 99999)}", currency=quote.currency,
                net_total=quote.net_total, tax_total=quote.tax_total, gross_total=quote.gross_total,
                fulfilled_at=self.when(created, self.now) if state == OrderState.FULFILLED else None,
                cancelled_at=self.when(created, self.now) if state == OrderState.CANCELLED else None,
                cancel_reason="Customer withdrew" if state == OrderState.CANCELLED else "",
            ))
            line_sets.append(delivered_in_full(lines) if state == OrderState.FULFILLED else lines)
        self.save_documents(Order, OrderLine, "order", rows, line_sets)
        # The invoices copy the lines without the order-only column.
        self.order_rows = [(row, [{k: v for k, v in values.items() if k != "delivered_quantity"} for values in lines])
                           for row, lines in zip(rows, line_sets, strict=True)]

    def invoices(self) -> None:
        n = self.counts["invoices"]
        billable = [(o, ls) for o, ls in self.order_rows if o.state != OrderState.CANCELLED] or self.order_rows
        mix = [(InvoiceState.DRAFT, 5), (InvoiceState.ISSUED, 17), (InvoiceState.PARTIALLY_PAID, 10),
               (InvoiceState.OVERDUE, 15), (InvoiceState.PAID, 50), (InvoiceState.CANCELLED, 3)]
        rows, line_sets = [], []
        for i in range(n):
            order, lines = billable[i % len(billable)]
            rows.append(self.new_invoice(order, lines, weighted(self.rng, mix)))
            line_sets.append(lines)
        self.save_documents(Invoice, InvoiceLine, "invoice", rows, line_sets)
        self.invoice_rows = rows
        self.payments(rows)

    def new_invoice(self, order: Order, lines: list[dict], state: str, reference: str = "") -> Invoice:
        created = self.when(order.created_at, self.now)
        issue = None
        if state != InvoiceState.DRAFT:
            if state == InvoiceState.OVERDUE:
                issue = (self.now - timedelta(days=self.rng.randint(15, 200))).date()
            elif state in (InvoiceState.ISSUED, InvoiceState.PARTIALLY_PAID):
                # Mostly still within terms; some past due that tonight's sweep will flag.
                issue = (self.now - timedelta(days=self.rng.randint(0, 13 if self.rng.random() < 0.8 else 40))).date()
            else:
                issue = created.date()
            created = min(created, timezone.make_aware(datetime.combine(issue, datetime.min.time())))
        totals = self.totals(lines, order.currency)
        gross = totals["gross_total"]
        paid = Money(0, order.currency)
        if state == InvoiceState.PAID:
            paid = gross
        elif state == InvoiceState.PARTIALLY_PAID:
            paid = money.money(gross.amount * Decimal(self.rng.choice([30, 40, 50, 60])) / 100, order.currency)
        return Invoice(
            state=state, owner_id=order.owner_id, team_id=order.team_id, created_at=created, order=order,
            account_id=order.account_id, billing_address=order.billing_address,
            customer_reference=reference or order.customer_reference, currency=order.currency,
            issue_date=issue, due_date=issue + timedelta(days=14) if issue else None, amount_paid=paid,
            paid_at=timezone.make_aware(datetime.combine(issue + timedelta(days=self.rng.randint(1, 30)),
                                                         datetime.min.time()))
            if state == InvoiceState.PAID else None,
            language=self.rng.choice(["en", "en", "de"]), **totals,
        )

    def payments(self, invoices: list[Invoice]) -> None:
        issued = sorted((inv for inv in invoices if inv.issue_date), key=lambda inv: (inv.issue_date, inv.pk))
        for inv in issued:
            inv.number = self.numbers.next(Invoice.NUMBER_SERIES, inv.issue_date)
        Invoice.objects.bulk_update(issued, ["number"], batch_size=BATCH)
        rows = []
        for inv in invoices:
            if inv.amount_paid.amount <= 0:
                continue
            parts = [inv.amount_paid.amount]
            if inv.state == InvoiceState.PAID and self.rng.random() < 0.2:  # paid in two instalments
                first = money.quantize(inv.amount_paid.amount / 2, inv.currency)
                parts = [first, inv.amount_paid.amount - first]
            for k, amount in enumerate(parts):
                rows.append(Payment(
                    invoice_id=inv.pk, amount=Money(amount, inv.currency),
                    received_on=inv.issue_date + timedelta(days=k * 7 + 3), method=self.rng.choice(
                        ["bank_transfer", "bank_transfer", "card", "direct_debit"]),
                    reference=f"TX{inv.pk:08d}{k}", recorded_by_id=self.accountant.pk,
                    recorded_at=timezone.make_aware(datetime.combine(inv.issue_date + timedelta(days=k * 7 + 3),
                                                                     datetime.min.time())),
                ))
        self.bulk(Payment, rows)

    # ---------------------------------------------------------------- records the page benchmarks open
    def fixtures(self) -> None:
        """A few records with the worst realistic shape, owned by the benchmark seller."""
        seller = User.objects.get(username=BENCH_SELLER)
        ct = ContentType.objects.get_for_model(Opportunity)
        longs = [self.new_opportunity(seller, OpportunityState.OPEN, name=f"{LONG_HISTORY_NAME} {i + 1}")
                 for i in range(LONG_HISTORY_COUNT)]
        for opp in longs:
            opp.created_at = self.now - timedelta(days=730)
        self.save_opportunities(longs, changes_per_deal=(120, 120), activities_per_deal=(150, 150))
        # Two years of being lost, reopened and lost again: transitions in the state log.
        logs = []
        for opp in longs:
            at = opp.created_at
            for k in range(20):
                at += timedelta(days=30)
                lose = k % 2 == 0
                logs.append(StateLog(
                    timestamp=at, by=seller, source_state="open" if lose else "lost",
                    state="lost" if lose else "open", transition="lose" if lose else "reopen",
                    content_type=ct, object_id=opp.pk, description="Budget frozen" if lose else None,
                ))
        StateLog.objects.bulk_create(logs, batch_size=BATCH)
        quote, lines = self.new_quote(longs[0], QuoteState.DRAFT, self.now - timedelta(days=2), 100,
                                      title=EDITOR_QUOTE_TITLE)
        self.save_documents(Quote, QuoteLine, "quote", [quote], [lines])
        accepted, accepted_lines = self.new_quote(longs[1], QuoteState.ACCEPTED, self.now - timedelta(days=20), 20)
        self.save_documents(Quote, QuoteLine, "quote", [accepted], [accepted_lines])
        account = self.account_by_id[accepted.account_id]
        order = Order(
            state=OrderState.FULFILLED, owner=seller, team_id=accepted.team_id, created_at=accepted.created_at,
            quote=accepted, opportunity_id=accepted.opportunity_id, account_id=accepted.account_id,
            order_date=accepted.created_at.date(), currency=accepted.currency,
            billing_address="\n".join([account.name, *account.address_lines]),
            net_total=accepted.net_total, tax_total=accepted.tax_total, gross_total=accepted.gross_total,
        )
        self.save_documents(Order, OrderLine, "order", [order], [delivered_in_full(accepted_lines)])
        invoice = self.new_invoice(order, accepted_lines, InvoiceState.ISSUED, reference=PDF_INVOICE_REFERENCE)
        self.save_documents(Invoice, InvoiceLine, "invoice", [invoice], [accepted_lines])
        invoice.number = self.numbers.next(Invoice.NUMBER_SERIES, invoice.issue_date)
        Invoice.objects.filter(pk=invoice.pk).update(number=invoice.number)

    def run(self) -> dict[str, Any]:
        started = time.perf_counter()
        fast_load()
        steps = [("people", self.people), ("catalog", self.catalog), ("parties", self.parties),
                 ("leads", self.leads), ("opportunities", self.opportunities), ("quotes", self.quotes),
                 ("orders", self.orders), ("invoices", self.invoices), ("fixtures", self.fixtures)]
        for name, step in steps:
            t0 = time.perf_counter()
            with transaction.atomic():
                step()
            log(f"  {name:<14} {time.perf_counter() - t0:7.1f} s", self.verbose)
        self.numbers.save()
        analyze()
        elapsed = time.perf_counter() - started
        log(f"  total          {elapsed:7.1f} s", self.verbose)
        return {"scale": self.scale, "counts": self.counts, "seconds": round(elapsed, 1)}


def copy_insert(model: type, objs: list) -> list:
    """bulk_create through PostgreSQL's COPY: ids are drawn from the table's sequence up front, values are read
    from the instances as they are (no per-value preparation), several times faster than INSERT … VALUES."""
    if not objs:
        return objs
    table = model._meta.db_table
    fields = [f for f in model._meta.concrete_fields if not f.generated]  # the database computes those
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, len(objs)]
        )
        ids = [row[0] for row in cursor.fetchall()]
    for obj, pk in zip(objs, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.connection.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for obj in objs:
            copy.write_row([_raw(f, obj, now) for f in fields])
    return objs


def _raw(field, obj, now):
    if getattr(field, "auto_now", False):
        return now
    value = getattr(obj, field.attname)
    if field.get_internal_type() == "JSONField":
        return json.dumps(value, cls=field.encoder)
    if isinstance(value, Money):
        return value.amount
    if isinstance(value, enum.Enum):
        return value.value
    if hasattr(value, "name") and field.get_internal_type() == "FileField":
        return value.name or ""
    return value


def fast_load() -> None:
    """Skip foreign-key triggers for this bulk load (PostgreSQL superuser only). Otherwise every row of the load
    queues a deferred check that COMMIT then runs one by one: minutes at S=1. The generator writes ids it has
    just read or inserted, so the checks cannot fail."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if cursor.fetchone()[0]:
            cursor.execute("SET session_replication_role = replica")


def analyze() -> None:
    """Fresh planner statistics, and the visibility map a table has in steady state (autovacuum keeps it): right
    after a bulk load PostgreSQL would otherwise guess row counts, and no index-only scan could skip the heap."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # VACUUM cannot run in a transaction (the smoke test's); statistics are what matter there.
            cursor.execute("ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)")


def generate(*, scale: float = 1.0, seed: int = 42, today: date | None = None, verbose: bool = False) -> dict:
    """Fill the current database with the benchmark dataset at `scale`. Returns counts and duration."""
    return Generator(scale=scale, seed=seed, today=today or timezone.localdate(), verbose=verbose).run()


# ---------------------------------------------------------------- --invoices-only: the sweep table
def generate_invoices_only(count: int, *, seed: int = 7, today: date | None = None, overdue_share: float = 1.0,
                           verbose: bool = False) -> dict:
    """`count` issued invoices with one line each, `overdue_share` of them past their due date.

    Needs orders to point at (run the normal generator first, any scale). On PostgreSQL rows go in with COPY:
    a million invoices in well under a minute; elsewhere bulk_create.
    """
    rng = random.Random(seed)
    today = today or timezone.localdate()
    orders = list(Order.objects.values("pk", "owner_id", "team_id", "account_id", "currency")[:5000])
    if not orders:
        raise SystemExit("--invoices-only needs orders: run the generator first (e.g. --scale 0.01).")
    rate = TaxRate.objects.filter(active=True).first()
    started = time.perf_counter()
    numbers = Numbers()
    now = timezone.now()
    year = today.year
    first_value = numbers.last[("INV", year)] + 1
    numbers.last[("INV", year)] += count
    fast_load()
    if connection.vendor == "postgresql":
        _copy_invoices(count, orders, rate, rng, today, now, year, first_value, overdue_share, verbose)
    else:
        _bulk_invoices(count, orders, rate, rng, today, now, year, first_value, overdue_share)
    numbers.save()
    analyze()
    elapsed = time.perf_counter() - started
    log(f"  {count} invoices in {elapsed:.1f} s", verbose)
    return {"invoices": count, "seconds": round(elapsed, 1)}


def _invoice_values(i, orders, rng, today, overdue_share):
    order = orders[i % len(orders)]
    past_due = rng.random() < overdue_share
    issue = today - timedelta(days=rng.randint(15, 90) if past_due else rng.randint(0, 13))
    amount = Decimal(rng.randint(100, 100000))
    tax = money.quantize(amount * Decimal("0.19"), "EUR")
    return order, issue, amount, tax


def _bulk_invoices(count, orders, rate, rng, today, now, year, first_value, overdue_share) -> None:
    for start in range(0, count, 20_000):
        rows, lines = [], []
        for i in range(start, min(start + 20_000, count)):
            order, issue, amount, tax = _invoice_values(i, orders, rng, today, overdue_share)
            rows.append(Invoice(
                state=InvoiceState.ISSUED, number=format_number("INV", year, first_value + i),
                owner_id=order["owner_id"], team_id=order["team_id"], created_at=now, order_id=order["pk"],
                account_id=order["account_id"],
                currency="EUR", issue_date=issue, due_date=issue + timedelta(days=14),
                net_total=Money(amount, "EUR"), tax_total=Money(tax, "EUR"), gross_total=Money(amount + tax, "EUR"),
            ))
        Invoice.objects.bulk_create(rows, batch_size=BATCH)
        for inv in rows:
            lines.append(InvoiceLine(invoice_id=inv.pk, position=1, description="Service", quantity=Decimal(1),
                                     unit_price=inv.net_total, tax_rate_id=rate.pk if rate else None,
                                     tax_percent=Decimal("19.00"), net=inv.net_total))
        InvoiceLine.objects.bulk_create(lines, batch_size=BATCH)


def _copy_invoices(count, orders, rate, rng, today, now, year, first_value, overdue_share, verbose) -> None:
    """COPY from one template instance per table: columns that other features add to the models later are
    filled with the model's own defaults, only the varying columns are set per row."""
    template = Invoice(state=InvoiceState.ISSUED, currency="EUR", created_at=now, language="en")
    line_template = InvoiceLine(position=1, description="Service", quantity=Decimal(1), unit="pc",
                                unit_price=Money(100, "EUR"), tax_rate_id=rate.pk if rate else None,
                                tax_percent=Decimal("19.00"), tax_category="S", net=Money(100, "EUR"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [Invoice._meta.db_table])
        base_id = cursor.fetchone()[0]
        cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [Invoice._meta.db_table,
                                                                               base_id + count])

    def invoices():
        for i in range(count):
            order, issue, amount, tax = _invoice_values(i, orders, rng, today, overdue_share)
            yield {"id": base_id + i, "number": format_number("INV", year, first_value + i),
                   "owner_id": order["owner_id"], "team_id": order["team_id"], "order_id": order["pk"],
                   "account_id": order["account_id"], "issue_date": issue, "due_date": issue + timedelta(days=14),
                   "net_total": amount, "tax_total": tax, "gross_total": amount + tax}

    copy_rows(Invoice, template, invoices(), now)
    log("  invoices copied", verbose)
    copy_rows(InvoiceLine, line_template, ({"invoice_id": base_id + i} for i in range(count)), now, with_id=False)


def copy_rows(model: type, template: Any, rows, now: datetime, *, with_id: bool = True) -> None:
    """COPY rows that differ from `template` only in the given attnames (ids included when with_id)."""
    fields = [f for f in model._meta.concrete_fields if (with_id or not f.primary_key) and not f.generated]
    base = [_raw(f, template, now) for f in fields]
    position = {f.attname: i for i, f in enumerate(fields)}
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.connection.cursor() as cur, cur.copy(
        f"COPY {model._meta.db_table} ({columns}) FROM STDIN"
    ) as copy:
        for values in rows:
            row = list(base)
            for attname, value in values.items():
                row[position[attname]] = value
            copy.write_row(row)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="scale factor S (1 = 100k leads)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--today", type=date.fromisoformat, default=None, help="reference date (default today)")
    parser.add_argument("--invoices-only", type=int, metavar="N", help="only add N issued invoices (sweep table)")
    parser.add_argument("--overdue-share", type=float, default=1.0, help="with --invoices-only: share past due")
    parser.add_argument("--migrate", action="store_true", help="run migrations first")
    args = parser.parse_args(argv)
    if args.migrate:
        from django.core.management import call_command  # noqa: PLC0415

        call_command("migrate", verbosity=0, interactive=False)
    print(f"Database: {connection.settings_dict['NAME']} ({connection.vendor})", flush=True)
    if args.invoices_only:
        generate_invoices_only(args.invoices_only, seed=args.seed, today=args.today,
                               overdue_share=args.overdue_share, verbose=True)
    else:
        print(f"Generating scale {args.scale}: {counts_for(args.scale)}", flush=True)
        generate(scale=args.scale, seed=args.seed, today=args.today, verbose=True)


if __name__ == "__main__":
    main()
