"""Seller pages for opportunities and the kanban pipeline. Thin: scope, validate, call one service, redirect."""

from __future__ import annotations

import csv
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.messages import get_messages
from django.db.models import prefetch_related_objects
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm import selectors as crm_selectors
from crm.history import history_limit, timeline
from crm.idempotency import submit_once
from crm.models import Activity, User
from crm.views import attempt, get_visible, paginate
from crm.workflow import DomainError
from leads.forms import ActivityForm
from leads.selectors import user_teams
from leads.services import activity_log, default_team_for
from opportunities import forecast as forecasting
from opportunities import reports, selectors, services
from opportunities.forms import (
    ActivityDoneForm,
    BoardFilterForm,
    ChecklistTickForm,
    CommitteeForm,
    CompetitorForm,
    LoseForm,
    MoveForm,
    OpportunityFilterForm,
    OpportunityForm,
    ReportFilterForm,
    ValueForm,
)
from opportunities.models import (
    Opportunity,
    OpportunityCompetitor,
    OpportunityContact,
    StageChecklistItem,
)
from opportunities.selectors import BoardFilters
from quotes.selectors import quote_chains


@login_required
def opportunity_list(request: HttpRequest) -> HttpResponse:
    filter_form = OpportunityFilterForm(request.GET or None)
    filters = filter_form.filters()
    page_obj = paginate(request, selectors.opportunity_search(user=request.user, **filters))
    return render(
        request, "opportunities/list.html",
        {"filter_form": filter_form, "page_obj": page_obj, "opportunities": page_obj.object_list,
         "sort": filters.get("sort", "-created"), "filtered": any(v for k, v in filters.items() if k != "sort")},
    )


def _board_filters(user: User, data: QueryDict) -> tuple[BoardFilterForm, BoardFilters]:
    """The board's filters from the URL. The team defaults to the user's first; a team that is not theirs is a 404,
    like any record outside their scope."""
    form = BoardFilterForm(data, user=user)
    values = form.filters()
    teams = list(form.fields["team"].queryset)
    team = values["team"]
    if data.get("team") and team is None:
        raise Http404(_("No such team."))
    team = team or (teams[0] if teams else None)
    filters = BoardFilters(
        team=team, owner=values["owner"], close_from=values["close_from"], close_to=values["close_to"],
        stages=selectors.pipeline_stages(team),
    )
    form.teams = teams
    return form, filters


def _filter_query(filters: BoardFilters) -> str:
    """The filters as a query string, carried by the load-more and totals requests of the board."""
    params = {
        "team": filters.team.pk if filters.team else "",
        "owner": filters.owner.pk if filters.owner else "",
        "close_from": filters.close_from.isoformat() if filters.close_from else "",
        "close_to": filters.close_to.isoformat() if filters.close_to else "",
    }
    return urlencode({key: value for key, value in params.items() if value})


def _board_context(user: User, filters: BoardFilters) -> dict:
    return {
        "team": filters.team,
        "columns": selectors.board_columns(user=user, filters=filters, now=timezone.now()),
        "filter_query": _filter_query(filters),
    }


@login_required
def opportunity_board(request: HttpRequest) -> HttpResponse:
    form, filters = _board_filters(request.user, request.GET)
    filtered = any([filters.owner, filters.close_from, filters.close_to])
    return render(
        request, "opportunities/board.html",
        {**_board_context(request.user, filters), "filter_form": form, "teams": form.teams, "filtered": filtered},
    )


@login_required
def opportunity_board_totals(request: HttpRequest) -> HttpResponse:
    """Column headers (count, total, weighted): a second request, so the cards paint before any aggregate runs."""
    _form, filters = _board_filters(request.user, request.GET)
    return render(request, "opportunities/_board_totals.html",
                  {"totals": selectors.board_totals(user=request.user, filters=filters)})


@login_required
def opportunity_board_column(request: HttpRequest, stage_id: int) -> HttpResponse:
    """The next page of one column (htmx "load more" / infinite scroll), by keyset cursor."""
    _form, filters = _board_filters(request.user, request.GET)
    stage = next((s for s in filters.stages if s.pk == stage_id), None)
    if stage is None:
        raise Http404(_("No such stage."))
    after = selectors.decode_cursor(request.GET.get("after", ""))
    cards, cursor = selectors.board_column_page(
        deals=selectors.board_base(user=request.user, filters=filters, stage=stage), after=after, now=timezone.now()
    )
    return render(request, "opportunities/_column_page.html",
                  {"column": {"stage": stage, "cards": cards, "cursor": cursor},
                   "filter_query": _filter_query(filters)})


@login_required
@require_POST
def opportunity_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Stage change: a kanban drop (htmx/fetch: answers with the re-rendered columns, or 4xx + message) or the
    stage select of the record page (a plain form: flash and redirect)."""
    opportunity = get_visible(Opportunity, request.user, pk)
    form = MoveForm(request.POST)
    if request.htmx:
        if not form.is_valid():
            return HttpResponse(_("Choose a stage."), status=400, content_type="text/plain; charset=utf-8")
        try:
            services.opportunity_move_stage(opportunity=opportunity, stage=form.cleaned_data["stage"],
                                            actor=request.user)
        except DomainError as exc:
            return HttpResponse(str(exc), status=409, content_type="text/plain; charset=utf-8")
        data = request.POST.copy()
        data.setdefault("team", str(opportunity.team_id or ""))
        _form, filters = _board_filters(request.user, data)
        return render(request, "opportunities/_board_columns.html", _board_context(request.user, filters))
    if form.is_valid():
        attempt(request, services.opportunity_move_stage, opportunity=opportunity, stage=form.cleaned_data["stage"],
                actor=request.user, success=_("Stage changed."))
    else:
        messages.error(request, _("Choose a stage."))
    return redirect(opportunity)


@login_required
@submit_once
def opportunity_create(request: HttpRequest) -> HttpResponse:
    # ?account= comes from a customer's page ("New deal"); an account the user cannot see is simply not offered.
    form = OpportunityForm(request.POST or None, user=request.user, team=default_team_for(request.user),
                           initial={"account": request.GET.get("account")})
    if request.method == "POST" and form.is_valid():
        opportunity = attempt(request, services.opportunity_create, actor=request.user, **form.cleaned_data)
        if opportunity is not None:
            messages.success(request, _("Opportunity %(opp)s created.") % {"opp": opportunity})
            return redirect(opportunity)
    return render(request, "opportunities/form.html", {"form": form, "opportunity": None})


@login_required
def opportunity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = get_visible(Opportunity, request.user, pk)
    form = OpportunityForm(request.POST or None, instance=opportunity, user=request.user, team=opportunity.team)
    if request.method == "POST" and form.is_valid():
        if attempt(request, services.opportunity_update, opportunity=opportunity, actor=request.user,
                   **form.cleaned_data, success=_("Changes saved.")):
            return redirect(opportunity)
        opportunity.refresh_from_db()
    return render(request, "opportunities/form.html", {"form": form, "opportunity": opportunity})


def _choices_once(field: forms.ModelChoiceField, objects: list | None = None) -> list:
    """Fix a select's options as a list: a template looping over a ModelChoiceField's choices runs a COUNT and
    a SELECT, and two forms offering the same records would each run their own."""
    if objects is None:
        objects = list(field.queryset)
    field.choices = [*([("", field.empty_label)] if field.empty_label is not None else []),
                     *((obj.pk, field.label_from_instance(obj)) for obj in objects)]
    return objects


def _detail_context(request: HttpRequest, opportunity: Opportunity, *, competitors: list | None = None) -> dict:
    committee_form, competitor_form = CommitteeForm(opportunity=opportunity), CompetitorForm()
    _choices_once(committee_form.fields["contact"])
    _choices_once(competitor_form.fields["competitor"], competitors)
    return {
        "opp": opportunity,
        "criteria": selectors.stage_criteria(opportunity=opportunity, stage=opportunity.stage),
        "value_form": ValueForm(instance=opportunity),
        "committee_form": committee_form,
        "competitor_form": competitor_form,
    }


def _reload(pk: int) -> Opportunity:
    return selectors.opportunity_detail_queryset().get(pk=pk)


@login_required
def opportunity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = get_visible(Opportunity, request.user, pk, selectors.opportunity_detail_queryset())
    lose_form = LoseForm(team=opportunity.team)
    competitors = _choices_once(lose_form.fields["lost_to"])  # one query for both competitor selects
    return render(
        request, "opportunities/detail.html",
        {
            **_detail_context(request, opportunity, competitors=competitors),
            "stages": selectors.pipeline_stages(opportunity.team),
            "quote_chains": quote_chains(opportunity.quotes.visible_to(request.user).order_by("-created_at", "-pk")),
            "lose_form": lose_form,
            "lost_reason_required": selectors.lost_reason_required(opportunity.team),
            "activity_form": ActivityForm(),
            "planned": crm_selectors.open_activities_of(opportunity),
            "now": timezone.now(),
            "history": timeline(opportunity, sources=[selectors.stage_history_source(opportunity)],
                                limit=history_limit(request)),
        },
    )


def _section(request: HttpRequest, opportunity: Opportunity, template: str, anchor: str) -> HttpResponse:
    """After an inline edit: the re-rendered section for htmx, else back to the record page (POST/redirect/GET).
    Messages are shown in place for htmx, so they are read here rather than left for the next page."""
    if request.htmx:
        context = {**_detail_context(request, _reload(opportunity.pk)), "inline_messages": list(get_messages(request))}
        return render(request, template, context)
    return redirect(reverse("opportunities:detail", args=[opportunity.pk]) + anchor)


@login_required
@require_POST
def opportunity_checklist_tick(request: HttpRequest, pk: int, item_id: int) -> HttpResponse:
    opportunity = get_visible(Opportunity, request.user, pk)
    item = get_object_or_404(StageChecklistItem, pk=item_id)
    form = ChecklistTickForm(request.POST)
    form.is_valid()
    attempt(request, services.opportunity_checklist_tick, opportunity=opportunity, item=item, actor=request.user,
            done=form.cleaned_data.get("done", False))
    return _section(request, opportunity, "opportunities/_criteria.html", "#criteria")


@login_required
def opportunity_value_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Inline edit of the "demonstrate value" facts: GET the form (htmx swaps it in), POST saves."""
    opportunity = get_visible(Opportunity, request.user, pk, selectors.opportunity_detail_queryset())
    form = ValueForm(request.POST or None, instance=opportunity)
    if request.method == "POST":
        if form.is_valid() and attempt(request, services.opportunity_update, opportunity=opportunity,
                                       actor=request.user, **form.cleaned_data, success=_("Changes saved.")):
            return _section(request, opportunity, "opportunities/_value.html", "#value")
        opportunity.refresh_from_db()
    template = "opportunities/_value_form.html" if request.htmx else "opportunities/value_form.html"
    return render(request, template, {"opp": opportunity, "value_form": form})


@login_required
@require_POST
def opportunity_committee_add(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = get_visible(Opportunity, request.user, pk)
    form = CommitteeForm(request.POST, opportunity=opportunity)
    if form.is_valid():
        attempt(request, services.opportunity_committee_add, opportunity=opportunity, actor=request.user,
                **form.cleaned_data, success=_("Added to the buying committee."))
    else:
        messages.error(request, _("Choose a contact of this account and their role."))
    return _section(request, opportunity, "opportunities/_value.html", "#value")


@login_required
@require_POST
def opportunity_committee_remove(request: HttpRequest, pk: int, member_id: int) -> HttpResponse:
    opportunity = get_visible(Opportunity, request.user, pk)
    member = get_object_or_404(OpportunityContact, pk=member_id, opportunity=opportunity)
    attempt(request, services.opportunity_committee_remove, opportunity=opportunity, member=member,
            actor=request.user, success=_("Removed from the buying committee."))
    return _section(request, opportunity, "opportunities/_value.html", "#value")


@login_required
@require_POST
def opportunity_competitor_add(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = get_visible(Opportunity, request.user, pk)
    form = CompetitorForm(request.POST)
    if form.is_valid():
        attempt(request, services.opportunity_competitor_add, opportunity=opportunity, actor=request.user,
                **form.cleaned_data, success=_("Competitor noted."))
    else:
        messages.error(request, _("Choose a competitor or type its name."))
    return _section(request, opportunity, "opportunities/_value.html", "#value")


@login_required
@require_POST
def opportunity_competitor_remove(request: HttpRequest, pk: int, entry_id: int) -> HttpResponse:
    opportunity = get_visible(Opportunity, request.user, pk)
    entry = get_object_or_404(OpportunityCompetitor, pk=entry_id, opportunity=opportunity)
    attempt(request, services.opportunity_competitor_remove, opportunity=opportunity, entry=entry,
            actor=request.user, success=_("Competitor removed."))
    return _section(request, opportunity, "opportunities/_value.html", "#value")


@login_required
def stage_document(request: HttpRequest, pk: int) -> FileResponse:
    """Stage documents are internal sales material: served only to those who work in the stage's pipeline,
    never from public media. Another team's document is a 404, as if it did not exist."""
    document = get_object_or_404(selectors.stage_documents_visible_to(request.user), pk=pk)
    try:
        handle = document.file.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404(_("The file is missing.")) from exc
    return FileResponse(handle, as_attachment=True, filename=document.file.name.rpartition("/")[2])


@login_required
@require_POST
def opportunity_win(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = get_visible(Opportunity, request.user, pk)
    attempt(request, services.opportunity_win, opportunity=opportunity, actor=request.user,
            success=_("Deal won. Congratulations!"))
    return redirect(opportunity)


@login_required
@require_POST
def opportunity_lose(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = get_visible(Opportunity, request.user, pk)
    form = LoseForm(request.POST, team=opportunity.team)
    if not form.is_valid():
        messages.error(request, _("Choose why this deal was lost."))
        return redirect(opportunity)
    attempt(request, services.opportunity_lose, opportunity=opportunity, actor=request.user,
            success=_("Deal marked as lost."), **form.cleaned_data)
    return redirect(opportunity)


@login_required
@require_POST
def opportunity_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = get_visible(Opportunity, request.user, pk)
    attempt(request, services.opportunity_reopen, opportunity=opportunity, actor=request.user,
            success=_("Deal reopened."))
    return redirect(opportunity)


@login_required
@require_POST
@submit_once
def opportunity_log_activity(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = get_visible(Opportunity, request.user, pk)
    form = ActivityForm(request.POST)
    if form.is_valid():
        attempt(request, activity_log, target=opportunity, actor=request.user, **form.cleaned_data,
                success=_("Activity saved."))
    else:
        messages.error(request, _("Give the activity a subject."))
    return redirect(reverse("opportunities:detail", args=[opportunity.pk]) + "#activity")


# --- my next activities ----------------------------------------------------------------------------------------

@login_required
def my_activities(request: HttpRequest) -> HttpResponse:
    show_done = request.GET.get("show") == "done"
    page_obj = paginate(request, crm_selectors.my_activities(user=request.user, done=show_done))
    # One query per kind of record on the page (opportunities, leads, …), not one per activity.
    prefetch_related_objects(page_obj.object_list, "target")
    return render(request, "opportunities/activities.html",
                  {"page_obj": page_obj, "activities": page_obj.object_list, "show_done": show_done,
                   "now": timezone.now()})


@login_required
@require_POST
def activity_done(request: HttpRequest, pk: int) -> HttpResponse:
    activity = get_object_or_404(Activity, pk=pk, owner=request.user)  # someone else's activity: 404
    form = ActivityDoneForm(request.POST)
    form.is_valid()
    activity = attempt(request, services.activity_set_done, activity=activity, actor=request.user,
                       done=form.cleaned_data.get("done", False)) or activity
    if request.htmx:
        list(get_messages(request))  # the row itself shows the new state
        show_target = request.POST.get("next", "").startswith(reverse("opportunities:activities"))
        return render(request, "crm/_activity_row.html",
                      {"activity": activity, "now": timezone.now(), "show_target": show_target})
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("opportunities:activities")
    return redirect(target)


# --- forecast ------------------------------------------------------------------------------------------------

@login_required
def sales_forecast(request: HttpRequest) -> HttpResponse:
    teams = list(user_teams(request.user))
    chosen = request.GET.get("team")
    team = next((t for t in teams if str(t.pk) == chosen), None) if chosen else (teams[0] if teams else None)
    if chosen and team is None:
        raise Http404(_("No such team."))
    today = timezone.localdate()
    period = forecasting.parse_period(request.GET.get("period"), today)
    periods = forecasting.period_choices(today)
    if period.key not in {p.key for p in periods}:  # a period reached by URL is offered too
        periods.insert(0, period)
    result = forecasting.sales_forecast(user=request.user, team=team, period=period, today=today)
    return render(request, "opportunities/forecast.html",
                  {"forecast": result, "teams": teams, "periods": periods})


@login_required
def my_quarter(request: HttpRequest) -> HttpResponse:
    """The home page's card, loaded after the first paint: the seller's quarter against their target."""
    if not request.user.has_perm("opportunities.view_opportunity"):
        return HttpResponse(status=204)  # nothing to show (an accountant)
    today = timezone.localdate()
    period = forecasting.parse_period(None, today)
    row = forecasting.personal_forecast(user=request.user, period=period, today=today)
    return render(request, "opportunities/_my_quarter.html", {"row": row, "period": period})


# --- pipeline report -------------------------------------------------------------------------------------------

@login_required
def pipeline_report(request: HttpRequest) -> HttpResponse:
    form = ReportFilterForm(request.GET or None, user=request.user)
    values = form.filters()
    teams = list(form.fields["team"].queryset)
    if request.GET.get("team") and values["team"] is None:
        raise Http404(_("No such team."))
    team = values["team"] or (teams[0] if teams else None)
    report = reports.pipeline_report(
        user=request.user, team=team, date_from=values["date_from"], date_to=values["date_to"]
    )
    if request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="pipeline-{report.date_from.isoformat()}-{report.date_to.isoformat()}.csv"'
        )
        response.write("\ufeff")  # lets spreadsheet programs detect UTF-8
        csv.writer(response).writerows(reports.report_csv_rows(report))
        return response
    query = request.GET.copy()
    query["format"] = "csv"
    return render(request, "opportunities/report.html",
                  {"form": form, "report": report, "teams": teams, "csv_query": query.urlencode()})
