"""Forms of the order pages; validation of input only, the services decide what is allowed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from orders.models import Order, OrderState
from quotes.forms import BootstrapForm, ListFilterForm


class OrderFilterForm(ListFilterForm):
    state_choices = OrderState.choices


class OrderUpdateForm(BootstrapForm):
    customer_reference = forms.CharField(label=_("Customer reference (PO)"), max_length=100, required=False)
    delivery_terms = forms.CharField(label=_("Delivery terms"), max_length=200, required=False)
    billing_address = forms.CharField(label=_("Billing address"), widget=forms.Textarea(attrs={"rows": 4}),
                                      required=False)
    internal_notes = forms.CharField(label=_("Internal notes"), widget=forms.Textarea(attrs={"rows": 3}),
                                     required=False, help_text=_("Only visible inside the company."))

    def __init__(self, *args: Any, order: Order, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {name: getattr(order, name) for name in self.base_fields})
        super().__init__(*args, **kwargs)


class CancelOrderForm(BootstrapForm):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class InvoiceOrderForm(BootstrapForm):
    """How to bill the order next (invoices.services.invoice_create_from_order decides what is allowed)."""

    MODES = [
        ("full", _("Everything not invoiced yet")),
        ("delivered", _("The delivered part not invoiced yet")),
        ("down_payment_percent", _("Down payment: percentage of the total")),
        ("down_payment_amount", _("Down payment: amount (incl. tax)")),
        ("milestone", _("Milestone: percentage of the total")),
    ]
    mode = forms.ChoiceField(label=_("Invoice"), choices=MODES, initial="full")
    percent = forms.DecimalField(label=_("Percentage"), max_digits=5, decimal_places=2, required=False,
                                 min_value=Decimal("0.01"), max_value=Decimal(100))
    amount = forms.DecimalField(label=_("Amount"), max_digits=14, decimal_places=2, required=False,
                                min_value=Decimal("0.01"))
    label = forms.CharField(label=_("Milestone name"), max_length=100, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["mode"].widget.attrs["autofocus"] = True

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        mode = data.get("mode")
        if mode in ("down_payment_percent", "milestone") and data.get("percent") is None:
            self.add_error("percent", _("Enter the percentage."))
        if mode == "down_payment_amount" and data.get("amount") is None:
            self.add_error("amount", _("Enter the amount."))
        return data

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        mode = data["mode"]
        if mode == "down_payment_percent":
            return {"mode": "down_payment", "percent": data["percent"]}
        if mode == "down_payment_amount":
            return {"mode": "down_payment", "amount": data["amount"]}
        if mode == "milestone":
            return {"mode": "milestone", "percent": data["percent"], "label": data["label"]}
        return {"mode": mode}


class DeliveryForm(BootstrapForm):
    """Delivered quantity (so far, in total) per order line."""

    def __init__(self, *args: Any, order: Order, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.line_fields = []
        for line in order.lines.all():
            name = f"delivered_{line.pk}"
            self.fields[name] = forms.DecimalField(
                label=line.description, max_digits=12, decimal_places=3, min_value=Decimal(0),
                max_value=line.quantity, initial=line.delivered_quantity.normalize(),
                widget=forms.NumberInput(attrs={"class": "form-control form-control-sm", "step": "any"}),
            )
            self.line_fields.append((line, name))

    @property
    def line_rows(self) -> list[tuple[Any, forms.BoundField]]:
        return [(line, self[name]) for line, name in self.line_fields]

    def delivered(self) -> dict[int, Decimal]:
        return {line.pk: self.cleaned_data[name] for line, name in self.line_fields}
