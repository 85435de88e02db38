from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition

from crm.documents import PricedDocument, PricedLine
from crm.workflow import SalesRecord


class OrderState(models.TextChoices):
    CONFIRMED = "confirmed", _("Confirmed")
    IN_FULFILMENT = "in_fulfilment", _("In fulfilment")
    FULFILLED = "fulfilled", _("Fulfilled")
    CANCELLED = "cancelled", _("Cancelled")


class Order(SalesRecord, PricedDocument):
    NUMBER_SERIES = "SO"
    FINANCIAL = True
    PDF_TEMPLATE = "orders/pdf/confirmation.html"
    PDF_TASK = "orders.tasks.render_order_pdf"

    state = FSMField(
        _("status"), default=OrderState.CONFIRMED, choices=OrderState.choices, protected=True, db_index=True
    )
    # One order per quote, enforced by the database: the last line of defence against a double accept.
    quote = models.OneToOneField(
        "quotes.Quote", verbose_name=_("quote"), on_delete=models.PROTECT, related_name="order"
    )
    opportunity = models.ForeignKey(
        "opportunities.Opportunity", verbose_name=_("opportunity"), on_delete=models.PROTECT, related_name="orders"
    )
    account = models.ForeignKey("crm.Account", verbose_name=_("account"), on_delete=models.PROTECT, related_name="+")
    contact = models.ForeignKey(
        "crm.Contact", verbose_name=_("contact"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    order_date = models.DateField(_("order date"))
    billing_address = models.TextField(_("billing address"), blank=True)
    customer_reference = models.CharField(_("customer reference (PO)"), max_length=100, blank=True)
    delivery_terms = models.CharField(_("delivery terms"), max_length=200, blank=True)
    internal_notes = models.TextField(_("internal notes"), blank=True)
    fulfilled_at = models.DateTimeField(_("fulfilled"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    cancel_reason = models.TextField(_("cancellation reason"), blank=True)

    HISTORY_EXCLUDE = frozenset({"net_total", "tax_total", "fulfilled_at", "cancelled_at"})

    class Meta(SalesRecord.Meta):
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        permissions = [
            ("start_fulfilment_order", _("Start fulfilling orders")),
            ("fulfil_order", _("Mark orders fulfilled")),
            ("deliver_order", _("Record deliveries of orders")),
            ("cancel_order", _("Cancel orders")),
        ]
        indexes = SalesRecord.archive_indexes("order")

    def get_absolute_url(self) -> str:
        return reverse("orders:detail", args=[self.pk])

    def archive_refusal(self) -> str:
        if self.state in (OrderState.IN_FULFILMENT, OrderState.FULFILLED):
            return str(_("An order in fulfilment or fulfilled cannot be archived."))
        if self.invoices.exists():
            return str(_("This order has invoices; it cannot be archived."))
        return ""

    def totals(self):
        """Totals from the lines, with the quote's document discount (lines' nets minus the order's net total)
        spread over the rates the way crm.money does for the quote."""
        from crm import money  # noqa: PLC0415

        lines = list(self.lines.all())
        lines_net = sum((line.net.amount for line in lines), Decimal(0))
        discount = max(lines_net - self.net_total.amount, Decimal(0))
        return money.compute_totals([line.as_input() for line in lines], self.currency, document_discount=discount)

    @transition(
        field=state, source=OrderState.CONFIRMED, target=OrderState.IN_FULFILMENT,
        custom={"label": _("Start fulfilment")},
    )
    def start_fulfilment(self) -> None:
        pass

    @transition(
        field=state, source=[OrderState.CONFIRMED, OrderState.IN_FULFILMENT], target=OrderState.FULFILLED,
        custom={"label": _("Mark fulfilled")},
    )
    def fulfil(self, *, at) -> None:
        self.fulfilled_at = at

    @transition(
        field=state, source=[OrderState.CONFIRMED, OrderState.IN_FULFILMENT], target=OrderState.CANCELLED,
        custom={"label": _("Cancel order")},
    )
    def cancel(self, *, at, reason: str) -> None:
        self.cancelled_at = at
        self.cancel_reason = reason


def stored_net_input(line: PricedLine):
    """The line as crm.money input that reproduces its stored, rounded net exactly — also when the quote gave
    it an amount discount, which order and invoice lines keep inside their net rather than as a field."""
    from crm import money  # noqa: PLC0415

    gross = Decimal(line.quantity) * Decimal(line.unit_price.amount)
    after_percent = gross - gross * Decimal(line.discount_percent) / 100
    return money.LineInput(
        quantity=line.quantity, unit_price=line.unit_price.amount, tax_percent=line.tax_percent,
        discount_percent=line.discount_percent, discount_amount=after_percent - Decimal(line.net.amount),
    )


class ProvisioningStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PARTIAL = "partial", _("Partly delivered")
    DELIVERED = "delivered", _("Delivered")


class OrderLine(PricedLine):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    delivered_quantity = models.DecimalField(_("delivered"), max_digits=12, decimal_places=3, default=Decimal(0))

    @property
    def provisioning_status(self) -> str:
        if self.delivered_quantity <= 0:
            return ProvisioningStatus.PENDING
        if self.delivered_quantity < self.quantity:
            return ProvisioningStatus.PARTIAL
        return ProvisioningStatus.DELIVERED

    def get_provisioning_status_display(self) -> str:
        return str(ProvisioningStatus(self.provisioning_status).label)

    def as_input(self):
        return stored_net_input(self)

    @property
    def open_quantity(self) -> Decimal:
        return max(self.quantity - self.delivered_quantity, Decimal(0))

    class Meta(PricedLine.Meta):
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
