"""Forms of the lead pages (and small forms the opportunity pages share: activity, styling)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from crm.models import ActivityKind, User
from crm.security import validate_upload
from leads.imports import MAX_BYTES
from leads.models import DisqualificationReason, Lead, LeadSource, LeadState
from leads.selectors import LEAD_SORTS, assignable_owners, lead_duplicates


class StyledForm(forms.Form):
    """Adds Bootstrap classes to every widget, so templates can render fields in one loop."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        style(self)


def style(form: forms.BaseForm) -> None:
    for field in form.fields.values():
        widgets = getattr(field.widget, "widgets", [field.widget])
        for widget in widgets:
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()


def blank_choice(choices: list[tuple[str, Any]], label: Any) -> list[tuple[str, Any]]:
    return [("", label), *choices]


class LeadFilterForm(StyledForm):
    q = forms.CharField(label=_("Search"), required=False)
    state = forms.ChoiceField(
        label=_("Status"), required=False, choices=blank_choice(LeadState.choices, _("All statuses"))
    )
    source = forms.ChoiceField(
        label=_("Source"), required=False, choices=blank_choice(LeadSource.choices, _("All sources"))
    )
    mine = forms.BooleanField(label=_("Only mine"), required=False)
    sort = forms.ChoiceField(required=False, choices=[(key, key) for key in LEAD_SORTS])

    def filters(self) -> dict[str, Any]:
        """The cleaned filters; an invalid value (a stale bookmark) is ignored rather than an error page."""
        if not self.is_valid():
            return {"q": (self.data.get("q") or "").strip()}
        data = self.cleaned_data
        return {
            "q": data["q"].strip(), "state": data["state"], "source": data["source"], "mine": data["mine"],
            "sort": data["sort"] or "-created",
        }


class LeadForm(forms.ModelForm):
    save_anyway = forms.BooleanField(
        label=_("Save anyway: this is not a duplicate"), required=False,
    )

    class Meta:
        model = Lead
        fields = [
            "first_name", "last_name", "email", "phone", "company", "title", "source", "country", "owner", "notes",
        ]
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = assignable_owners(user)
        self.fields["owner"].empty_label = None
        if not self.instance.pk:
            self.fields["owner"].initial = user.pk
        self.fields["first_name"].widget.attrs["autofocus"] = True
        self.user = user
        self.duplicates: list = []
        style(self)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        email = data.get("email") or ""
        if email and "email" in self.changed_data:
            self.duplicates = lead_duplicates(user=self.user, email=email, exclude_pk=self.instance.pk)
        if self.duplicates and not data.get("save_anyway"):
            # Shown before anything is saved: the seller decides with the matches in front of them.
            raise forms.ValidationError(
                _("This lead may already exist (see below). Check the matches, or tick “Save anyway”."),
                code="duplicate",
            )
        data.pop("save_anyway", None)
        return data


class DisqualifyForm(StyledForm):
    reason = forms.ChoiceField(label=_("Reason"), choices=[])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].choices = blank_choice(DisqualificationReason.choices(), _("Choose a reason…"))


class QualifyForm(StyledForm):
    name = forms.CharField(
        label=_("Deal name"), max_length=200, required=False,
        help_text=_("Leave empty to name the deal after the account."),
    )
    amount = forms.DecimalField(label=_("Amount"), required=False, min_value=0, max_digits=14, decimal_places=2)
    currency = forms.ChoiceField(
        label=_("Currency"), choices=settings.CURRENCY_CHOICES, initial=settings.DEFAULT_CURRENCY
    )
    expected_close_date = forms.DateField(
        label=_("Expected close date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs["autofocus"] = True


class ActivityForm(StyledForm):
    kind = forms.ChoiceField(label=_("Type"), choices=ActivityKind.choices, initial=ActivityKind.NOTE)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(label=_("Details"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ImportUploadForm(StyledForm):
    file = forms.FileField(
        label=_("CSV or Excel file"),
        help_text=_("First row with column names; UTF-8 or Windows-1252, separated by ; or , — or an .xlsx file. "
                    "Up to 10 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].widget.attrs["autofocus"] = True

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        # Same limit as the import itself, checked here so the user gets a form error, not a failed job.
        validate_upload(upload, extensions=["csv", "txt", "xlsx"], max_bytes=MAX_BYTES)
        return upload


class ImportMappingForm(StyledForm):
    """One select per column of the file (detected field preselected), the mode and the owner."""

    mode = forms.ChoiceField(
        label=_("When a row has an error"), widget=forms.RadioSelect, initial="all",
        choices=[("all", _("Import nothing (all or nothing) — fix the file and upload again")),
                 ("skip", _("Skip the bad rows and import the others"))],
    )
    owner = forms.ModelChoiceField(
        label=_("Owner of the new leads"), queryset=User.objects.none(), required=False,
        empty_label=_("Assignment rules decide (else me)"),
    )

    def __init__(self, *args: Any, headers: list[str], mapping: dict[str, str], user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from leads.imports import TARGET_FIELDS

        self.headers = headers
        choices = [("", _("— ignore —")), *TARGET_FIELDS.items()]
        for index, header in enumerate(headers):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=header or _("(column %(n)d)") % {"n": index + 1}, choices=choices, required=False,
                initial=mapping.get(header, ""),
            )
        self.fields["owner"].queryset = assignable_owners(user)
        style(self)
        self.fields["mode"].widget.attrs["class"] = "form-check-input"

    def column_fields(self) -> list[forms.BoundField]:
        return [self[f"col_{i}"] for i in range(len(self.headers))]

    def mapping(self) -> dict[str, str]:
        return {h: self.cleaned_data.get(f"col_{i}") or "" for i, h in enumerate(self.headers)}


class QuickLeadForm(StyledForm):
    name = forms.CharField(label=_("Name"), max_length=200)
    company = forms.CharField(label=_("Company"), max_length=200, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    phone = forms.CharField(label=_("Phone"), max_length=50, required=False)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs.update(autofocus=True, autocomplete="off", autocapitalize="words")
        self.fields["email"].widget.attrs.update(inputmode="email", autocomplete="off")
        self.fields["phone"].widget.attrs.update(type="tel", inputmode="tel", autocomplete="off")


class ReassignForm(StyledForm):
    owner = forms.ModelChoiceField(label=_("New owner"), queryset=User.objects.none(), empty_label=None)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = assignable_owners(user)
