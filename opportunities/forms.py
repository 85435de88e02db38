"""Forms of the opportunity pages and the kanban board."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.models import Contact, Team, User
from leads.forms import StyledForm, blank_choice, style
from leads.selectors import assignable_owners, user_teams
from opportunities.models import Competitor, ContactRole, LostReason, Opportunity, OpportunityState, Stage
from opportunities.selectors import OPPORTUNITY_SORTS, lost_reasons_for, pipeline_stages, visible_accounts


class StageChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Stage) -> str:
        # Teams may name their stages alike; the filter lists every pipeline at once.
        return f"{obj.team} · {obj}" if obj.team_id else str(obj)


class OpportunityFilterForm(StyledForm):
    q = forms.CharField(label=_("Search"), required=False)
    state = forms.ChoiceField(
        label=_("Status"), required=False, choices=blank_choice(OpportunityState.choices, _("All statuses"))
    )
    stage = StageChoiceField(
        label=_("Stage"), required=False, empty_label=_("All stages"),
        queryset=Stage.objects.select_related("team").order_by("team__name", "order", "pk"),
    )
    mine = forms.BooleanField(label=_("Only mine"), required=False)
    archived = forms.BooleanField(label=_("Archived"), required=False)
    sort = forms.ChoiceField(required=False, choices=[(key, key) for key in OPPORTUNITY_SORTS])

    def filters(self) -> dict[str, Any]:
        """The cleaned filters; an invalid value (a stale bookmark) is ignored rather than an error page."""
        if not self.is_valid():
            return {"q": (self.data.get("q") or "").strip()}
        data = self.cleaned_data
        return {
            "q": data["q"].strip(), "state": data["state"], "stage": data["stage"], "mine": data["mine"],
            "archived": data["archived"], "sort": data["sort"] or "-created",
        }


class OpportunityForm(forms.ModelForm):
    class Meta:
        model = Opportunity
        fields = ["account", "name", "amount", "expected_close_date", "stage", "description"]
        widgets = {
            "expected_close_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "description": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, user: User, team: Team | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = visible_accounts(user)
        self.fields["account"].empty_label = _("Choose an account…")
        stage_ids = [s.pk for s in pipeline_stages(team)]
        self.fields["stage"].queryset = Stage.objects.filter(pk__in=stage_ids).order_by("order", "pk")
        self.fields["stage"].empty_label = None
        first = "name" if self.instance.pk or self.initial.get("account") else "account"
        self.fields[first].widget.attrs["autofocus"] = True
        style(self)


class MoveForm(forms.Form):
    """A stage change, from the kanban drop or the stage select of the record page."""

    stage = forms.ModelChoiceField(queryset=Stage.objects.all(), label=_("Stage"))


class LoseForm(StyledForm):
    # Whether a reason is mandatory is the team's setting, enforced by services.opportunity_lose.
    reason = forms.ModelChoiceField(
        label=_("Reason"), queryset=LostReason.objects.none(), required=False, empty_label=_("Choose a reason…")
    )
    lost_to = forms.ModelChoiceField(
        label=_("Lost to competitor"), queryset=Competitor.objects.all(), required=False, empty_label=_("—")
    )
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, team: Team | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].queryset = lost_reasons_for(team)



DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class BoardFilterForm(StyledForm):
    """The kanban's filters; they live in the URL (GET), so a filtered board can be bookmarked and shared."""

    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False, empty_label=None)
    owner = forms.ModelChoiceField(
        label=_("Owner"), queryset=User.objects.none(), required=False, empty_label=_("All owners")
    )
    close_from = forms.DateField(label=_("Closing from"), required=False, widget=DATE)
    close_to = forms.DateField(label=_("Closing until"), required=False, widget=DATE)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = user_teams(user)
        self.fields["owner"].queryset = assignable_owners(user)

    def filters(self) -> dict[str, Any]:
        """Cleaned filters; a stale or tampered value is dropped rather than shown as an error page."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {name: data.get(name) for name in ("team", "owner", "close_from", "close_to")}


class ActivityDoneForm(forms.Form):
    done = forms.BooleanField(required=False)


class ChecklistTickForm(forms.Form):
    done = forms.BooleanField(required=False)


class ValueForm(forms.ModelForm):
    """The "demonstrate value" facts of a deal, edited inline on its page."""

    class Meta:
        model = Opportunity
        fields = [
            "requirements", "budget_confirmed", "budget", "swot_strengths", "swot_weaknesses", "swot_opportunities",
            "swot_threats",
        ]
        widgets = {name: forms.Textarea(attrs={"rows": 2}) for name in fields if name.startswith(("swot", "req"))}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["requirements"].widget.attrs["autofocus"] = True
        style(self)


class CommitteeForm(StyledForm):
    contact = forms.ModelChoiceField(label=_("Contact"), queryset=Contact.objects.none(), empty_label=_("Choose…"))
    role = forms.ChoiceField(label=_("Role"), choices=ContactRole.choices)

    def __init__(self, *args: Any, opportunity: Opportunity, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = Contact.objects.filter(account_id=opportunity.account_id)


class CompetitorForm(StyledForm):
    competitor = forms.ModelChoiceField(
        label=_("Competitor"), queryset=Competitor.objects.all(), required=False, empty_label=_("New competitor…")
    )
    name = forms.CharField(label=_("New competitor's name"), required=False, max_length=200)
    strengths = forms.CharField(label=_("Their strengths"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    weaknesses = forms.CharField(
        label=_("Their weaknesses"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ReportFilterForm(StyledForm):
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.none(), required=False, empty_label=None
    )
    date_from = forms.DateField(label=_("From"), required=False, widget=DATE)
    date_to = forms.DateField(label=_("Until"), required=False, widget=DATE)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = user_teams(user)

    def filters(self) -> dict[str, Any]:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {name: data.get(name) for name in ("team", "date_from", "date_to")}
