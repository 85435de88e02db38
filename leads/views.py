"""Seller pages for leads. Thin: scope, validate a form, call one service, flash, redirect."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from crm.csvstream import csv_stream
from crm.history import history_limit, timeline
from crm.idempotency import submit_once
from crm.selectors import open_activities_of
from crm.views import attempt, get_visible, paginate
from crm.workflow import DomainError
from leads import imports, selectors, services, webforms
from leads.forms import (
    ActivityForm,
    DisqualifyForm,
    ImportMappingForm,
    ImportUploadForm,
    LeadFilterForm,
    LeadForm,
    QualifyForm,
    QuickLeadForm,
    ReassignForm,
)
from leads.matching import match_lead
from leads.models import ImportJob, ImportState, Lead, WebForm
from opportunities.models import Opportunity
from opportunities.selectors import pipeline_stages
from opportunities.services import opportunity_create_from_lead


@login_required
def lead_list(request: HttpRequest) -> HttpResponse:
    filter_form = LeadFilterForm(request.GET or None)
    filters = filter_form.filters()
    page_obj = paginate(request, selectors.lead_list(user=request.user, **filters))
    export_query = request.GET.copy()
    export_query.pop("page", None)
    return render(
        request, "leads/list.html",
        {"filter_form": filter_form, "page_obj": page_obj, "leads": page_obj.object_list,
         "sort": filters.get("sort", "-created"), "filtered": any(v for k, v in filters.items() if k != "sort"),
         "export_query": export_query.urlencode(),
         # The bulk "assign to" bar: only for those who may, and only when there is something to assign.
         "assign_form": ReassignForm(user=request.user)
         if page_obj.object_list and request.user.has_perm("leads.assign_lead") else None},
    )


@login_required
def lead_export(request: HttpRequest) -> StreamingHttpResponse:
    """The leads of the list as it is filtered now, as CSV, streamed (a 100k-row export holds no list)."""
    filters = LeadFilterForm(request.GET or None).filters()
    rows = selectors.lead_export_rows(user=request.user, **filters)
    response = StreamingHttpResponse(
        csv_stream(selectors.lead_export_header(), rows, bom=request.GET.get("bom") == "1"),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="leads-{timezone.localdate().isoformat()}.csv"'
    return response


@login_required
@submit_once
def lead_create(request: HttpRequest) -> HttpResponse:
    form = LeadForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        lead = attempt(request, services.lead_create, actor=request.user, **form.cleaned_data)
        if lead is not None:
            messages.success(request, _("Lead %(lead)s created.") % {"lead": lead})
            return redirect(lead)
    return render(request, "leads/form.html", {"form": form, "lead": None})


@login_required
def lead_edit(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_visible(Lead, request.user, pk)
    form = LeadForm(request.POST or None, instance=lead, user=request.user)
    if request.method == "POST" and form.is_valid():
        if attempt(request, services.lead_update, lead=lead, actor=request.user, **form.cleaned_data,
                   success=_("Changes saved.")):
            return redirect(lead)
        lead.refresh_from_db()
    return render(request, "leads/form.html", {"form": form, "lead": lead})


@login_required
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_visible(Lead, request.user, pk, Lead.objects.select_related("owner", "team"))
    opportunity = Opportunity.objects.filter(lead=lead).visible_to(request.user).first()
    return render(
        request, "leads/detail.html",
        {
            "lead": lead,
            "opportunity": opportunity,
            "disqualify_form": DisqualifyForm(),
            "activity_form": ActivityForm(),
            "planned": open_activities_of(lead),
            "now": timezone.now(),
            "reassign_form": ReassignForm(user=request.user, initial={"owner": lead.owner_id}),
            "score_lines": selectors.score_breakdown(lead),
            "history": timeline(lead, limit=history_limit(request)),
        },
    )


def _transition(request: HttpRequest, pk: int, service, success: str, **kwargs) -> HttpResponse:
    lead = get_visible(Lead, request.user, pk)
    attempt(request, service, lead=lead, actor=request.user, success=success, **kwargs)
    return redirect(lead)


@login_required
@require_POST
def lead_start_work(request: HttpRequest, pk: int) -> HttpResponse:
    return _transition(request, pk, services.lead_start_work, _("You are working on this lead now."))


@login_required
@require_POST
def lead_recycle(request: HttpRequest, pk: int) -> HttpResponse:
    return _transition(request, pk, services.lead_recycle, _("Lead recycled: it is back in work."))


@login_required
@require_POST
def lead_disqualify(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_visible(Lead, request.user, pk)
    form = DisqualifyForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose why this lead is disqualified."))
        return redirect(lead)
    return _transition(
        request, pk, services.lead_disqualify, _("Lead disqualified."), reason=form.cleaned_data["reason"]
    )


@login_required
def lead_qualify(request: HttpRequest, pk: int) -> HttpResponse:
    """The merge preview (GET) and the conversion (POST). A second tab, the back button or a double click
    finds the opportunity already made and lands on it instead of making another."""
    lead = get_visible(Lead, request.user, pk, Lead.objects.select_related("team"))
    existing = Opportunity.objects.filter(lead=lead).first()
    if existing is not None:
        if request.method == "POST":
            messages.info(request, _("This lead was already qualified: here is its opportunity."))
        return redirect(existing)
    if not lead.can("qualify"):
        refused = _("Lead %(lead)s is %(state)s and cannot be qualified.")
        messages.error(request, refused % {"lead": lead, "state": lead.get_state_display()})
        return redirect(lead)
    matches = match_lead(lead, user=request.user)
    form = QualifyForm(request.POST or None, lead=lead, matches=matches, stages=pipeline_stages(lead.team))
    if request.method == "POST" and form.is_valid():
        opportunity = attempt(
            request, opportunity_create_from_lead, lead=lead, actor=request.user, **form.service_kwargs(),
            success=_("Lead qualified."),
        )
        if opportunity is not None:
            return redirect(opportunity)
        # Refused (nothing was written): the page again, with the seller's choices and the reason on top.
        lead.refresh_from_db()
    return render(request, "leads/qualify.html", {"lead": lead, "form": form})


@login_required
@require_POST
def lead_reassign(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_visible(Lead, request.user, pk)
    form = ReassignForm(request.POST, user=request.user)
    if form.is_valid():
        attempt(request, services.lead_assign, lead=lead, actor=request.user, owner=form.cleaned_data["owner"],
                success=_("Lead reassigned; the new owner has been notified."))
    else:
        messages.error(request, _("Choose someone from your teams."))
    return redirect(lead)


@login_required
@require_POST
def lead_bulk_assign(request: HttpRequest) -> HttpResponse:
    """The list's bulk action: the ticked leads to one owner. A lead the user cannot see is "not found", as
    anywhere else; anything refused changes nothing."""
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("leads:list")
    ids = {int(value) for value in request.POST.getlist("lead") if value.isdigit()}
    if Lead.objects.visible_to(request.user).filter(pk__in=ids).count() != len(ids):
        raise Http404(_("No such lead."))
    form = ReassignForm(request.POST, user=request.user)
    if not ids:
        messages.error(request, _("Tick the leads to assign first."))
    elif not form.is_valid():
        messages.error(request, _("Choose someone from your teams."))
    else:
        owner = form.cleaned_data["owner"]
        moved = attempt(request, services.leads_assign, lead_ids=ids, actor=request.user, owner=owner)
        if moved:
            messages.success(request, ngettext(
                "%(count)d lead assigned to %(owner)s, who has been notified.",
                "%(count)d leads assigned to %(owner)s, who has been notified.", moved,
            ) % {"count": moved, "owner": owner})
        elif moved == 0:
            messages.info(request, _("The chosen leads already belong to %(owner)s.") % {"owner": owner})
    return redirect(back)


@login_required
@require_POST
@submit_once
def lead_log_activity(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_visible(Lead, request.user, pk)
    form = ActivityForm(request.POST)
    if form.is_valid():
        attempt(request, services.activity_log, target=lead, actor=request.user, **form.cleaned_data,
                success=_("Activity saved."))
    else:
        messages.error(request, _("Give the activity a subject."))
    return redirect(reverse("leads:detail", args=[lead.pk]) + "#activity")


# --- import -------------------------------------------------------------------------------------------


def _visible_job(request: HttpRequest, pk: int) -> ImportJob:
    return get_object_or_404(selectors.import_jobs_visible_to(request.user), pk=pk)


@login_required
def import_upload(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        job = attempt(request, imports.import_job_create, actor=request.user, upload=form.cleaned_data["file"])
        if job is not None:
            return redirect("leads:import_mapping", pk=job.pk)
    recent = selectors.import_jobs_visible_to(request.user)[:5]
    return render(request, "leads/import_upload.html", {"form": form, "recent": recent})


@login_required
def import_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    job = _visible_job(request, pk)
    if job.state != ImportState.PENDING:
        return redirect(job)
    form = ImportMappingForm(request.POST or None, headers=job.headers, mapping=job.mapping, user=request.user)
    if request.method == "POST" and form.is_valid():
        started = attempt(
            request, imports.import_job_start, job=job, actor=request.user, mapping=form.mapping(),
            skip_bad_rows=form.cleaned_data["mode"] == "skip", owner=form.cleaned_data["owner"],
        )
        if started is not None:
            return redirect(job)
    preview = imports.import_job_preview(job=job)
    return render(request, "leads/import_mapping.html", {"job": job, "form": form, "preview": preview})


@login_required
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    job = _visible_job(request, pk)
    template = "leads/_import_progress.html" if request.htmx else "leads/import_progress.html"
    return render(request, template, {"job": job, "problems": job.errors[:100]})


@login_required
def import_report(request: HttpRequest, pk: int) -> HttpResponse:
    job = _visible_job(request, pk)
    response = HttpResponse(imports.problems_csv(job.errors), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-report.csv"'
    return response


@login_required
@submit_once
def lead_quick(request: HttpRequest) -> HttpResponse:
    """Business-card entry on a phone: five fields, save, and the empty form again for the next card."""
    form = QuickLeadForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        lead = attempt(request, services.lead_quick_create, actor=request.user, **form.cleaned_data)
        if lead is not None:
            messages.success(request, _("Lead %(lead)s saved.") % {"lead": lead})
            return redirect("leads:quick")
    return render(request, "leads/quick.html", {"form": form})


# --- public web-to-lead -----------------------------------------------------------------------------


def _cors(response: HttpResponse) -> HttpResponse:
    # A website's own JavaScript may post JSON here from its origin; the token, not the origin, authorises.
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Content-Type"
    return response


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def web_to_lead(request: HttpRequest, token: str) -> HttpResponse:
    """Public endpoint for a website's contact form (form-encoded or JSON). CSRF-exempt by design."""
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204))
    if webforms.rate_limited(request.META.get("REMOTE_ADDR", "")):
        response = JsonResponse({"error": _("Too many requests. Try again in a minute.")}, status=429)
        response["Retry-After"] = "60"
        return _cors(response)
    web_form = WebForm.objects.filter(token=token, active=True).select_related("default_owner", "team").first()
    if web_form is None:
        return _cors(JsonResponse({"error": _("Unknown or inactive form.")}, status=404))
    if len(request.body) > webforms.MAX_BODY_BYTES:
        return _cors(JsonResponse({"error": _("The request is too large.")}, status=413))
    is_json = request.content_type == "application/json"
    if is_json:
        try:
            data = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return _cors(JsonResponse({"error": _("The body is not valid JSON.")}, status=400))
        if not isinstance(data, dict):
            return _cors(JsonResponse({"error": _("Send one JSON object with the fields.")}, status=400))
    else:
        data = {key: request.POST.get(key) for key in request.POST}
    if not webforms.is_spam(data):
        try:
            webforms.web_to_lead_submit(web_form=web_form, data=data)
        except webforms.WebFormInvalid as exc:
            return _cors(JsonResponse({"errors": exc.errors}, status=400))
        except DomainError as exc:
            return _cors(JsonResponse({"error": str(exc)}, status=503))
    # A bot filling the honeypot gets the same answer as a person, so it learns nothing.
    if not is_json and web_form.thank_you_url:
        return HttpResponseRedirect(web_form.thank_you_url, status=303)
    if is_json:
        return _cors(JsonResponse({"status": "ok"}, status=201))
    return render(request, "leads/web_to_lead_thanks.html", status=201)
