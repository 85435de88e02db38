"""Read queries for pipeline pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.contrib.contenttypes.models import ContentType
from django.db.models import (
    BooleanField,
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from djmoney.money import Money

from crm.history import Event, Row, Source, event_rows
from crm.models import Account, Activity, Team, User
from crm.permissions import scope, sees_everything, team_ids
from crm.reversing import ROW, url_per_row
from crm.search import Hit
from opportunities.models import (
    ChecklistTick,
    LostReason,
    Opportunity,
    OpportunityCompetitor,
    OpportunityContact,
    OpportunityState,
    PipelineSettings,
    RequiredField,
    Stage,
    StageChecklistItem,
    StageDocument,
)

BOARD_PAGE_SIZE = 40
# Quote states that prove a quote reached the customer. Quotes are a later app of the flow: they are read through
# the reverse accessor opportunity.quotes, never imported.
QUOTE_SENT_STATES = ("sent", "accepted")


def pipeline_stages(team: Team | None) -> list[Stage]:
    """The team's own stages, or the default pipeline when the team has none configured."""
    # One query for both candidates: the team's own stages sort first, the default pipeline after them.
    both = Q(team__isnull=True) | Q(team=team) if team is not None else Q(team__isnull=True)
    stages = list(Stage.objects.filter(both).order_by(F("team_id").asc(nulls_last=True), "order", "pk"))
    own = [stage for stage in stages if stage.team_id is not None]
    return own or stages


def stage_documents_visible_to(user: User) -> QuerySet[StageDocument]:
    """Stage documents of the pipelines `user` works in: the default pipeline's for every signed-in user, a
    team's own for its manager and members (staff and admins: all). A team's material may name its customers,
    prices or tactics, so another team does not get it."""
    documents = StageDocument.objects.all()
    if sees_everything(user):
        return documents
    managed, member = team_ids(user)
    return documents.filter(Q(stage__team__isnull=True) | Q(stage__team_id__in=sorted(managed | member)))


def lost_reasons_for(team: Team | None) -> QuerySet[LostReason]:
    """The reasons offered when a deal of `team` is lost: the global ones plus the team's own."""
    reasons = LostReason.objects.filter(active=True)
    team_filter = Q(team__isnull=True) | Q(team=team) if team is not None else Q(team__isnull=True)
    return reasons.filter(team_filter).order_by("order", "name", "pk")


def lost_reason_required(team: Team | None) -> bool:
    if team is None:
        return True
    # The record page loads the settings with select_related("team__pipeline_settings"): use them when they are
    # there. Otherwise ask the database, never a cached "no settings" a team object may carry from earlier.
    relation = Team.pipeline_settings.related
    if relation.is_cached(team):
        settings = relation.get_cached_value(team)
    else:
        settings = PipelineSettings.objects.filter(team=team).first()
    return True if settings is None else settings.lost_reason_required


def opportunity_list(*, user: User, archived: bool = False) -> QuerySet[Opportunity]:
    return (
        Opportunity.objects.visible_to(user, archived=archived)
        .select_related("account", "owner", "stage", "team")
        .order_by("-created_at", "-pk")
    )


# Sort keys offered on the list page → ORDER BY; pk last keeps pagination stable.
OPPORTUNITY_SORTS = {
    "-created": ("-created_at", "-pk"),
    "created": ("created_at", "pk"),
    "name": ("name", "pk"),
    "-name": ("-name", "-pk"),
    "amount": ("amount", "pk"),
    "-amount": ("-amount", "-pk"),
    "close": ("expected_close_date", "pk"),
    "-close": ("-expected_close_date", "-pk"),
}


def opportunity_search(
    *, user: User, q: str = "", state: str = "", stage: Stage | None = None, mine: bool = False,
    sort: str = "-created", archived: bool = False,
) -> QuerySet[Opportunity]:
    opportunities = opportunity_list(user=user, archived=archived)
    for word in q.split():
        opportunities = opportunities.filter(
            Q(name__icontains=word) | Q(number__icontains=word) | Q(account__name__icontains=word)
        )
    if state:
        opportunities = opportunities.filter(state=state)
    if stage is not None:
        opportunities = opportunities.filter(stage=stage)
    if mine:
        opportunities = opportunities.filter(owner=user)
    return opportunities.order_by(*OPPORTUNITY_SORTS.get(sort, OPPORTUNITY_SORTS["-created"]))


def visible_accounts(user: User) -> QuerySet[Account]:
    return scope(Account.objects.filter(archived_at__isnull=True), user).order_by("name")


def stage_history_source(opportunity: Opportunity) -> Source:
    """The deal's stage changes as timeline events (merged with the rest of its history by the database)."""

    def event(row: Row) -> Event:
        title = (_("Stage: %(from)s → %(to)s") % {"from": row.a, "to": row.b}) if row.a is not None \
            else _("Stage: %(to)s") % {"to": row.b}
        return Event(at=row.at, by=row.by, icon="kanban", title=title)

    rows = event_rows(opportunity.stage_changes.all(), kind="stage", at="at", by="by",
                      a="from_stage__name", b="to_stage__name")
    return Source(kind="stage", rows=rows, event=event)


# --- stage exit criteria ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Criterion:
    label: str
    met: bool
    item: StageChecklistItem | None = None  # set for checklist items, which the seller ticks on the deal


def _fact_met(opportunity: Opportunity, key: str) -> bool:
    saved = opportunity.pk is not None  # an unsaved deal has no committee, competitors or quotes yet
    if key == RequiredField.AMOUNT:
        return opportunity.amount is not None and opportunity.amount.amount > 0
    if key == RequiredField.CLOSE_DATE:
        return opportunity.expected_close_date is not None
    if key == RequiredField.CONTACT:
        return opportunity.contact_id is not None
    if key == RequiredField.BUDGET_CONFIRMED:
        return opportunity.budget_confirmed
    if key == RequiredField.DECISION_MAKER:
        return saved and opportunity.committee.filter(role="decision_maker").exists()
    if key == RequiredField.REQUIREMENTS:
        return bool(opportunity.requirements.strip())
    if key == RequiredField.COMPETITORS:
        return saved and opportunity.competitors.exists()
    return True


def stage_criteria(*, opportunity: Opportunity, stage: Stage) -> list[Criterion]:
    """The exit criteria of `stage`, each with whether `opportunity` (saved or not) meets it."""
    criteria = [
        Criterion(str(RequiredField(key).label), _fact_met(opportunity, key))
        for key in stage.required_fields if key in RequiredField.values
    ]
    # The stage's items with whether this deal ticked each: one query (a saved deal only; a new one has none).
    ticks = ChecklistTick.objects.filter(item=OuterRef("pk"), opportunity_id=opportunity.pk)
    items = stage.checklist.annotate(
        ticked=Exists(ticks) if opportunity.pk is not None else Value(False, output_field=BooleanField())
    )
    criteria += [Criterion(item.label, item.ticked, item) for item in items]
    if stage.requires_quote_sent:
        sent = opportunity.pk is not None and opportunity.quotes.filter(state__in=QUOTE_SENT_STATES).exists()
        criteria.append(Criterion(_("A quote sent to the customer"), sent))
    return criteria


# --- kanban board ----------------------------------------------------------------------------------------------

@dataclass
class BoardFilters:
    team: Team | None = None
    owner: User | None = None
    close_from: date | None = None
    close_to: date | None = None
    stages: list[Stage] = field(default_factory=list)


def board_base(*, user: User, filters: BoardFilters, stage: Stage | None = None) -> QuerySet[Opportunity]:
    """The open deals the board shows: of all its columns, or of one (`stage`)."""
    # One column filters on its stage alone: adding "stage IN (all columns)" as well made PostgreSQL misjudge
    # how many rows match and sort every deal of the column instead of reading the newest 41 off the index.
    columns = {"stage": stage} if stage is not None else {"stage__in": filters.stages}
    deals = Opportunity.objects.visible_to(user).filter(state=OpportunityState.OPEN, **columns)
    if filters.team is not None:
        deals = deals.filter(team=filters.team)
    if filters.owner is not None:
        deals = deals.filter(owner=filters.owner)
    if filters.close_from is not None:
        deals = deals.filter(expected_close_date__gte=filters.close_from)
    if filters.close_to is not None:
        deals = deals.filter(expected_close_date__lte=filters.close_to)
    return deals


def with_next_activity(deals: QuerySet[Opportunity]) -> QuerySet[Opportunity]:
    """Annotate each deal with its earliest open, dated activity (two correlated subqueries, no extra query)."""
    content_type = ContentType.objects.get_for_model(Opportunity)  # cached by Django after the first call
    upcoming = Activity.objects.filter(
        content_type=content_type, object_id=OuterRef("pk"), done=False, due_at__isnull=False
    ).order_by("due_at", "pk")
    return deals.annotate(
        next_activity_at=Subquery(upcoming.values("due_at")[:1]),
        next_activity_subject=Subquery(upcoming.values("subject")[:1]),
    )


def encode_cursor(card: Card) -> str:
    return f"{card.created_at.isoformat()}_{card.pk}"


def decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    """A keyset cursor (created_at, pk) from a load-more link; None for anything malformed."""
    stamp, _sep, pk = cursor.rpartition("_")
    try:
        at = datetime.fromisoformat(stamp)
        return (at if timezone.is_aware(at) else timezone.make_aware(at)), int(pk)
    except ValueError:
        return None


@dataclass
class Card:
    """What a kanban card shows. Plain values, not model instances: the board shows 160 cards at once, and
    building a tracked, state-machine model (and its account and owner) per card was a third of its time."""

    pk: int
    number: str
    name: str
    account_name: str
    amount: Money
    expected_close_date: date | None
    created_at: datetime
    owner_name: str
    owner_initials: str
    detail_url: str
    move_url: str
    days_in_stage: int
    days_in_stage_text: str
    next_activity_at: datetime | None
    next_activity_subject: str | None
    next_activity_overdue: bool


CARD_VALUES = ("pk", "number", "name", "amount", "amount_currency", "expected_close_date", "stage_entered_at",
               "created_at", "owner__username", "owner__first_name", "owner__last_name", "account__name",
               "next_activity_at", "next_activity_subject")


def board_column_page(
    *, deals: QuerySet[Opportunity], after: tuple[datetime, int] | None = None,
    now: datetime, size: int = BOARD_PAGE_SIZE,
) -> tuple[list[Card], str | None]:
    """One page of a column (`deals`: board_base() of its stage), newest first, by keyset on (created_at, pk):
    the cost of page 200 is the cost of page 1, which OFFSET pagination cannot promise for a column of 10,000
    deals. Returns the cards and the cursor of the next page (None at the end)."""
    page = deals
    if after is not None:
        at, pk = after
        page = page.filter(Q(created_at__lt=at) | Q(created_at=at, pk__lt=pk))
    rows = list(with_next_activity(page).order_by("-created_at", "-pk").values(*CARD_VALUES)[: size + 1])
    more = len(rows) > size
    detail_url, move_url = url_per_row("opportunities:detail", ROW), url_per_row("opportunities:move", ROW)
    cards = []
    for row in rows[:size]:
        days = max((now - row["stage_entered_at"]).days, 0)
        first, last, username = row["owner__first_name"], row["owner__last_name"], row["owner__username"]
        cards.append(Card(
            pk=row["pk"], number=row["number"], name=row["name"], account_name=row["account__name"],
            amount=Money(row["amount"], row["amount_currency"]), expected_close_date=row["expected_close_date"],
            created_at=row["created_at"], owner_name=User.name_of(first, last, username),
            owner_initials=User.initials_of(first, last, username),
            detail_url=detail_url(row["pk"]), move_url=move_url(row["pk"]), days_in_stage=days,
            # Here rather than {% blocktranslate count %} in the card: the same translation, a fifth of the cost.
            days_in_stage_text=ngettext("%(days)d day in stage", "%(days)d days in stage", days) % {"days": days},
            next_activity_at=row["next_activity_at"], next_activity_subject=row["next_activity_subject"],
            next_activity_overdue=row["next_activity_at"] is not None and row["next_activity_at"] < now,
        ))
    return cards, (encode_cursor(cards[-1]) if more and cards else None)


def board_columns(*, user: User, filters: BoardFilters, now: datetime) -> list[dict]:
    """The first page of every column. No counts or sums here: those come from board_totals() in a second
    request, so that the first paint never waits for an aggregate over the whole pipeline."""
    columns = []
    for stage in filters.stages:
        cards, cursor = board_column_page(deals=board_base(user=user, filters=filters, stage=stage), now=now)
        columns.append({"stage": stage, "cards": cards, "cursor": cursor})
    return columns


def board_totals(*, user: User, filters: BoardFilters) -> list[dict]:
    """Per column: number of deals, total and weighted amount per currency, in one grouped query."""
    weighted = ExpressionWrapper(F("amount") * F("probability") / 100, output_field=DecimalField())
    rows = (
        board_base(user=user, filters=filters).order_by()
        .values("stage_id", "amount_currency")
        .annotate(n=Count("pk"), total=Sum("amount"), weighted=Sum(weighted))
    )
    by_stage: dict[int, dict] = {s.pk: {"stage": s, "count": 0, "totals": [], "weighted": []} for s in filters.stages}
    for row in rows:
        entry = by_stage[row["stage_id"]]
        entry["count"] += row["n"]
        entry["totals"].append(Money(row["total"] or 0, row["amount_currency"]))
        entry["weighted"].append(Money(row["weighted"] or 0, row["amount_currency"]))
    return list(by_stage.values())


# --- activities --------------------------------------------------------------------------------------------------

def opportunity_detail_queryset() -> QuerySet[Opportunity]:
    return Opportunity.objects.select_related(
        "account", "contact", "lead", "stage", "owner", "team__pipeline_settings", "lost_reason", "lost_to"
    ).prefetch_related(
        Prefetch("stage__documents"),
        Prefetch("committee", queryset=OpportunityContact.objects.select_related("contact").order_by("role", "pk")),
        Prefetch(
            "competitors",
            queryset=OpportunityCompetitor.objects.select_related("competitor").order_by("competitor__name", "pk"),
        ),
    )


def search_hits(user: User, text: str, limit: int) -> list[Hit]:
    """Deals for the menu's search box (crm.search), as the list finds them."""
    return [Hit(f"{opp.number} · {opp.name}", f"{opp.account} · {opp.get_state_display()}", opp.get_absolute_url())
            for opp in opportunity_search(user=user, q=text)[:limit]]
