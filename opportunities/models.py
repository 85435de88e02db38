from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition
from djmoney.models.fields import MoneyField

from crm.models import MONEY_DIGITS
from crm.workflow import SalesRecord

DEFAULT_STAGES = [
    # name, probability (%)
    (_("New"), 10),
    (_("Qualification"), 25),
    (_("Proposition"), 50),
    (_("Negotiation"), 75),
]


class Stage(models.Model):
    """One column of a team's pipeline. Stages without a team form the default pipeline."""

    team = models.ForeignKey(
        "crm.Team", verbose_name=_("team"), on_delete=models.CASCADE, null=True, blank=True, related_name="stages"
    )
    name = models.CharField(_("name"), max_length=100)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    probability = models.PositiveSmallIntegerField(
        _("probability (%)"), default=10, validators=[MaxValueValidator(100)]
    )
    guidance = models.TextField(
        _("guidance"), blank=True,
        help_text=_("Shown on a deal while it sits in this stage: what to find out, what to send."),
    )
    # Exit criteria: checked by services.opportunity_move_stage before a deal moves forward past this stage.
    required_fields = models.JSONField(
        _("required before leaving"), default=list, blank=True,
        help_text=_("What a deal must have before it moves on to a later stage."),
    )
    requires_quote_sent = models.BooleanField(
        _("a quote must have been sent"), default=False,
        help_text=_("A deal leaves this stage only once one of its quotes has been sent or accepted."),
    )

    class Meta:
        ordering = ["team_id", "order", "pk"]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        constraints = [models.UniqueConstraint(fields=["team", "order"], name="stage_unique_order_per_team")]

    def __str__(self) -> str:
        # The default pipeline's names are stored in English (migration 0002) and are msgids in DEFAULT_STAGES,
        # so they show translated; a team's own stage names have no catalogue entry and pass through unchanged.
        # gettext("") would return the catalogue header, hence the guard.
        return gettext(self.name) if self.name else ""


class OpportunityState(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class RequiredField(models.TextChoices):
    """Facts a stage can require before a deal leaves it (see services.stage_exit_problems)."""

    AMOUNT = "amount", _("An amount above zero")
    CLOSE_DATE = "expected_close_date", _("An expected close date")
    CONTACT = "contact", _("A contact")
    BUDGET_CONFIRMED = "budget_confirmed", _("Budget confirmed")
    DECISION_MAKER = "decision_maker", _("A decision maker identified")
    REQUIREMENTS = "requirements", _("Requirements / pain points noted")
    COMPETITORS = "competitors", _("Competitors noted")


class StageChecklistItem(models.Model):
    """One item of a stage's checklist; the seller ticks it on the deal before it moves past the stage."""

    stage = models.ForeignKey(Stage, verbose_name=_("stage"), on_delete=models.CASCADE, related_name="checklist")
    label = models.CharField(_("item"), max_length=200)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["stage_id", "order", "pk"]
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")

    def __str__(self) -> str:
        return self.label


def stage_document_path(instance: StageDocument, filename: str) -> str:
    return f"stage_documents/{instance.stage_id}/{filename}"


class StageDocument(models.Model):
    """A document the seller sends or uses while a deal is in this stage (a brochure, a questionnaire…)."""

    stage = models.ForeignKey(Stage, verbose_name=_("stage"), on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(_("title"), max_length=200)
    file = models.FileField(_("file"), upload_to=stage_document_path)
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)

    class Meta:
        ordering = ["stage_id", "title", "pk"]
        verbose_name = _("stage document")
        verbose_name_plural = _("stage documents")

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("opportunities:stage_document", args=[self.pk])


class LostReason(models.Model):
    """Why deals are lost. Global reasons (no team) apply to every pipeline; a team may add its own."""

    team = models.ForeignKey(
        "crm.Team", verbose_name=_("team"), on_delete=models.CASCADE, null=True, blank=True,
        related_name="lost_reasons", help_text=_("Empty: offered in every pipeline."),
    )
    name = models.CharField(_("name"), max_length=100)
    code = models.SlugField(_("code"), max_length=30, blank=True, help_text=_("A stable key for imports and reports."))
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["order", "name", "pk"]
        verbose_name = _("lost reason")
        verbose_name_plural = _("lost reasons")

    def __str__(self) -> str:
        # Seeded global names are msgids (see LOST_REASON_NAMES), so they show translated.
        return gettext(self.name) if self.name else ""


# The seeded global reasons (migration 0004), marked here so that makemessages picks them up.
LOST_REASON_NAMES = [
    _("Price too high"), _("Lost to a competitor"), _("No decision / postponed"), _("No budget"),
    _("Requirements not met"), _("Other"),
]


class PipelineSettings(models.Model):
    """Per-team pipeline options; a team without a row gets the defaults."""

    team = models.OneToOneField(
        "crm.Team", verbose_name=_("team"), on_delete=models.CASCADE, related_name="pipeline_settings"
    )
    lost_reason_required = models.BooleanField(_("a lost reason is mandatory"), default=True)

    class Meta:
        verbose_name = _("pipeline settings")
        verbose_name_plural = _("pipeline settings")

    def __str__(self) -> str:
        return str(self.team)


class Competitor(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    website = models.URLField(_("website"), blank=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("competitor")
        verbose_name_plural = _("competitors")

    def __str__(self) -> str:
        return self.name


class Opportunity(SalesRecord):
    NUMBER_SERIES = "O"

    state = FSMField(
        _("status"), default=OpportunityState.OPEN, choices=OpportunityState.choices, protected=True, db_index=True
    )
    name = models.CharField(_("name"), max_length=200)
    account = models.ForeignKey(
        "crm.Account", verbose_name=_("account"), on_delete=models.PROTECT, related_name="opportunities"
    )
    contact = models.ForeignKey(
        "crm.Contact", verbose_name=_("contact"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="opportunities",
    )
    lead = models.OneToOneField(
        "leads.Lead", verbose_name=_("lead"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="opportunity",
    )
    # The lead's source (leads.models.LeadSource), copied when the lead is qualified into this deal; empty for a deal
    # made directly. A qualified lead can no longer be edited, so the copy cannot drift; the win rates by source
    # group on it instead of looking up each closed deal's lead.
    source = models.CharField(_("lead source"), max_length=20, blank=True, editable=False)
    amount = MoneyField(_("amount"), **MONEY_DIGITS, default_currency=settings.DEFAULT_CURRENCY, default=0)
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    probability = models.PositiveSmallIntegerField(
        _("probability (%)"), default=10, validators=[MaxValueValidator(100)]
    )
    stage = models.ForeignKey(Stage, verbose_name=_("stage"), on_delete=models.PROTECT, related_name="opportunities")
    stage_entered_at = models.DateTimeField(_("in stage since"), default=timezone.now)
    description = models.TextField(_("description"), blank=True)
    lost_reason = models.ForeignKey(
        LostReason, verbose_name=_("lost reason"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    lost_to = models.ForeignKey(
        Competitor, verbose_name=_("lost to"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    lost_note = models.TextField(_("lost note"), blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # "Demonstrate value": what stage exit criteria can require.
    requirements = models.TextField(_("requirements and pain points"), blank=True)
    budget_confirmed = models.BooleanField(_("budget confirmed"), default=False)
    budget = MoneyField(
        _("budget"), **MONEY_DIGITS, default_currency=settings.DEFAULT_CURRENCY, null=True, blank=True
    )
    swot_strengths = models.TextField(_("strengths"), blank=True)
    swot_weaknesses = models.TextField(_("weaknesses"), blank=True)
    swot_opportunities = models.TextField(_("opportunities"), blank=True)
    swot_threats = models.TextField(_("threats"), blank=True)

    HISTORY_EXCLUDE = frozenset({"stage_entered_at", "closed_at"})  # follow stage moves and transitions

    class Meta(SalesRecord.Meta):
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        permissions = [
            ("move_opportunity", _("Move opportunities through the pipeline stages")),
            ("win_opportunity", _("Mark opportunities won")),
            ("lose_opportunity", _("Mark opportunities lost")),
            ("reopen_opportunity", _("Reopen lost opportunities")),
        ]
        # A kanban column: the open deals of one stage, newest first (keyset on created_at, id), read off the
        # index in order so that the first 41 cards cost the same however long the column is.
        indexes = [
            models.Index(fields=["state", "stage", "-created_at", "-id"], name="opp_board_column_idx"),
            # The dashboard's "closing soon": open deals by expected close date.
            models.Index(fields=["state", "expected_close_date", "id"], name="opp_state_close_date_idx"),
            *SalesRecord.archive_indexes("opportunity"),
        ]

    def __str__(self) -> str:
        return f"{self.number} · {self.name}" if self.number else self.name

    def get_absolute_url(self) -> str:
        return reverse("opportunities:detail", args=[self.pk])

    def archive_refusal(self) -> str:
        if self.state == OpportunityState.WON:
            return str(_("A won opportunity stays on record: its quote was accepted and ordered."))
        return ""

    @property
    def weighted_amount(self):
        return self.amount * self.probability / 100

    @transition(field=state, source=OpportunityState.OPEN, target=OpportunityState.WON, custom={"label": _("Mark won")})
    def win(self, *, at) -> None:
        self.closed_at = at
        self.probability = 100
        self.lost_reason = None
        self.lost_to = None

    @transition(
        field=state, source=OpportunityState.OPEN, target=OpportunityState.LOST, custom={"label": _("Mark lost")}
    )
    def lose(self, *, at, reason: LostReason | None, note: str = "", lost_to: Competitor | None = None) -> None:
        self.closed_at = at
        self.probability = 0
        self.lost_reason = reason
        self.lost_note = note
        self.lost_to = lost_to

    @transition(field=state, source=OpportunityState.LOST, target=OpportunityState.OPEN, custom={"label": _("Reopen")})
    def reopen(self) -> None:
        self.closed_at = None
        self.probability = self.stage.probability
        self.lost_reason = None
        self.lost_to = None


class StageChange(models.Model):
    """Every move of an opportunity between stages: the basis of time in stage and funnel reports."""

    # Indexed by opp_stagechange_opp_at_id below (opportunity first), not by a second index of its own.
    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="stage_changes", db_index=False
    )
    from_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # Indexed by opp_stagechange_stage_at below (to_stage first), not by a second index of its own.
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+", db_index=False)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # When the deal moved on from `to_stage` (the next change's `at`); empty while it is still there. Stored when
    # the next change is made, so the report's time in stage needs no window over every deal's history.
    ended_at = models.DateTimeField(_("left the stage"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-at", "-pk"]
        # A deal's stage history reads in this order; the report's conversion (the furthest stage each deal of the
        # period reached) reads the stages off this index alone, hence to_stage included.
        indexes = [
            models.Index(fields=["opportunity", "at", "id"], include=["to_stage"], name="opp_stagechange_opp_at_id"),
            # The report's time in stage: the stays in a pipeline's stages that began in the period, read off
            # this index alone on PostgreSQL (the deal and the end of the stay are in it).
            models.Index(fields=["to_stage", "at"], include=["opportunity", "ended_at"],
                         name="opp_stagechange_stage_at"),
        ]
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")

    def __str__(self) -> str:
        return f"{self.from_stage} → {self.to_stage}"


class ContactRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", _("Decision maker")
    INFLUENCER = "influencer", _("Influencer")
    USER = "user", _("User")
    BLOCKER = "blocker", _("Blocker")


class OpportunityContact(models.Model):
    """A member of the buying committee."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="committee")
    contact = models.ForeignKey("crm.Contact", verbose_name=_("contact"), on_delete=models.CASCADE, related_name="+")
    role = models.CharField(_("role"), max_length=20, choices=ContactRole.choices)

    class Meta:
        ordering = ["role", "pk"]
        verbose_name = _("buying committee member")
        verbose_name_plural = _("buying committee")
        constraints = [models.UniqueConstraint(fields=["opportunity", "contact"], name="opportunity_contact_once")]

    def __str__(self) -> str:
        return f"{self.contact} ({self.get_role_display()})"


class OpportunityCompetitor(models.Model):
    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="competitors")
    competitor = models.ForeignKey(Competitor, verbose_name=_("competitor"), on_delete=models.PROTECT, related_name="+")
    strengths = models.TextField(_("their strengths"), blank=True)
    weaknesses = models.TextField(_("their weaknesses"), blank=True)

    class Meta:
        ordering = ["competitor__name", "pk"]
        verbose_name = _("competitor on a deal")
        verbose_name_plural = _("competitors on deals")
        constraints = [
            models.UniqueConstraint(fields=["opportunity", "competitor"], name="opportunity_competitor_once")
        ]

    def __str__(self) -> str:
        return str(self.competitor)


class ChecklistTick(models.Model):
    """A checklist item of a stage, ticked on one deal."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="checklist_ticks")
    item = models.ForeignKey(StageChecklistItem, on_delete=models.CASCADE, related_name="ticks")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("ticked checklist item")
        verbose_name_plural = _("ticked checklist items")
        constraints = [models.UniqueConstraint(fields=["opportunity", "item"], name="checklist_tick_once")]

    def __str__(self) -> str:
        return str(self.item)


class PipelineSnapshot(models.Model):
    """An opportunity as it stood in a given week (Monday): the basis of slippage and week-over-week reports."""

    week = models.DateField(_("week"), db_index=True)
    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="snapshots")
    amount = MoneyField(_("amount"), **MONEY_DIGITS, default_currency=settings.DEFAULT_CURRENCY)
    stage = models.ForeignKey(Stage, verbose_name=_("stage"), on_delete=models.PROTECT, related_name="+")
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    probability = models.PositiveSmallIntegerField(_("probability (%)"))
    state = models.CharField(_("status"), max_length=10, choices=OpportunityState.choices)
    taken_at = models.DateTimeField(_("taken"), default=timezone.now)

    class Meta:
        ordering = ["-week", "opportunity_id"]
        verbose_name = _("pipeline snapshot")
        verbose_name_plural = _("pipeline snapshots")
        constraints = [models.UniqueConstraint(fields=["week", "opportunity"], name="snapshot_once_per_week")]

    def __str__(self) -> str:
        return f"{self.week} · {self.opportunity_id}"


class SalesTarget(models.Model):
    """What a team, or one seller of it, is expected to win in a month; set by the team's manager in admin. The
    forecast compares deals won and the weighted pipeline with it."""

    team = models.ForeignKey("crm.Team", verbose_name=_("team"), on_delete=models.CASCADE,
                             related_name="sales_targets")
    seller = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("seller"), on_delete=models.CASCADE, null=True, blank=True,
        related_name="+", help_text=_("Empty: the target of the whole team."),
    )
    month = models.DateField(_("month"), help_text=_("Any day of the month; stored as its first day."))
    amount = MoneyField(_("amount"), **MONEY_DIGITS, default_currency=settings.DEFAULT_CURRENCY)

    class Meta:
        ordering = ["-month", "team", "seller"]
        verbose_name = _("sales target")
        verbose_name_plural = _("sales targets")
        constraints = [
            # One team target and one per seller a month; NULL is not equal to NULL, so the team's gets its own.
            models.UniqueConstraint(fields=["team", "month"], condition=models.Q(seller__isnull=True),
                                    name="sales_target_team_once"),
            models.UniqueConstraint(fields=["team", "seller", "month"], condition=models.Q(seller__isnull=False),
                                    name="sales_target_seller_once"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="sales_target_not_negative"),
        ]

    def __str__(self) -> str:
        who = self.seller or self.team
        return f"{who} · {self.month:%Y-%m} · {self.amount}"

    def save(self, *args, **kwargs) -> None:
        if self.month:
            self.month = self.month.replace(day=1)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if self.month:
            self.month = self.month.replace(day=1)
        if self.seller_id and self.team_id and not self.team.members.filter(pk=self.seller_id).exists() \
                and self.team.manager_id != self.seller_id:
            raise ValidationError({"seller": gettext("%(seller)s is not in %(team)s.")
                                   % {"seller": self.seller, "team": self.team}})

