from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Value
from django.db.models.functions import Concat
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override
from django_fsm import FSMField, transition

from crm.workflow import SalesRecord


class LeadState(models.TextChoices):
    NEW = "new", _("New")
    WORKING = "working", _("Working")
    QUALIFIED = "qualified", _("Qualified")
    DISQUALIFIED = "disqualified", _("Disqualified")


class LeadSource(models.TextChoices):
    WEBSITE = "website", _("Website")
    REFERRAL = "referral", _("Referral")
    TRADE_SHOW = "trade_show", _("Trade show")
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")
    PARTNER = "partner", _("Partner")
    IMPORT = "import", _("Import")
    OTHER = "other", _("Other")


class DisqualifyReason(models.TextChoices):
    """The reasons seeded into DisqualificationReason (configurable in admin); kept for code and old data."""

    NO_BUDGET = "no_budget", _("No budget")
    NOT_INTERESTED = "not_interested", _("Not interested")
    NO_RESPONSE = "no_response", _("Could not reach")
    WRONG_FIT = "wrong_fit", _("Not a fit for our offer")
    COMPETITOR = "competitor", _("Went with a competitor")
    DUPLICATE = "duplicate", _("Duplicate")


class DisqualificationReason(models.Model):
    """Why a lead is disqualified; managers add or retire reasons in admin."""

    code = models.SlugField(_("code"), max_length=20, unique=True)
    label = models.CharField(_("label"), max_length=100)
    active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["position", "label"]
        verbose_name = _("disqualification reason")
        verbose_name_plural = _("disqualification reasons")

    def __str__(self) -> str:
        # Seeded reasons keep their translation while their label is unchanged.
        if self.code in DisqualifyReason.values:
            default = DisqualifyReason(self.code).label
            with override("en"):
                unchanged = self.label == str(default)
            if unchanged:
                return str(default)
        return self.label

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(r.code, str(r)) for r in cls.objects.filter(active=True)]

    @classmethod
    def label_for(cls, code: str) -> str:
        reason = cls.objects.filter(code=code).first()
        if reason is not None:
            return str(reason)
        return str(DisqualifyReason(code).label) if code in DisqualifyReason.values else code


class Lead(SalesRecord):
    NUMBER_SERIES = "L"

    state = FSMField(_("status"), default=LeadState.NEW, choices=LeadState.choices, protected=True, db_index=True)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100)
    email = models.EmailField(_("e-mail"), blank=True, db_index=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    company = models.CharField(_("company"), max_length=200, blank=True)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    source = models.CharField(_("source"), max_length=20, choices=LeadSource.choices, default=LeadSource.OTHER)
    score = models.PositiveSmallIntegerField(_("score"), default=0)
    notes = models.TextField(_("notes"), blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True, help_text=_("ISO code, e.g. DE."))
    vat_id = models.CharField(_("VAT ID"), max_length=50, blank=True)
    registration_number = models.CharField(
        _("registration number"), max_length=50, blank=True, help_text=_("Commercial register entry, e.g. HRB 12345.")
    )
    utm_source = models.CharField(_("UTM source"), max_length=100, blank=True)
    utm_medium = models.CharField(_("UTM medium"), max_length=100, blank=True)
    utm_campaign = models.CharField(_("UTM campaign"), max_length=100, blank=True)
    # The code of a DisqualificationReason (a plain string, so retired reasons keep reading on old leads).
    disqualify_reason = models.CharField(_("disqualification reason"), max_length=20, blank=True, db_index=True)
    qualified_at = models.DateTimeField(_("qualified"), null=True, blank=True)
    # What the list's search box looks in, as one string kept by the database. One trigram index on it
    # (leads/migrations/0009) serves a search of all five columns: with an index per column PostgreSQL estimated
    # the OR of five LIKEs badly and read the whole table to count the matches. The spaces keep a search word
    # (which has none) from matching across two columns; search_text_for_email() relies on them.
    search_text = models.GeneratedField(
        expression=Concat(
            "first_name", Value(" "), "last_name", Value(" "), "email", Value(" "), "company", Value(" "), "number",
            output_field=models.TextField(),
        ),
        output_field=models.TextField(),
        db_persist=True,
    )

    HISTORY_EXCLUDE = frozenset({"score"})  # recomputed from the scoring rules

    class Meta(SalesRecord.Meta):
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        permissions = [
            ("start_work_lead", _("Start work on leads")),
            ("qualify_lead", _("Qualify leads")),
            ("disqualify_lead", _("Disqualify leads")),
            ("recycle_lead", _("Recycle disqualified leads")),
            ("assign_lead", _("Hand leads to another seller")),
        ]
        indexes = [models.Index(fields=["state", "-created_at"]), *SalesRecord.archive_indexes("lead")]

    def __str__(self) -> str:
        return f"{self.number} · {self.full_name}" if self.number else self.full_name

    @property
    def disqualify_reason_label(self) -> str:
        return DisqualificationReason.label_for(self.disqualify_reason) if self.disqualify_reason else ""

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_absolute_url(self) -> str:
        return reverse("leads:detail", args=[self.pk])

    @staticmethod
    def search_text_for_email(*, email: str = "", domain: str = "") -> str:
        """What `search_text` holds for an address (`email`) or for any address at `domain`: in the column an
        address stands between spaces, so this value matches it and not an address that merely contains it."""
        return f" {email} " if email else f"@{domain} "

    @transition(field=state, source=LeadState.NEW, target=LeadState.WORKING, custom={"label": _("Start working")})
    def start_work(self) -> None:
        pass

    @transition(
        field=state, source=[LeadState.NEW, LeadState.WORKING], target=LeadState.QUALIFIED,
        custom={"label": _("Qualify")},
    )
    def qualify(self, *, at) -> None:
        self.qualified_at = at
        self.disqualify_reason = ""

    @transition(
        field=state, source=[LeadState.NEW, LeadState.WORKING], target=LeadState.DISQUALIFIED,
        custom={"label": _("Disqualify")},
    )
    def disqualify(self, *, reason: str) -> None:
        self.disqualify_reason = reason

    @transition(field=state, source=LeadState.DISQUALIFIED, target=LeadState.WORKING, custom={"label": _("Recycle")})
    def recycle(self) -> None:
        self.disqualify_reason = ""


def _token() -> str:
    return secrets.token_urlsafe(24)


class ImportState(models.TextChoices):
    PENDING = "pending", _("Waiting for the column mapping")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Importing")
    DONE = "done", _("Finished")
    FAILED = "failed", _("Failed")


class ImportJob(models.Model):
    """One uploaded lead file and the progress of its import (a Celery task updates the counters)."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner of the new leads"), on_delete=models.PROTECT,
        related_name="+", null=True, blank=True,
        help_text=_("Empty: the assignment rules decide, else the uploader."),
    )
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    file_name = models.CharField(_("file name"), max_length=255)
    headers = models.JSONField(_("columns"), default=list, blank=True)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    skip_bad_rows = models.BooleanField(_("skip bad rows"), default=False)
    state = models.CharField(_("status"), max_length=10, choices=ImportState.choices, default=ImportState.PENDING)
    total = models.PositiveIntegerField(_("rows"), default=0)
    processed = models.PositiveIntegerField(_("processed"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    errors = models.JSONField(_("problems"), default=list, blank=True)
    notices = models.JSONField(_("notices"), default=list, blank=True)
    message = models.TextField(_("message"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("lead import")
        verbose_name_plural = _("lead imports")

    def __str__(self) -> str:
        return self.file_name

    def get_absolute_url(self) -> str:
        return reverse("leads:import_progress", args=[self.pk])

    @property
    def percent(self) -> int:
        return int(100 * self.processed / self.total) if self.total else (100 if self.finished_at else 0)

    @property
    def is_finished(self) -> bool:
        return self.state in (ImportState.DONE, ImportState.FAILED)


class WebForm(models.Model):
    """A 'Contact us' form on a website posting to the public web-to-lead endpoint with its own token."""

    FIELD_CHOICES = [
        ("first_name", _("first name")), ("last_name", _("last name")), ("email", _("e-mail")),
        ("phone", _("phone")), ("company", _("company")), ("title", _("job title")),
        ("country", _("country")), ("notes", _("message")),
    ]

    name = models.CharField(_("name"), max_length=100)
    token = models.CharField(_("token"), max_length=64, unique=True, default=_token, editable=False)
    default_source = models.CharField(
        _("source"), max_length=20, choices=LeadSource.choices, default=LeadSource.WEBSITE
    )
    default_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="+", help_text=_("Empty: the assignment rules decide."),
    )
    team = models.ForeignKey(
        "crm.Team", verbose_name=_("team"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    allowed_fields = models.JSONField(
        _("fields"), default=list, blank=True,
        help_text=_("Fields the website may send; the last name is always accepted."),
    )
    required_fields = models.JSONField(_("required fields"), default=list, blank=True)
    thank_you_url = models.URLField(
        _("thank-you page"), blank=True, help_text=_("Browsers posting the HTML form are sent here afterwards.")
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("web form")
        verbose_name_plural = _("web forms")

    def __str__(self) -> str:
        return self.name

    @property
    def fields(self) -> list[str]:
        known = [name for name, _label in self.FIELD_CHOICES]
        chosen = [f for f in self.allowed_fields if f in known] or known
        return ["last_name", *[f for f in chosen if f != "last_name"]]


class ScoringField(models.TextChoices):
    SOURCE = "source", _("Source")
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")
    COMPANY = "company", _("Company")
    TITLE = "title", _("Job title")
    COUNTRY = "country", _("Country")
    UTM_SOURCE = "utm_source", _("UTM source")
    UTM_CAMPAIGN = "utm_campaign", _("UTM campaign")
    ACTIVITIES = "activities", _("Number of activities")


class ScoringCondition(models.TextChoices):
    PRESENT = "present", _("is filled in")
    EQUALS = "equals", _("equals")
    CONTAINS = "contains", _("contains one of (separate with |)")
    AT_LEAST = "at_least", _("is at least")


class ScoringRule(models.Model):
    """One line of the explainable lead score: 'title contains head|director|CEO → +15'."""

    name = models.CharField(_("name"), max_length=100)
    field = models.CharField(_("field"), max_length=20, choices=ScoringField.choices)
    condition = models.CharField(_("condition"), max_length=10, choices=ScoringCondition.choices)
    value = models.CharField(_("value"), max_length=200, blank=True)
    points = models.SmallIntegerField(_("points"))
    active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("scoring rule")
        verbose_name_plural = _("scoring rules")

    def __str__(self) -> str:
        return f"{self.name} ({self.points:+d})"


class AssignmentMethod(models.TextChoices):
    ROUND_ROBIN = "round_robin", _("Round robin (every lead)")
    SOURCE = "source", _("By source")
    TERRITORY = "territory", _("By territory (country)")


class AssignmentRule(models.Model):
    """Who gets a new lead that arrives without an owner: the first matching rule hands it to the next
    member of its team in turn."""

    name = models.CharField(_("name"), max_length=100)
    team = models.ForeignKey("crm.Team", verbose_name=_("team"), on_delete=models.CASCADE, related_name="+")
    method = models.CharField(
        _("method"), max_length=20, choices=AssignmentMethod.choices, default=AssignmentMethod.ROUND_ROBIN
    )
    source = models.CharField(_("source"), max_length=20, choices=LeadSource.choices, blank=True)
    countries = models.CharField(
        _("countries"), max_length=200, blank=True, help_text=_("ISO codes separated by commas, e.g. DE,AT,CH.")
    )
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("assignment rule")
        verbose_name_plural = _("assignment rules")

    def __str__(self) -> str:
        return self.name

    @property
    def country_list(self) -> list[str]:
        return [c.strip().upper() for c in self.countries.split(",") if c.strip()]


class ProcessedEmail(models.Model):
    """Message-IDs already ingested, so reading the same mailbox twice creates nothing twice."""

    message_id = models.CharField(max_length=255, unique=True)
    lead = models.ForeignKey(Lead, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    activity_id = models.PositiveBigIntegerField(null=True, blank=True)
    processed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("ingested e-mail")
        verbose_name_plural = _("ingested e-mails")

    def __str__(self) -> str:
        return self.message_id
