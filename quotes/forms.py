"""Forms of the quote pages. They validate input only; the services decide what is allowed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.utils.html import format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from djmoney.money import Money

from crm.models import Contact, Product
from quotes.models import LineKind, Quote, QuoteState
from quotes.selectors import product_choices, tax_rate_choices


class BootstrapForm(forms.Form):
    """Bootstrap classes on every widget, and `is-invalid` on fields with errors, so templates stay short."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.HiddenInput):
                continue
            base = "form-select" if isinstance(widget, forms.Select) else "form-control"
            if isinstance(widget, forms.CheckboxInput):
                base = "form-check-input"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {base}".strip()

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
                widget.attrs["aria-invalid"] = "true"


class ListFilterForm(BootstrapForm):
    """Search box + state filter of a list page; `state_choices` is set by each subclass."""

    state_choices: list[tuple[str, Any]] = []

    q = forms.CharField(label=_("Search"), required=False)
    state = forms.ChoiceField(label=_("Status"), required=False)
    archived = forms.BooleanField(label=_("Archived"), required=False)
    sort = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [("", _("All states")), *self.state_choices]
        self.fields["q"].widget.attrs.update(
            {"data-search": "", "placeholder": _("Search number or customer… ( / )"), "type": "search"}
        )

    def value(self, name: str) -> str:
        return self.cleaned_data.get(name, "") if self.is_valid() else ""


class QuoteFilterForm(ListFilterForm):
    state_choices = QuoteState.choices


class QuoteUpdateForm(BootstrapForm):
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    valid_until = forms.DateField(label=_("Valid until"), widget=forms.DateInput(attrs={"type": "date"}))
    contact = forms.ModelChoiceField(label=_("Contact"), queryset=Contact.objects.none(), required=False)
    language = forms.ChoiceField(label=_("Document language"), choices=settings.LANGUAGES)
    terms = forms.CharField(label=_("Terms"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    notes = forms.CharField(label=_("Notes for the customer"), widget=forms.Textarea(attrs={"rows": 3}),
                            required=False)
    discount_percent = forms.DecimalField(label=_("Document discount (%)"), max_digits=5, decimal_places=2,
                                          min_value=Decimal(0), max_value=Decimal(100), required=False)
    discount_amount = forms.DecimalField(label=_("Document discount (amount)"), max_digits=14, decimal_places=2,
                                         min_value=Decimal(0), required=False,
                                         help_text=_("Either a percentage or an amount, before tax."))

    def __init__(self, *args: Any, quote: Quote, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {
            "title": quote.title, "valid_until": quote.valid_until, "contact": quote.contact_id,
            "language": quote.language, "terms": quote.terms, "notes": quote.notes,
            "discount_percent": quote.discount_percent.normalize() if quote.discount_percent else None,
            "discount_amount": quote.discount_amount.normalize() if quote.discount_amount else None,
        })
        super().__init__(*args, **kwargs)
        # Only people of the quoted customer can be the quote's contact.
        self.fields["contact"].queryset = Contact.objects.filter(account_id=quote.account_id)
        self.fields["valid_until"].widget.format = "%Y-%m-%d"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("discount_percent") and data.get("discount_amount"):
            self.add_error("discount_amount", _("Give either a percentage or an amount, not both."))
        data["discount_percent"] = data.get("discount_percent") or Decimal(0)
        data["discount_amount"] = data.get("discount_amount") or Decimal(0)
        return data


class QuoteLineForm(BootstrapForm):
    """Add a line: a catalog product (its price and tax rate are the defaults), a free text line, or a
    section heading / note (text only)."""

    kind = forms.ChoiceField(label=_("Line type"), choices=LineKind.choices, initial=LineKind.ITEM, required=False)
    product = forms.ModelChoiceField(label=_("Product"), queryset=product_choices(), required=False,
                                     empty_label=_("— free text line —"))
    description = forms.CharField(label=_("Description"), max_length=255, required=False)
    quantity = forms.DecimalField(label=_("Quantity"), max_digits=12, decimal_places=3, min_value=Decimal("0.001"),
                                  initial=Decimal(1))
    unit_price = forms.DecimalField(label=_("Unit price"), max_digits=14, decimal_places=4, required=False,
                                    help_text=_("Empty: the product's list price."))
    discount_percent = forms.DecimalField(label=_("Discount (%)"), max_digits=5, decimal_places=2, required=False,
                                          min_value=Decimal(0), max_value=Decimal(100), initial=Decimal(0))
    discount_amount = forms.DecimalField(label=_("Discount (amount)"), max_digits=14, decimal_places=2,
                                         required=False, min_value=Decimal(0))
    tax_rate = forms.ModelChoiceField(label=_("Tax rate"), queryset=tax_rate_choices(), required=False,
                                      empty_label=_("Product's"))  # fits the narrow select

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        product = data.get("product")
        data["kind"] = data.get("kind") or LineKind.ITEM
        if data["kind"] != LineKind.ITEM:
            if not data.get("description"):
                self.add_error("description", _("Enter the text of the heading or note."))
            return data
        if data.get("discount_percent") and data.get("discount_amount"):
            self.add_error("discount_amount", _("Give either a percentage or an amount, not both."))
        if product is None:
            if not data.get("description"):
                self.add_error("description", _("Enter a description or choose a product."))
            if data.get("unit_price") is None:
                self.add_error("unit_price", _("A free text line needs a price."))
            if data.get("tax_rate") is None:
                self.add_error("tax_rate", _("Choose a tax rate for this line."))
        return data

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.is_bound and self.data.get("kind") in (LineKind.SECTION, LineKind.NOTE):
            self.fields["quantity"].required = False

    def product_options(self) -> SafeString:
        """The product select's options with the data the editor's script fills the line from (price, currency,
        tax rate, name), built here in one pass: as template markup, the ~10 lookups per option of a
        200-product catalogue cost more than the quote's lines."""
        chosen = str(self["product"].value() or "")
        rows = self.fields["product"].queryset.values_list("pk", "sku", "name", "price", "price_currency", "tax_rate")
        options = [
            (pk, amount, currency, tax_rate or "", name, " selected" if str(pk) == chosen else "",
             f"{Product.label_of(sku, name)} · {Money(amount, currency)}")
            for pk, sku, name, amount, currency, tax_rate in rows
        ]
        return format_html_join(
            "", '<option value="{}" data-price="{}" data-currency="{}" data-tax="{}" data-name="{}"{}>{}</option>',
            options,
        )

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        if data["kind"] != LineKind.ITEM:
            return {"kind": data["kind"], "description": data["description"]}
        return {
            "product": data["product"],
            "description": data["description"],
            "quantity": data["quantity"],
            "unit_price": data["unit_price"],
            "discount_percent": data["discount_percent"] or Decimal(0),
            "discount_amount": data.get("discount_amount") or Decimal(0),
            "tax_rate": data["tax_rate"],
        }


class QuoteLineEditForm(BootstrapForm):
    """The inline editor of one line: item lines change amounts, headings and notes only their text."""

    description = forms.CharField(label=_("Description"), max_length=255)
    quantity = forms.DecimalField(label=_("Quantity"), max_digits=12, decimal_places=3, min_value=Decimal("0.001"),
                                  required=False)
    unit_price = forms.DecimalField(label=_("Unit price"), max_digits=14, decimal_places=4, min_value=Decimal(0),
                                    required=False)
    discount_percent = forms.DecimalField(label=_("Discount (%)"), max_digits=5, decimal_places=2, required=False,
                                          min_value=Decimal(0), max_value=Decimal(100))
    discount_amount = forms.DecimalField(label=_("Discount (amount)"), max_digits=14, decimal_places=2,
                                         required=False, min_value=Decimal(0))

    def __init__(self, *args: Any, line: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {
            "description": line.description, "quantity": line.quantity.normalize(),
            "unit_price": line.unit_price.amount.normalize(), "discount_percent": line.discount_percent.normalize(),
            "discount_amount": line.discount_amount.normalize(),
        })
        super().__init__(*args, **kwargs)
        self.line = line
        if line.kind == LineKind.ITEM:
            self.fields["quantity"].required = True
            self.fields["unit_price"].required = True
        for field in self.fields.values():
            field.widget.attrs["class"] += " form-control-sm"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("discount_percent") and data.get("discount_amount"):
            self.add_error("discount_amount", _("Give either a percentage or an amount, not both."))
        return data

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        if self.line.kind != LineKind.ITEM:
            return {"description": data["description"]}
        return {
            "description": data["description"], "quantity": data["quantity"], "unit_price": data["unit_price"],
            "discount_percent": data.get("discount_percent") or Decimal(0),
            "discount_amount": data.get("discount_amount") or Decimal(0),
        }


class ReorderForm(forms.Form):
    line = forms.TypedMultipleChoiceField(coerce=int, choices=())

    def __init__(self, *args: Any, quote: Quote, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["line"].choices = [(pk, pk) for pk in quote.lines.values_list("pk", flat=True)]


class AcceptForm(BootstrapForm):
    """The customer's acceptance on the public quote page."""

    name = forms.CharField(label=_("Your full name"), max_length=200)
    email = forms.EmailField(label=_("Your e-mail"), required=False)
    confirm = forms.BooleanField(label=_("I accept this quote and its terms."), required=True,
                                 error_messages={"required": _("Tick the box to accept the quote.")})
    pdf_sha256 = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)


class CustomerRejectForm(BootstrapForm):
    name = forms.CharField(label=_("Your name"), max_length=200, required=False)
    comment = forms.CharField(label=_("Why are you declining? (optional)"), required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 3}))


class ReasonForm(BootstrapForm):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), required=False,
                             max_length=2000)
