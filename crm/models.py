"""Shared core records: users and teams, parties (accounts, contacts), the catalog, numbering sequences
and activities. Sales records (leads … invoices) live in their own apps and build on crm.workflow."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from djmoney.models.fields import MoneyField

from crm import normalize
from crm.tracking import TrackChanges, field_label

MONEY_DIGITS = {"max_digits": 18, "decimal_places": 4}


class User(AbstractUser):
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, blank=True,
        help_text=_("Language of the seller interface; empty follows the browser."),
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.name_of(self.first_name, self.last_name, self.username)

    @property
    def initials(self) -> str:
        return self.initials_of(self.first_name, self.last_name, self.username)

    @staticmethod
    def name_of(first_name: str | None, last_name: str | None, username: str | None) -> str:
        """How a user reads (full name, else username), from columns read without the user object."""
        return " ".join(part for part in (first_name, last_name) if part) or username or ""

    @staticmethod
    def initials_of(first_name: str, last_name: str, username: str) -> str:
        return (first_name[:1] + last_name[:1]).upper() or username[:2].upper()


class Role(models.TextChoices):
    """Roles are auth groups with these names (created by migration)."""

    SELLER = "seller", _("Seller")
    SALES_MANAGER = "sales_manager", _("Sales manager")
    ACCOUNTANT = "accountant", _("Accountant")
    ADMIN = "admin", _("Administrator")


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("manager"), on_delete=models.PROTECT,
        related_name="managed_teams", null=True, blank=True,
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("members"), related_name="teams", blank=True
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("sales team")
        verbose_name_plural = _("sales teams")

    def __str__(self) -> str:
        return self.name


class Archivable(models.Model):
    """Soft archive: sellers "delete" by archiving; the row stays (history, links, numbers) and can be restored."""

    # Indexed by archive_indexes(), partially: see there.
    archived_at = models.DateTimeField(_("archived"), null=True, blank=True)
    archived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("archived by"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", db_index=False,
    )

    class Meta:
        abstract = True

    @staticmethod
    def archive_indexes(prefix: str) -> list[models.Index]:
        """For the concrete model's Meta.indexes. Archived rows are a handful in every table and lists ask for
        the others (archived_at IS NULL, which no index narrows), so the indexes hold only the archived rows:
        they serve the "Archived" filter and the archived_by foreign key at a fraction of a full index's size
        and of its cost on every insert."""
        return [
            models.Index(fields=[field], name=f"{prefix}_{field}_idx",
                         condition=models.Q(**{f"{field}__isnull": False}))
            for field in ("archived_at", "archived_by")
        ]

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    def archive_refusal(self) -> str:
        """Why this record may not be archived now ('' when it may). Record types add their rules."""
        return ""


class Account(TrackChanges, Archivable, models.Model):
    """A customer company."""

    name = models.CharField(_("name"), max_length=200)
    domain = models.CharField(_("web domain"), max_length=200, blank=True, db_index=True)
    vat_id = models.CharField(_("VAT ID"), max_length=50, blank=True)
    registration_number = models.CharField(
        _("registration number"), max_length=50, blank=True, help_text=_("Commercial register entry, e.g. HRB 12345.")
    )
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    street = models.CharField(_("street"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True, default="DE")
    segment = models.CharField(
        _("customer segment"), max_length=50, blank=True, db_index=True,
        help_text=_("Quotes for this customer take their prices from the price list of this segment."),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="+"
    )
    team = models.ForeignKey(
        Team, verbose_name=_("team"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # Lookup keys for matching a lead to this account (crm.normalize), kept by save().
    name_key = models.CharField(max_length=200, blank=True, editable=False, db_index=True)
    email_key = models.CharField(max_length=254, blank=True, editable=False, db_index=True)
    phone_key = models.CharField(max_length=30, blank=True, editable=False, db_index=True)
    vat_key = models.CharField(max_length=50, blank=True, editable=False, db_index=True)
    registration_key = models.CharField(max_length=50, blank=True, editable=False, db_index=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("account")
        indexes = Archivable.archive_indexes("account")
        verbose_name_plural = _("accounts")

    def __str__(self) -> str:
        return self.name

    KEY_FIELDS = ("name_key", "email_key", "phone_key", "vat_key", "registration_key")

    def save(self, *args, **kwargs) -> None:
        # The keys are derived data, not business logic: refreshing them on every save (admin, API, import,
        # services alike) is what keeps matching from ever comparing against a stale key.
        self.refresh_keys()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], *self.KEY_FIELDS, "domain"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("customers:detail", args=[self.pk])

    def refresh_keys(self) -> None:
        self.domain = normalize.domain_key(self.domain)
        self.name_key = normalize.name_key(self.name)[:200]
        self.email_key = normalize.email_key(self.email)
        self.phone_key = normalize.phone_key(self.phone, self.country)
        self.vat_key = normalize.tax_id_key(self.vat_id)
        self.registration_key = normalize.tax_id_key(self.registration_number)

    @property
    def address_lines(self) -> list[str]:
        city = " ".join(p for p in [self.postal_code, self.city] if p)
        return [line for line in [self.street, city, self.country] if line]


class Contact(TrackChanges, Archivable, models.Model):
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="contacts"
    )
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100)
    email = models.EmailField(_("e-mail"), blank=True, db_index=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # Lookup keys for matching a lead to this contact (crm.normalize), kept by save().
    email_key = models.CharField(max_length=254, blank=True, editable=False, db_index=True)
    phone_key = models.CharField(max_length=30, blank=True, editable=False, db_index=True)

    class Meta:
        ordering = ["last_name", "first_name"]
        verbose_name = _("contact")
        indexes = Archivable.archive_indexes("contact")
        verbose_name_plural = _("contacts")

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    KEY_FIELDS = ("email_key", "phone_key")

    def save(self, *args, **kwargs) -> None:
        # Derived lookup keys, refreshed on every write path (see Account.save).
        self.refresh_keys()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], *self.KEY_FIELDS}
        super().save(*args, **kwargs)

    def refresh_keys(self) -> None:
        self.email_key = normalize.email_key(self.email)
        # A contact's national number is dialled in its company's country.
        country = self.account.country if self.account_id else None
        self.phone_key = normalize.phone_key(self.phone, country)


class TaxCategory(models.TextChoices):
    STANDARD = "S", _("Standard rate")
    REDUCED = "AA", _("Reduced rate")
    ZERO = "Z", _("Zero rated")
    EXEMPT = "E", _("Exempt")
    REVERSE_CHARGE = "AE", _("Reverse charge")


class TaxRate(models.Model):
    name = models.CharField(_("name"), max_length=100)
    percent = models.DecimalField(_("rate (%)"), max_digits=5, decimal_places=2)
    category = models.CharField(
        _("category"), max_length=2, choices=TaxCategory.choices, default=TaxCategory.STANDARD
    )
    exemption_reason = models.CharField(
        _("exemption reason"), max_length=300, blank=True,
        help_text=_("Printed on documents; required for exempt and reverse-charge rates."),
    )
    active = models.BooleanField(_("active"), default=True)

    # EN 16931 (BR-E-10, BR-AE-10): an exempt or reverse-charge line must say why no tax is charged.
    REASON_REQUIRED = (TaxCategory.EXEMPT, TaxCategory.REVERSE_CHARGE)

    class Meta:
        ordering = ["-percent"]
        verbose_name = _("tax rate")
        verbose_name_plural = _("tax rates")

    def __str__(self) -> str:
        return f"{self.name} ({self.percent.normalize()} %)"

    def clean(self) -> None:
        if self.category in self.REASON_REQUIRED and not self.exemption_reason.strip():
            raise ValidationError({"exemption_reason": _("Exempt and reverse-charge rates need an exemption reason.")})
        if self.category in (*self.REASON_REQUIRED, TaxCategory.ZERO) and self.percent:
            raise ValidationError({"percent": _("Zero-rated, exempt and reverse-charge rates have a rate of 0 %.")})


class RecurringInterval(models.TextChoices):
    NONE = "", _("One-off")
    MONTHLY = "monthly", _("Monthly")
    YEARLY = "yearly", _("Yearly")


class Product(models.Model):
    sku = models.CharField(_("SKU"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    unit = models.CharField(_("unit"), max_length=20, default="pc")
    price = MoneyField(_("price"), **MONEY_DIGITS, default_currency=settings.DEFAULT_CURRENCY)
    tax_rate = models.ForeignKey(TaxRate, verbose_name=_("tax rate"), on_delete=models.PROTECT)
    recurring = models.CharField(
        _("recurring"), max_length=10, choices=RecurringInterval.choices, default=RecurringInterval.NONE, blank=True,
        help_text=_("Subscriptions are priced per month or year and shown as such on quotes."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("product")
        verbose_name_plural = _("products")

    def __str__(self) -> str:
        return self.label_of(self.sku, self.name)

    @staticmethod
    def label_of(sku: str, name: str) -> str:
        """A product's label from its columns, for lists read as values rather than instances."""
        return f"{sku} · {name}"


class PriceList(models.Model):
    """Prices of some products in one currency, for one customer segment (blank: every segment)."""

    name = models.CharField(_("name"), max_length=100)
    currency = models.CharField(
        _("currency"), max_length=3, choices=settings.CURRENCY_CHOICES, default=settings.DEFAULT_CURRENCY
    )
    segment = models.CharField(_("customer segment"), max_length=50, blank=True, db_index=True,
                               help_text=_("Empty: applies to customers of any segment."))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["currency", "segment", "name"]
        verbose_name = _("price list")
        verbose_name_plural = _("price lists")
        constraints = [
            models.UniqueConstraint(fields=["currency", "segment"], condition=models.Q(active=True),
                                    name="pricelist_one_active_per_currency_segment"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"


class PriceListItem(models.Model):
    price_list = models.ForeignKey(PriceList, verbose_name=_("price list"), on_delete=models.CASCADE,
                                   related_name="items")
    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="+")
    # The currency is the price list's: one list, one currency.
    price = models.DecimalField(_("price"), **MONEY_DIGITS)

    class Meta:
        ordering = ["product__name"]
        verbose_name = _("price list item")
        verbose_name_plural = _("price list items")
        constraints = [
            models.UniqueConstraint(fields=["price_list", "product"], name="pricelistitem_unique_product"),
        ]

    def __str__(self) -> str:
        return f"{self.product} · {self.price} {self.price_list.currency}"


class ExchangeRate(models.Model):
    """How much one unit of `currency` is worth in the company currency on `date`."""

    date = models.DateField(_("date"), db_index=True)
    currency = models.CharField(_("currency"), max_length=3)
    rate = models.DecimalField(_("rate"), max_digits=18, decimal_places=8,
                               help_text=_("Value of 1 unit of the currency in the company currency."))

    class Meta:
        ordering = ["-date", "currency"]
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        constraints = [
            models.UniqueConstraint(fields=["date", "currency"], name="exchangerate_unique_date_currency"),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="exchangerate_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.currency} {self.rate}"

    @classmethod
    def rate_on(cls, currency: str, on) -> Decimal:
        """The rate valid on `on`: the latest one entered on or before that date."""
        rate = cls.objects.filter(currency=currency, date__lte=on).order_by("-date").values_list("rate", flat=True)
        found = rate.first()
        if found is None:
            raise cls.DoesNotExist(f"no exchange rate for {currency} on or before {on}")
        return found


class Sequence(models.Model):
    """Last number handed out per series and year. Incremented only under a row lock (crm.numbering)."""

    series = models.CharField(max_length=20)
    year = models.PositiveIntegerField()
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["series", "year"], name="sequence_unique_series_year")]

    def __str__(self) -> str:
        return f"{self.series}-{self.year}: {self.last_value}"


class CompanyProfile(models.Model):
    """The seller's own company as printed on quotes and invoices. One row (pk=1)."""

    legal_name = models.CharField(_("legal name"), max_length=200)
    street = models.CharField(_("street"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, default="DE")
    vat_id = models.CharField(_("VAT ID"), max_length=50, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    iban = models.CharField(_("IBAN"), max_length=34, blank=True)
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    bank_name = models.CharField(_("bank"), max_length=100, blank=True)
    default_quote_terms = models.TextField(
        _("default quote terms"), blank=True, help_text=_("Copied into every new quote; the seller may change them.")
    )
    default_validity_days = models.PositiveIntegerField(
        _("default quote validity (days)"), null=True, blank=True,
        help_text=_("Empty: the server's default (SALESFLOW_QUOTE_VALIDITY_DAYS)."),
    )
    default_payment_terms = models.CharField(
        _("default payment terms"), max_length=300, blank=True,
        help_text=_("For example “Payment within 14 days of the invoice date, without deduction.”"),
    )

    class Meta:
        verbose_name = _("company profile")
        verbose_name_plural = _("company profile")

    def __str__(self) -> str:
        return self.legal_name

    @classmethod
    def current(cls) -> CompanyProfile:
        profile = cls.objects.filter(pk=1).first()
        return profile or cls(pk=1, legal_name=settings.SALESFLOW_COMPANY_NAME)


class ActivityKind(models.TextChoices):
    CALL = "call", _("Call")
    MEETING = "meeting", _("Meeting")
    EMAIL = "email", _("E-mail")
    TASK = "task", _("Task")
    NOTE = "note", _("Note")


class Activity(models.Model):
    """A call, meeting, e-mail, task or note attached to any sales record, account or contact."""

    kind = models.CharField(_("type"), max_length=10, choices=ActivityKind.choices, default=ActivityKind.NOTE)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("details"), blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    done = models.BooleanField(_("done"), default=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="activities"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField()
    target = GenericForeignKey("content_type", "object_id")

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["content_type", "object_id", "-created_at"]),
            # "My activities": a seller's open (or done) ones by due date, without reading everyone's.
            models.Index(fields=["owner", "done", "due_at"], name="crm_activity_owner_done_due"),
        ]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")

    def __str__(self) -> str:
        return self.subject

    def get_absolute_url(self) -> str:
        return reverse("crm:home")


class TwoFactorDevice(models.Model):
    """A user's confirmed TOTP authenticator. Exists only once the user proved it works with a code."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="twofactor"
    )
    # The shared secret has to be readable to check codes; it is as sensitive as a password hash.
    secret = models.CharField(_("secret"), max_length=64)
    confirmed_at = models.DateTimeField(_("confirmed at"), default=timezone.now)
    # The time step of the last accepted code: a code cannot be used twice (RFC 6238 §5.2).
    last_used_step = models.BigIntegerField(_("last used time step"), default=0)

    class Meta:
        verbose_name = _("two-factor device")
        verbose_name_plural = _("two-factor devices")

    def __str__(self) -> str:
        return str(self.user)


class RecoveryCode(models.Model):
    """A one-time code that replaces the authenticator app once; only its SHA-256 hash is stored."""

    device = models.ForeignKey(
        TwoFactorDevice, verbose_name=_("device"), on_delete=models.CASCADE, related_name="recovery_codes"
    )
    code_hash = models.CharField(_("code hash"), max_length=64)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("recovery code")
        verbose_name_plural = _("recovery codes")
        constraints = [models.UniqueConstraint(fields=["device", "code_hash"], name="recovery_code_unique_per_device")]

    def __str__(self) -> str:
        return f"{self.device} · {'used' if self.used_at else 'unused'}"


class FieldChange(models.Model):
    """One changed field of a tracked record (crm.tracking): who, when, old → new as display text."""

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.PositiveBigIntegerField()
    target = GenericForeignKey("content_type", "object_id")
    field = models.CharField(_("field"), max_length=100)
    old_value = models.TextField(_("old value"), blank=True)
    new_value = models.TextField(_("new value"), blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("changed by"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)

    class Meta:
        ordering = ["-changed_at", "-pk"]
        indexes = [models.Index(fields=["content_type", "object_id", "changed_at"])]
        verbose_name = _("field change")
        verbose_name_plural = _("field changes")

    def __str__(self) -> str:
        return f"{self.field}: {self.old_value or '—'} → {self.new_value or '—'}"

    @property
    def field_label(self) -> str:
        """The field's current verbose name (translated), falling back to the stored name."""
        model = self.content_type.model_class()
        return field_label(model, self.field) if model else self.field


class PendingTask(models.Model):
    """Background work that could not be handed to the broker (Redis down): kept here, in the database the
    request already committed to, and queued again by `requeue_pending_tasks` once the broker is back."""

    task_name = models.CharField(_("task"), max_length=200)
    args = models.JSONField(_("arguments"), default=list, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    attempts = models.PositiveIntegerField(_("attempts"), default=1)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("pending background task")
        verbose_name_plural = _("pending background tasks")

    def __str__(self) -> str:
        return f"{self.task_name}{tuple(self.args)!r}"


class FormSubmission(models.Model):
    """A one-time form token, stored in the same transaction as the work the form did: the unique token
    makes a second submission of the same form (double click, resubmit) find the first one's result."""

    token = models.UUIDField(_("token"), unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE,
                             related_name="+")
    result_url = models.CharField(_("result"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("form submission")
        verbose_name_plural = _("form submissions")

    def __str__(self) -> str:
        return str(self.token)
