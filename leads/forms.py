"""Forms of the lead pages (and small forms the opportunity pages share: activity, styling)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from crm.models import ActivityKind, User
from crm.security import validate_upload
from leads.imports import MAX_BYTES
from leads.matching import Candidate, Matches, account_values, contact_values, merge_rows
from leads.models import DisqualificationReason, Lead, LeadSource, LeadState
from leads.selectors import LEAD_SORTS, assignable_owners, lead_duplicates
from opportunities.models import Stage


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
    archived = forms.BooleanField(label=_("Archived"), required=False)
    sort = forms.ChoiceField(required=False, choices=[(key, key) for key in LEAD_SORTS])

    def filters(self) -> dict[str, Any]:
        """The cleaned filters; an invalid value (a stale bookmark) is ignored rather than an error page."""
        if not self.is_valid():
            return {"q": (self.data.get("q") or "").strip()}
        data = self.cleaned_data
        return {
            "q": data["q"].strip(), "state": data["state"], "source": data["source"], "mine": data["mine"],
            "archived": data["archived"], "sort": data["sort"] or "-created",
        }


class LeadForm(forms.ModelForm):
    save_anyway = forms.BooleanField(
        label=_("Save anyway: this is not a duplicate"), required=False,
    )

    class Meta:
        model = Lead
        fields = [
            "first_name", "last_name", "email", "phone", "company", "title", "source", "country", "vat_id",
            "registration_number", "owner", "notes",
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


NEW = "new"
KEEP, TAKE = "existing", "lead"


class QualifyForm(StyledForm):
    """The merge preview: for the account and for the contact, create new or link to a match; for a link, which
    differing fields take the lead's value. Defaults keep an existing non-empty value."""

    account_choice = forms.ChoiceField(label=_("Account"), widget=forms.RadioSelect)
    contact_choice = forms.ChoiceField(label=_("Contact"), widget=forms.RadioSelect)
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
    stage = forms.ModelChoiceField(label=_("Pipeline stage"), queryset=Stage.objects.none(), empty_label=None)

    def __init__(self, *args: Any, lead: Lead, matches: Matches, stages: list[Stage], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lead, self.matches = lead, matches
        company = lead.company.strip() or lead.full_name
        self.fields["account_choice"].choices = [
            (NEW, _("Create new account “%(name)s”") % {"name": company}),
            *[(str(c.pk), _("Link to %(account)s") % {"account": c.record}) for c in matches.accounts],
        ]
        self.fields["contact_choice"].choices = [
            (NEW, _("Create new contact “%(name)s”") % {"name": lead.full_name}),
            *[(str(c.pk), _("Link to %(contact)s") % {"contact": c.record}) for c in matches.contacts],
        ]
        best_account, best_contact = matches.best_account(), matches.best_contact()
        self.fields["account_choice"].initial = str(best_account.pk) if best_account else NEW
        self.fields["contact_choice"].initial = str(best_contact.pk) if best_contact else NEW
        self._rows: dict[str, list[str]] = {}
        for prefix, candidates, offered in (
            ("account", matches.accounts, account_values(lead)),
            ("contact", matches.contacts, contact_values(lead)),
        ):
            for candidate in candidates:
                key = f"{prefix}_{candidate.pk}"
                self._rows[key] = []
                for field_name, current, lead_value in merge_rows(candidate.record, offered):
                    form_field = f"{key}__{field_name}"
                    self._rows[key].append(form_field)
                    self.fields[form_field] = forms.ChoiceField(
                        label=candidate.record._meta.get_field(field_name).verbose_name,
                        choices=[(KEEP, current or "—"), (TAKE, lead_value)],
                        initial=KEEP if current else TAKE,
                        widget=forms.RadioSelect,
                        required=False,
                    )
        self.fields["stage"].queryset = Stage.objects.filter(pk__in=[s.pk for s in stages]).order_by("order", "pk")
        self.fields["stage"].initial = stages[0].pk if stages else None
        self.fields["name"].initial = _("%(company)s deal") % {"company": company}
        for field in self.fields.values():
            if isinstance(field.widget, forms.RadioSelect):
                field.widget.attrs["class"] = "form-check-input"

    def _options(self, prefix: str, candidates: list[Candidate]) -> list[dict[str, Any]]:
        """Each radio of the choice with its candidate (None: create new) and its merge rows, for the template."""
        choice = self[f"{prefix}_choice"]
        options: list[tuple[Candidate | None, list[str]]] = [(None, [])]
        options += [(c, self._rows[f"{prefix}_{c.pk}"]) for c in candidates]
        return [
            {"radio": radio, "candidate": candidate, "rows": [self[f] for f in rows]}
            for radio, (candidate, rows) in zip(choice, options, strict=True)
        ]

    def account_options(self) -> list[dict[str, Any]]:
        return self._options("account", self.matches.accounts)

    def contact_options(self) -> list[dict[str, Any]]:
        return self._options("contact", self.matches.contacts)

    def _taken(self, prefix: str, choice: str) -> list[str]:
        fields = self._rows.get(f"{prefix}_{choice}", [])
        # A row left unanswered (a script posting only the choices) gets the default the page shows.
        return [f.rpartition("__")[2] for f in fields if (self.cleaned_data.get(f) or self.fields[f].initial) == TAKE]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        account_choice, contact_choice = data.get("account_choice"), data.get("contact_choice")
        if account_choice is None or contact_choice is None:
            return data
        account = None if account_choice == NEW else self.matches.account(int(account_choice)).record
        contact = None if contact_choice == NEW else self.matches.contact(int(contact_choice)).record
        if contact is not None and (account is None or contact.account_id != account.pk):
            self.add_error(
                "contact_choice",
                _("%(contact)s works for %(account)s: link that account too, or create a new contact.")
                % {"contact": contact, "account": contact.account},
            )
        data["account"], data["contact"] = account, contact
        data["account_fields_from_lead"] = self._taken("account", account_choice)
        data["contact_fields_from_lead"] = self._taken("contact", contact_choice)
        return data

    def service_kwargs(self) -> dict[str, Any]:
        """What opportunity_create_from_lead needs, from the cleaned data."""
        names = (
            "name", "amount", "currency", "expected_close_date", "stage", "account", "contact",
            "account_fields_from_lead", "contact_fields_from_lead",
        )
        return {name: self.cleaned_data[name] for name in names}


class ActivityForm(StyledForm):
    """Log an activity on a lead or deal, or plan one with a due date (a to-do under "Open activities" and in "My
    next activities" until ticked off)."""

    kind = forms.ChoiceField(label=_("Type"), choices=ActivityKind.choices, initial=ActivityKind.NOTE)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    due_at = forms.DateTimeField(
        label=_("Due"), required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )
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
