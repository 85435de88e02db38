from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition
from djmoney.money import Money

from crm import money
from crm.documents import PricedDocument, PricedLine
from crm.models import RecurringInterval
from crm.tracking import money_text
from crm.workflow import SalesRecord, SalesRecordQuerySet


class QuoteState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SENT = "sent", _("Sent")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    EXPIRED = "expired", _("Expired")
    SUPERSEDED = "superseded", _("Superseded")
    CANCELLED = "cancelled", _("Cancelled")


def has_lines(quote: Quote) -> bool:
    # The record page has loaded the lines already (it lists them): ask those instead of the database. A
    # transition re-reads the locked row without prefetches, so the check that guards `send` is always fresh.
    if "lines" in getattr(quote, "_prefetched_objects_cache", {}):
        return any(line.kind == LineKind.ITEM for line in quote.lines.all())
    return quote.lines.filter(kind=LineKind.ITEM).exists()


class LineKind(models.TextChoices):
    ITEM = "item", _("Item")
    SECTION = "section", _("Section heading")
    NOTE = "note", _("Note")


class QuoteQuerySet(SalesRecordQuerySet):
    def current(self) -> QuoteQuerySet:
        """Leave out versions that a revision replaced: a deal shows the quote that counts."""
        return self.exclude(state=QuoteState.SUPERSEDED)

    def past_validity(self, today) -> QuoteQuerySet:
        return self.filter(state=QuoteState.SENT, valid_until__lt=today)


class Quote(SalesRecord, PricedDocument):
    NUMBER_SERIES = "Q"
    FINANCIAL = True
    PDF_TEMPLATE = "quotes/pdf/quote.html"
    PDF_TASK = "quotes.tasks.render_quote_pdf"

    state = FSMField(_("status"), default=QuoteState.DRAFT, choices=QuoteState.choices, protected=True, db_index=True)
    opportunity = models.ForeignKey(
        "opportunities.Opportunity", verbose_name=_("opportunity"), on_delete=models.PROTECT, related_name="quotes"
    )
    account = models.ForeignKey("crm.Account", verbose_name=_("account"), on_delete=models.PROTECT, related_name="+")
    contact = models.ForeignKey(
        "crm.Contact", verbose_name=_("contact"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    title = models.CharField(_("title"), max_length=200, blank=True)
    valid_until = models.DateField(_("valid until"))
    terms = models.TextField(_("terms"), blank=True)
    notes = models.TextField(_("notes for the customer"), blank=True)
    language = models.CharField(_("document language"), max_length=10, default="en")
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    decided_at = models.DateTimeField(_("accepted/rejected"), null=True, blank=True)
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    # Versions: v1 has no root (it is the root); revisions point at v1 and count up.
    root = models.ForeignKey(
        "self", verbose_name=_("first version"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="revisions",
    )
    version = models.PositiveIntegerField(_("version"), default=1)
    discount_percent = models.DecimalField(_("document discount (%)"), max_digits=5, decimal_places=2,
                                           default=Decimal(0))
    discount_amount = models.DecimalField(_("document discount (amount)"), max_digits=18, decimal_places=4,
                                          default=Decimal(0))
    emailed_to = models.EmailField(_("e-mailed to"), blank=True)
    emailed_at = models.DateTimeField(_("e-mailed"), null=True, blank=True)

    objects = QuoteQuerySet.as_manager()

    # The totals move only while a draft is composed, with every line edit: the lines' own history rows say
    # what changed ("Quote line added: …"), a "Total: … → …" row beside each would only repeat it.
    HISTORY_EXCLUDE = frozenset({"net_total", "tax_total", "gross_total", "emailed_at", "emailed_to", "sent_at",
                                 "decided_at"})

    class Meta(SalesRecord.Meta):
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        # The dashboard's "open quotes": sent ones, soonest to expire first.
        indexes = [
            models.Index(fields=["state", "valid_until", "id"], name="quote_state_valid_until_idx"),
            *SalesRecord.archive_indexes("quote"),
        ]
        permissions = [
            ("send_quote", _("Send quotes")),
            ("revise_quote", _("Revise sent quotes")),
            ("cancel_quote", _("Cancel draft quotes")),
            ("reject_quote", _("Record a customer's rejection of a quote")),
            ("accept_quote", _("Accept quotes on the customer's behalf")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["root", "version"], name="quote_unique_root_version"),
        ]

    def get_absolute_url(self) -> str:
        return reverse("quotes:detail", args=[self.pk])

    def archive_refusal(self) -> str:
        if self.state == QuoteState.ACCEPTED:
            return str(_("An accepted quote stays on record: the customer's acceptance and the order refer to it."))
        return ""

    @property
    def is_editable(self) -> bool:
        return self.state == QuoteState.DRAFT

    @property
    def family_root_id(self) -> int:
        return self.root_id or self.pk

    def versions(self) -> models.QuerySet[Quote]:
        """Every version of this quote, v1 first."""
        root_id = self.family_root_id
        return Quote.objects.filter(models.Q(pk=root_id) | models.Q(root_id=root_id)).order_by("version")

    def is_past_validity(self, today=None) -> bool:
        return self.valid_until < (today or timezone.localdate())

    def item_lines(self) -> list[QuoteLine]:
        return [line for line in self.lines.all() if line.kind == LineKind.ITEM]

    def totals(self) -> money.Totals:
        # Section headings and notes carry no amounts; the document discount is spread over the rates.
        items = self.item_lines()
        return money.compute_totals(
            [line.as_input() for line in items], self.currency,
            document_discount=self.document_discount(lines_net=sum((li.net.amount for li in items), Decimal(0))),
        )

    def document_discount(self, *, lines_net: Decimal) -> Decimal:
        if self.discount_amount:
            return money.quantize(self.discount_amount, self.currency)
        if self.discount_percent:
            return money.percent_of(lines_net, self.discount_percent, self.currency)
        return Decimal(0)

    @transition(
        field=state, source=QuoteState.DRAFT, target=QuoteState.SENT, conditions=[has_lines],
        custom={"label": _("Send")},
    )
    def send(self, *, at) -> None:
        self.sent_at = at

    @transition(field=state, source=QuoteState.SENT, target=QuoteState.ACCEPTED, custom={"label": _("Accept")})
    def accept(self, *, at) -> None:
        self.decided_at = at

    @transition(field=state, source=QuoteState.SENT, target=QuoteState.REJECTED, custom={"label": _("Reject")})
    def reject(self, *, at, reason: str = "") -> None:
        self.decided_at = at
        self.rejection_reason = reason

    @transition(field=state, source=QuoteState.SENT, target=QuoteState.EXPIRED, custom={"label": _("Expire")})
    def expire(self) -> None:
        pass

    @transition(field=state, source=QuoteState.DRAFT, target=QuoteState.CANCELLED, custom={"label": _("Cancel")})
    def cancel(self) -> None:
        pass

    @transition(field=state, source=QuoteState.SENT, target=QuoteState.SUPERSEDED, custom={"label": _("Revise")})
    def supersede(self) -> None:
        pass


class QuoteLine(PricedLine):
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(_("kind"), max_length=10, choices=LineKind.choices, default=LineKind.ITEM)
    discount_amount = models.DecimalField(_("discount (amount)"), max_digits=18, decimal_places=4,
                                          default=Decimal(0))
    recurring = models.CharField(_("recurring"), max_length=10, choices=RecurringInterval.choices, blank=True,
                                 default=RecurringInterval.NONE)

    class Meta(PricedLine.Meta):
        verbose_name = _("quote line")
        verbose_name_plural = _("quote lines")

    @property
    def is_item(self) -> bool:
        return self.kind == LineKind.ITEM

    def as_input(self) -> money.LineInput:
        return money.LineInput(
            quantity=self.quantity,
            unit_price=self.unit_price.amount,
            tax_percent=self.tax_percent,
            discount_percent=self.discount_percent,
            discount_amount=self.discount_amount,
        )

    def history_text(self) -> str:
        """How this line reads in its quote's history: "20 × Licence at 780.00 EUR, 10 % off". Stored in the site
        language, like every history value, so a row reads the same whoever made the change."""
        with translation.override(settings.LANGUAGE_CODE):
            if not self.is_item:
                return f"{self.get_kind_display()}: {self.description}"
            text = _("%(quantity)s × %(description)s at %(price)s") % {
                "quantity": f"{self.quantity.normalize():f}", "description": self.description,
                "price": money_text(self.unit_price),
            }
            if self.discount_percent:
                text += _(", %(percent)s %% off") % {"percent": f"{self.discount_percent.normalize():f}"}
            elif self.discount_amount:
                text += _(", %(amount)s off") % {"amount": money_text(Money(self.discount_amount,
                                                                            self.unit_price.currency))}
            return str(text)

    def revision_values(self) -> dict[str, Any]:
        """Everything a new version of the quote copies from this line."""
        return {**super().copy_values(), "kind": self.kind, "discount_amount": self.discount_amount,
                "recurring": self.recurring}

    def diff_key(self) -> tuple:
        return (self.kind, self.product_id, self.description)

    def diff_values(self) -> dict[str, Any]:
        return {
            "quantity": self.quantity, "unit_price": self.unit_price.amount, "discount_percent": self.discount_percent,
            "discount_amount": self.discount_amount, "tax_percent": self.tax_percent, "net": self.net.amount,
        }


class QuoteAcceptance(models.Model):
    """Evidence that the customer accepted exactly this version of the quote, as shown to them."""

    quote = models.OneToOneField(Quote, verbose_name=_("quote"), on_delete=models.PROTECT, related_name="acceptance")
    name = models.CharField(_("name typed by the customer"), max_length=200)
    email = models.EmailField(_("e-mail"), blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=500, blank=True)
    accepted_at = models.DateTimeField(_("accepted at"), default=timezone.now)
    pdf_sha256 = models.CharField(_("SHA-256 of the PDF shown"), max_length=64)
    version = models.PositiveIntegerField(_("version"))
    gross_total = models.DecimalField(_("total accepted"), max_digits=18, decimal_places=4)
    currency = models.CharField(_("currency"), max_length=3, default=settings.DEFAULT_CURRENCY)

    class Meta:
        verbose_name = _("quote acceptance")
        verbose_name_plural = _("quote acceptances")

    def __str__(self) -> str:
        return f"{self.quote} · {self.name}"
