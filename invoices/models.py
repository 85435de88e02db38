from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition
from djmoney.models.fields import MoneyField
from djmoney.money import Money

from crm.documents import PricedDocument, PricedLine
from crm.models import MONEY_DIGITS
from crm.workflow import DomainError, SalesRecord, SalesRecordQuerySet


class InvoiceState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ISSUED = "issued", _("Issued")
    PARTIALLY_PAID = "partially_paid", _("Partially paid")
    OVERDUE = "overdue", _("Overdue")
    PAID = "paid", _("Paid")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_STATES = [InvoiceState.ISSUED, InvoiceState.PARTIALLY_PAID, InvoiceState.OVERDUE]
ISSUED_STATES = [*OPEN_STATES, InvoiceState.PAID, InvoiceState.CANCELLED]


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    DOWN_PAYMENT = "down_payment", _("Down payment invoice")
    CREDIT_NOTE = "credit_note", _("Credit note")


class LineRole(models.TextChoices):
    ITEM = "item", _("Ordered item")
    ADVANCE = "advance", _("Down payment")
    MILESTONE = "milestone", _("Milestone")
    DEDUCTION = "deduction", _("Down payment deducted")
    DISCOUNT = "discount", _("Order discount")


class ImmutableInvoice(DomainError):
    """Someone tried to change the legal content of an issued invoice or credit note."""


class PaymentTerm(models.Model):
    """E.g. "14 days net, 2 % within 10 days". Copied onto an invoice when it is drafted."""

    name = models.CharField(_("name"), max_length=100)
    net_days = models.PositiveSmallIntegerField(_("net days"), default=14)
    discount_percent = models.DecimalField(
        _("early payment discount (%)"), max_digits=5, decimal_places=2, default=Decimal(0)
    )
    discount_days = models.PositiveSmallIntegerField(_("discount within (days)"), default=0)
    is_default = models.BooleanField(_("default for new invoices"), default=False)

    class Meta:
        ordering = ["net_days", "name"]
        verbose_name = _("payment term")
        verbose_name_plural = _("payment terms")

    def __str__(self) -> str:
        return self.name

    @classmethod
    def default(cls) -> PaymentTerm | None:
        return cls.objects.filter(is_default=True).order_by("pk").first()


def _plain(value):
    # .values() gives a MoneyField's amount, the instance a Money: compare like with like.
    return value.amount if isinstance(value, Money) else value


class InvoiceQuerySet(SalesRecordQuerySet):
    def overdue_candidates(self, today) -> InvoiceQuerySet:
        return self.payable().filter(state__in=[InvoiceState.ISSUED, InvoiceState.PARTIALLY_PAID], due_date__lt=today)

    def payable(self) -> InvoiceQuerySet:
        """Documents a customer owes money on: invoices, not credit notes."""
        return self.exclude(kind=InvoiceKind.CREDIT_NOTE)

    def owed(self) -> InvoiceQuerySet:
        """Invoices issued and not settled yet (Invoice.is_open): what a customer still owes money on."""
        return self.payable().filter(state__in=OPEN_STATES)

    def delete(self) -> tuple[int, dict[str, int]]:
        # A bulk delete (admin action, shell, cascade by code) must not slip past Invoice.delete().
        if self.exclude(state=InvoiceState.DRAFT).exists():
            raise ImmutableInvoice(_("An issued invoice cannot be deleted; issue a credit note instead."))
        return super().delete()


class Invoice(SalesRecord, PricedDocument):
    NUMBER_SERIES = "INV"
    FINANCIAL = True
    PDF_TEMPLATE = "invoices/pdf/invoice.html"
    PDF_TASK = "invoices.tasks.render_invoice_pdf"
    CREDIT_NOTE_SERIES = "CN"
    # Fields that make up the legal document: frozen once issued (save() refuses to change them).
    LEGAL_FIELDS = ("number", "kind", "issue_date", "due_date", "delivery_date", "currency", "net_total",
                    "tax_total", "gross_total", "account_id", "billing_address", "customer_reference", "order_id",
                    "credit_of_id", "credit_reason", "payment_terms_days", "discount_percent", "discount_due_date",
                    "seller", "buyer", "previous_hash", "chain_hash", "language")

    # Indexes: see Meta. `state` has no index of its own: (state, due_date) serves every state filter.
    state = FSMField(_("status"), default=InvoiceState.DRAFT, choices=InvoiceState.choices, protected=True)
    # SalesRecord's `number` (unique=True) would get a second, varchar_pattern_ops copy of its index on PostgreSQL
    # for LIKE 'prefix%' queries, which no invoice query makes (searches are icontains): uniqueness is the
    # `invoice_number_unique` constraint instead.
    number = models.CharField(_("number"), max_length=40, null=True, blank=True)
    order = models.ForeignKey(
        "orders.Order", verbose_name=_("order"), on_delete=models.PROTECT, related_name="invoices"
    )
    account = models.ForeignKey("crm.Account", verbose_name=_("account"), on_delete=models.PROTECT, related_name="+")
    billing_address = models.TextField(_("billing address"), blank=True)
    customer_reference = models.CharField(_("customer reference (PO)"), max_length=100, blank=True)
    payment_terms_days = models.PositiveSmallIntegerField(_("payment terms (days)"), default=14)
    issue_date = models.DateField(_("issue date"), null=True, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True, db_index=True)
    amount_paid = MoneyField(_("paid"), **MONEY_DIGITS, default_currency=settings.DEFAULT_CURRENCY, default=0)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    language = models.CharField(_("document language"), max_length=10, default="en")
    kind = models.CharField(_("type"), max_length=20, choices=InvoiceKind.choices, default=InvoiceKind.INVOICE)
    credit_of = models.ForeignKey(
        "self", verbose_name=_("credit note for"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="credit_notes", db_index=False,  # partial index in Meta: only credit notes have one
    )
    credit_reason = models.TextField(_("reason for the credit note"), blank=True)
    schedule_label = models.CharField(_("billing step"), max_length=100, blank=True)
    delivery_date = models.DateField(_("delivery date"), null=True, blank=True)
    # No index: no query looks invoices up by term (a handful of values); only deleting a term does, rarely.
    payment_term = models.ForeignKey(
        PaymentTerm, verbose_name=_("payment term"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", db_index=False,
    )
    discount_percent = models.DecimalField(
        _("early payment discount (%)"), max_digits=5, decimal_places=2, default=Decimal(0)
    )
    discount_days = models.PositiveSmallIntegerField(_("discount within (days)"), default=0)
    discount_due_date = models.DateField(_("discount until"), null=True, blank=True)
    amount_credited = MoneyField(
        _("credited"), **MONEY_DIGITS, default_currency=settings.DEFAULT_CURRENCY, default=0
    )
    # Seller and buyer as they were at issue: the document never follows later edits of either.
    seller = models.JSONField(_("seller (at issue)"), default=dict, blank=True)
    buyer = models.JSONField(_("buyer (at issue)"), default=dict, blank=True)
    previous_hash = models.CharField(_("previous document hash"), max_length=64, blank=True)
    chain_hash = models.CharField(_("document hash"), max_length=64, blank=True)
    objects = InvoiceQuerySet.as_manager()

    HISTORY_EXCLUDE = frozenset({"net_total", "tax_total", "amount_paid", "amount_credited", "paid_at"})

    class Meta(SalesRecord.Meta):
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        permissions = [
            ("issue_invoice", _("Issue invoices")),
            ("record_payment", _("Record payments on invoices")),
            ("credit_invoice", _("Correct issued invoices with credit notes")),
        ]
        # Every index is one more entry to write for each invoice the overdue sweep moves (a state change is
        # never a HOT update), so there are only the ones a query uses. (state, due_date): state filters,
        # the sweep's candidates, the overdue lists by due date. Partial indexes on mostly-NULL columns hold
        # only the rows they can find.
        indexes = [
            models.Index(fields=["state", "due_date"]),
            models.Index(fields=["credit_of"], name="invoice_credit_of_idx", condition=Q(credit_of__isnull=False)),
            *SalesRecord.archive_indexes("invoice"),
        ]
        constraints = [models.UniqueConstraint(fields=["number"], name="invoice_number_unique")]

    def __str__(self) -> str:
        if self.number:
            return self.number
        if self.kind == InvoiceKind.CREDIT_NOTE:
            return _("Draft credit note #%(pk)s") % {"pk": self.pk}
        return _("Draft invoice #%(pk)s") % {"pk": self.pk}

    def get_absolute_url(self) -> str:
        return reverse("invoices:detail", args=[self.pk])

    def archive_refusal(self) -> str:
        if self.state != InvoiceState.DRAFT:
            return str(_("An issued invoice can neither be archived nor deleted; issue a credit note instead."))
        return ""

    @property
    def is_credit_note(self) -> bool:
        return self.kind == InvoiceKind.CREDIT_NOTE

    @property
    def series(self) -> str:
        return self.CREDIT_NOTE_SERIES if self.is_credit_note else self.NUMBER_SERIES

    @property
    def balance_due(self) -> Money:
        if self.is_credit_note:
            return self.zero()
        return Money(self.gross_total.amount - self.amount_credited.amount - self.amount_paid.amount, self.currency)

    @property
    def discounted_total(self) -> Money:
        """What the customer pays when paying within the early-payment discount period."""
        from crm.money import early_payment_amount  # noqa: PLC0415

        return Money(early_payment_amount(self.gross_total.amount, self.discount_percent, self.currency),
                     self.currency)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES and not self.is_credit_note

    @property
    def is_issued(self) -> bool:
        return self.state != InvoiceState.DRAFT

    def save(self, *args, **kwargs) -> None:
        self._refuse_legal_changes()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.pk and type(self)._default_manager.filter(pk=self.pk).exclude(state=InvoiceState.DRAFT).exists():
            raise ImmutableInvoice(_("An issued invoice cannot be deleted; issue a credit note instead."))
        return super().delete(*args, **kwargs)

    def _refuse_legal_changes(self) -> None:
        # Compared with the stored row, not with what this instance was loaded with: a stale or
        # hand-built instance must not slip a change through either.
        if self.pk is None or self._state.adding:
            return
        stored = type(self)._default_manager.filter(pk=self.pk).values("state", *self.LEGAL_FIELDS).first()
        if not stored or stored["state"] == InvoiceState.DRAFT:
            return
        changed = [f for f in self.LEGAL_FIELDS if stored[f] != _plain(getattr(self, f))]
        if changed:
            raise ImmutableInvoice(
                _("%(doc)s is issued and cannot be changed (%(fields)s); issue a credit note instead.")
                % {"doc": self, "fields": ", ".join(changed)}
            )

    @property
    def is_overdue(self) -> bool:
        return self.state == InvoiceState.OVERDUE

    def clean(self) -> None:
        try:
            self._refuse_legal_changes()
        except ImmutableInvoice as exc:
            raise ValidationError(str(exc)) from exc

    @transition(field=state, source=InvoiceState.DRAFT, target=InvoiceState.ISSUED, custom={"label": _("Issue")})
    def issue(self, *, number: str, issue_date, due_date, discount_due_date=None, previous_hash: str = "") -> None:
        from invoices.integrity import document_hash  # noqa: PLC0415  (integrity reads models)

        self.number = number
        self.issue_date = issue_date
        self.due_date = due_date
        self.discount_due_date = discount_due_date
        self.previous_hash = previous_hash
        self.chain_hash = document_hash(self, self.lines.all(), previous_hash)

    @transition(
        field=state, source=[InvoiceState.ISSUED, InvoiceState.OVERDUE, InvoiceState.PARTIALLY_PAID],
        target=InvoiceState.PARTIALLY_PAID, custom={"label": _("Record part payment")},
    )
    def record_part_payment(self, *, amount_paid) -> None:
        self.amount_paid = amount_paid

    @transition(
        field=state, source=[InvoiceState.ISSUED, InvoiceState.OVERDUE, InvoiceState.PARTIALLY_PAID],
        target=InvoiceState.PAID, custom={"label": _("Mark paid")},
    )
    def settle(self, *, amount_paid) -> None:
        self.amount_paid = amount_paid
        self.paid_at = timezone.now()

    @transition(
        field=state, source=[InvoiceState.ISSUED, InvoiceState.PARTIALLY_PAID], target=InvoiceState.OVERDUE,
        custom={"label": _("Mark overdue")},
    )
    def mark_overdue(self) -> None:
        pass

    def _fully_credited(self) -> bool:
        return self.amount_credited.amount >= self.gross_total.amount

    # Only a credit note cancels an issued invoice: the condition holds once credit notes cover its total,
    # and only invoices.services.credit_note_create books credited amounts.
    @transition(
        field=state,
        source=[InvoiceState.ISSUED, InvoiceState.OVERDUE, InvoiceState.PARTIALLY_PAID, InvoiceState.PAID],
        target=InvoiceState.CANCELLED, conditions=[_fully_credited],
        custom={"label": _("Cancel by credit note")},
    )
    def cancel_by_credit_note(self) -> None:
        pass


class InvoiceLine(PricedLine):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    role = models.CharField(_("line type"), max_length=20, choices=LineRole.choices, default=LineRole.ITEM)
    # Which order line this bills: the sum over an order line's invoice lines never exceeds what was ordered.
    order_line = models.ForeignKey(
        "orders.OrderLine", verbose_name=_("order line"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="invoice_lines",
    )
    # On a credit note: the invoice line it corrects.
    source_line = models.ForeignKey(
        "self", verbose_name=_("credited line"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="credit_lines",
    )
    # On a final invoice: the down payment invoice this deduction line settles.
    deducts = models.ForeignKey(
        Invoice, verbose_name=_("deducted down payment"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="deducted_by",
    )

    class Meta(PricedLine.Meta):
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")

    def as_input(self):
        from orders.models import stored_net_input  # noqa: PLC0415

        return stored_net_input(self)

    def save(self, *args, **kwargs) -> None:
        self._refuse_if_issued()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self._refuse_if_issued()
        return super().delete(*args, **kwargs)

    def _refuse_if_issued(self) -> None:
        if Invoice._default_manager.filter(pk=self.invoice_id).exclude(state=InvoiceState.DRAFT).exists():
            raise ImmutableInvoice(
                _("The lines of an issued invoice cannot be changed; issue a credit note instead.")
            )


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    CARD = "card", _("Card")
    DIRECT_DEBIT = "direct_debit", _("Direct debit")
    CASH = "cash", _("Cash")
    CUSTOMER_CREDIT = "customer_credit", _("Customer credit")
    OTHER = "other", _("Other")


class Payment(models.Model):
    invoice = models.ForeignKey(Invoice, verbose_name=_("invoice"), on_delete=models.PROTECT, related_name="payments")
    amount = MoneyField(_("amount"), **MONEY_DIGITS, default_currency=settings.DEFAULT_CURRENCY)
    received_on = models.DateField(_("received on"), default=timezone.localdate)
    method = models.CharField(
        _("method"), max_length=20, choices=PaymentMethod.choices, default=PaymentMethod.BANK_TRANSFER
    )
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["received_on", "pk"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")

    def __str__(self) -> str:
        return f"{self.amount} · {self.received_on}"


class CustomerCredit(models.Model):
    """A movement on a customer's credit balance: + an over-payment or a credit note refund held for the
    customer, − credit used to pay an invoice. The balance is the sum per account and currency."""

    account = models.ForeignKey(
        "crm.Account", verbose_name=_("account"), on_delete=models.PROTECT, related_name="credit_movements"
    )
    amount = MoneyField(_("amount"), **MONEY_DIGITS, default_currency=settings.DEFAULT_CURRENCY)
    invoice = models.ForeignKey(
        Invoice, verbose_name=_("invoice"), on_delete=models.PROTECT, related_name="credit_movements"
    )
    payment = models.ForeignKey(
        Payment, verbose_name=_("payment"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("customer credit")
        verbose_name_plural = _("customer credit")

    def __str__(self) -> str:
        return f"{self.account} {self.amount}"


class DunningLevel(models.Model):
    """A payment reminder sent once per invoice, `days_after_due` days after the due date."""

    level = models.PositiveSmallIntegerField(_("level"), unique=True)
    days_after_due = models.PositiveSmallIntegerField(_("days after due date"))
    subject = models.CharField(
        _("e-mail subject"), max_length=200,
        help_text=_("May use {number}, {due_date}, {balance}, {company}."),
    )
    body = models.TextField(
        _("e-mail text"), help_text=_("May use {number}, {due_date}, {balance}, {company}, {customer}.")
    )

    class Meta:
        ordering = ["level"]
        verbose_name = _("dunning level")
        verbose_name_plural = _("dunning levels")

    def __str__(self) -> str:
        return _("Level %(level)s (+%(days)s days)") % {"level": self.level, "days": self.days_after_due}


class DunningNotice(models.Model):
    """A reminder of one level for one invoice: the unique constraint makes "never twice" a database fact."""

    # No index of its own: the unique (invoice, level) constraint's index starts with invoice_id.
    invoice = models.ForeignKey(
        Invoice, verbose_name=_("invoice"), on_delete=models.CASCADE, related_name="dunning_notices", db_index=False
    )
    level = models.ForeignKey(DunningLevel, verbose_name=_("level"), on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True, db_index=True)
    sent_to = models.EmailField(_("sent to"), blank=True)

    class Meta:
        ordering = ["invoice", "level__level"]
        verbose_name = _("dunning notice")
        verbose_name_plural = _("dunning notices")
        constraints = [
            models.UniqueConstraint(fields=["invoice", "level"], name="dunning_notice_once_per_level"),
        ]

    def __str__(self) -> str:
        return f"{self.invoice} · {self.level}"
