"""Forms of the invoice pages; validation of input only, the services decide what is allowed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from djmoney.money import Money

from crm import money
from invoices.models import Invoice, InvoiceState, PaymentMethod, PaymentTerm
from invoices.selectors import OPEN_FILTER
from quotes.forms import BootstrapForm, ListFilterForm


class InvoiceFilterForm(ListFilterForm):
    state_choices = [(OPEN_FILTER, _("Open (not paid yet)")), *InvoiceState.choices]


class PaymentForm(BootstrapForm):
    amount = forms.DecimalField(label=_("Amount"), max_digits=14, decimal_places=4, min_value=Decimal("0.0001"))
    currency = forms.ChoiceField(label=_("Currency"), choices=settings.CURRENCY_CHOICES)
    received_on = forms.DateField(label=_("Received on"), widget=forms.DateInput(attrs={"type": "date"}))
    method = forms.ChoiceField(label=_("Method"), choices=PaymentMethod.choices)
    reference = forms.CharField(label=_("Reference"), max_length=100, required=False,
                                help_text=_("Bank statement line, card transaction id…"))

    def __init__(self, *args: Any, invoice: Invoice, **kwargs: Any) -> None:
        # The usual case is the customer paying the rest in full: default to the balance due.
        kwargs.setdefault("initial", {
            "amount": money.quantize(invoice.balance_due.amount, invoice.currency), "currency": invoice.currency,
            "received_on": timezone.localdate(), "method": PaymentMethod.BANK_TRANSFER,
        })
        super().__init__(*args, **kwargs)
        self.fields["received_on"].widget.format = "%Y-%m-%d"
        self.fields["amount"].widget.attrs["autofocus"] = True

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "amount": Money(data["amount"], data["currency"]),
            "received_on": data["received_on"],
            "method": data["method"],
            "reference": data["reference"],
        }


class CreditNoteForm(BootstrapForm):
    """Reason, and a quantity per invoice line to credit (all of what is left by default)."""

    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000,
                             help_text=_("Printed on the credit note."))

    def __init__(self, *args: Any, invoice: Invoice, credited: dict[int, Decimal], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].widget.attrs["autofocus"] = True
        self.line_fields = []
        for line in invoice.lines.all():
            left = line.quantity - credited.get(line.pk, Decimal(0))
            name = f"qty_{line.pk}"
            self.fields[name] = forms.DecimalField(
                label=line.description, max_digits=12, decimal_places=3, required=False, initial=left.normalize(),
                widget=forms.NumberInput(attrs={"class": "form-control form-control-sm", "step": "any"}),
            )
            self.line_fields.append((line, left, name))

    @property
    def line_rows(self) -> list[tuple[Any, Decimal, forms.BoundField]]:
        return [(line, left, self[name]) for line, left, name in self.line_fields]

    def service_kwargs(self) -> dict[str, Any]:
        quantities = {line.pk: self.cleaned_data.get(name) or Decimal(0) for line, _left, name in self.line_fields}
        return {"reason": self.cleaned_data["reason"], "quantities": quantities}


class InvoiceDraftForm(BootstrapForm):
    billing_address = forms.CharField(label=_("Billing address"), widget=forms.Textarea(attrs={"rows": 4}),
                                      required=False)
    customer_reference = forms.CharField(label=_("Customer reference (PO)"), max_length=100, required=False)
    payment_term = forms.ModelChoiceField(label=_("Payment terms"), queryset=PaymentTerm.objects.all(),
                                          required=False, empty_label=_("Company default"))

    def __init__(self, *args: Any, invoice: Invoice, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"billing_address": invoice.billing_address,
                                      "customer_reference": invoice.customer_reference,
                                      "payment_term": invoice.payment_term_id})
        super().__init__(*args, **kwargs)
        self.fields["billing_address"].widget.attrs["autofocus"] = True
