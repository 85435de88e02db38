"""Writes on leads. Qualification (lead → opportunity) lives in opportunities.services, the target app."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Model
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.models import Activity, ActivityKind, Team, User
from crm.permissions import require
from crm.tracking import acting_as
from crm.workflow import DomainError, lock, run_transition
from leads.models import DisqualificationReason, Lead, LeadSource
from leads.rules import Assigner, active_scoring_rules, score_lines, score_of

logger = logging.getLogger(__name__)

EDITABLE_FIELDS = (
    "first_name", "last_name", "email", "phone", "company", "title", "source", "notes", "country",
    "utm_source", "utm_medium", "utm_campaign", "vat_id", "registration_number",
)


def default_team_for(user: User) -> Team | None:
    return user.teams.order_by("pk").first()


def _activity_count(lead: Lead) -> int:
    if lead.pk is None:
        return 0
    return Activity.objects.filter(content_type=ContentType.objects.get_for_model(Lead), object_id=lead.pk).count()


def _apply_score(lead: Lead) -> None:
    # The score is always derived from the rules (set in admin), never typed in: it must stay explainable.
    lead.score = score_of(score_lines(lead, active_scoring_rules(), _activity_count(lead)))


@transaction.atomic
def lead_create(
    *, actor: User | None, owner: User | None = None, team: Team | None = None, **fields: Any
) -> Lead:
    """A new lead; `actor` None is the system (web form, e-mail ingest), which then must name the owner."""
    require(actor, "leads.add_lead")
    owner = owner or actor
    lead = Lead(owner=owner, team=team or default_team_for(owner), **fields)
    lead.full_clean(exclude=["number"])
    _apply_score(lead)
    lead.assign_number()
    lead.save()
    return lead


def pick_owner(*, source: str = "", country: str = "", fallback_team: Team | None = None) -> tuple[User, Team | None]:
    """The owner of a lead that arrives without one: assignment rules first, then the fallback team's
    manager, then the first active superuser. Call inside the creating transaction."""
    assigner = Assigner()
    picked = assigner.pick(source=source, country=country)
    if picked is not None:
        assigner.save()
        return picked
    if fallback_team is not None and fallback_team.manager_id and fallback_team.manager.is_active:
        return fallback_team.manager, fallback_team
    admin = User.objects.filter(is_active=True, is_superuser=True).order_by("pk").first()
    if admin is None:
        raise DomainError(_("Nobody can receive this lead: add an assignment rule or a default owner."))
    return admin, fallback_team or default_team_for(admin)


@transaction.atomic
def lead_capture(
    *, fields: dict[str, Any], owner: User | None = None, team: Team | None = None, actor: User | None = None
) -> Lead:
    """A lead from outside the seller UI (web form, e-mail, quick entry): assigned by the rules when no owner
    is given, scored, and its owner told by e-mail once the lead is stored."""
    assigned = owner is None
    if owner is None:
        owner, rule_team = pick_owner(
            source=fields.get("source", ""), country=fields.get("country", ""), fallback_team=team
        )
        team = team or rule_team
    lead = lead_create(actor=actor, owner=owner, team=team, **fields)
    if assigned or (actor is not None and actor != owner):
        notify_owner_on_commit(owner=owner, leads=[lead])
    return lead


def notify_owner_on_commit(*, owner: User, leads: Iterable[Lead] = (), count: int | None = None) -> None:
    """E-mail the new owner once the transaction commits (never for a rolled-back assignment)."""
    leads = list(leads)
    count = len(leads) if count is None else count
    if not owner.email or not count:
        return
    if len(leads) == 1:
        subject = _("New lead for you: %(lead)s") % {"lead": leads[0]}
        base_url = getattr(settings, "SALESFLOW_BASE_URL", "").rstrip("/")
        body = _("%(lead)s has been assigned to you.\n%(url)s") % {
            "lead": leads[0], "url": base_url + reverse("leads:detail", args=[leads[0].pk]),
        }
    else:
        subject = ngettext("%(count)d new lead for you", "%(count)d new leads for you", count) % {"count": count}
        body = subject

    def send() -> None:
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [owner.email])
        except Exception:  # a mail server hiccup must not undo the assignment
            logger.exception("could not notify %s about new leads", owner)

    transaction.on_commit(send)


@transaction.atomic
def lead_assign(*, lead: Lead, actor: User, owner: User) -> Lead:
    """Hand a lead to another seller (manual reassign) and tell them."""
    require(actor, "leads.assign_lead")
    lead = lock(lead)
    if lead.state == "qualified":
        raise DomainError(_("A qualified lead is closed; reassign its opportunity instead."))
    _check_new_owner(owner)
    if owner.pk != lead.owner_id:
        _hand_over(lead, actor=actor, owner=owner, team=default_team_for(owner))
        notify_owner_on_commit(owner=owner, leads=[lead])
    return lead


BULK_ASSIGN_LIMIT = 100  # four list pages of leads


@transaction.atomic
def leads_assign(*, lead_ids: Iterable[int], actor: User, owner: User) -> int:
    """Hand the chosen leads to one seller at once (the list's bulk action): all of them or, if one cannot go
    (a qualified lead), none. The new owner gets one e-mail for the lot. Returns how many changed hands."""
    require(actor, "leads.assign_lead")
    _check_new_owner(owner)
    lead_ids = set(lead_ids)
    if len(lead_ids) > BULK_ASSIGN_LIMIT:  # each lead is saved on its own (history, note): keep the request short
        raise DomainError(_("Assign at most %(limit)d leads at a time.") % {"limit": BULK_ASSIGN_LIMIT})
    # Locked in id order: two bulk actions over overlapping leads wait for each other instead of deadlocking.
    leads = list(Lead.objects.select_for_update(of=("self",)).filter(pk__in=lead_ids).select_related("owner")
                 .order_by("pk"))
    closed = [lead for lead in leads if lead.state == "qualified"]
    if closed:
        raise DomainError(ngettext(
            "%(lead)s is qualified and closed; leave it out (its opportunity is reassigned on the deal).",
            "%(count)d of the chosen leads are qualified and closed, %(lead)s among them; leave them out (their "
            "opportunities are reassigned on the deal).", len(closed),
        ) % {"lead": closed[0], "count": len(closed)})
    moving = [lead for lead in leads if lead.owner_id != owner.pk]
    team = default_team_for(owner)
    for lead in moving:
        _hand_over(lead, actor=actor, owner=owner, team=team)
    notify_owner_on_commit(owner=owner, leads=moving)
    return len(moving)


def _check_new_owner(owner: User) -> None:
    if not owner.is_active:
        raise DomainError(_("%(user)s is no longer active.") % {"user": owner})


def _hand_over(lead: Lead, *, actor: User, owner: User, team: Team | None) -> None:
    """The new owner and team (else the lead keeps its team), in the field history, and a note on the lead
    saying who handed it over."""
    previous = lead.owner
    lead.owner = owner
    lead.team = team or lead.team
    with acting_as(actor):
        lead.save(update_fields=["owner", "team", "updated_at"])
    Activity.objects.create(
        target=lead, owner=actor, kind=ActivityKind.NOTE,
        subject=_("Reassigned from %(old)s to %(new)s") % {"old": previous, "new": owner},
    )


def lead_score_recompute(*, lead: Lead) -> int:
    """Store the lead's score from the current rules; an UPDATE, so a stale instance cannot clobber the row."""
    lead.score = score_of(score_lines(lead, active_scoring_rules(), _activity_count(lead)))
    Lead.objects.filter(pk=lead.pk).update(score=lead.score)
    return lead.score


@transaction.atomic
def lead_update(*, lead: Lead, actor: User, **fields: Any) -> Lead:
    require(actor, "leads.change_lead")
    # Decide on the stored state: a lead qualified in another tab must not be edited (and saving a
    # stale instance would fail the FSM's concurrency check with an error the user cannot read).
    lead = lock(lead)
    if lead.state == "qualified":
        raise DomainError(_("A qualified lead is closed; edit its opportunity, account or contact instead."))
    for name, value in fields.items():
        if name not in (*EDITABLE_FIELDS, "owner", "team"):
            raise ValueError(f"{name} is not editable")
        setattr(lead, name, value)
    lead.full_clean(exclude=["number"])
    _apply_score(lead)
    with acting_as(actor):
        lead.save()
    return lead


@transaction.atomic
def lead_start_work(*, lead: Lead, actor: User) -> Lead:
    require(actor, "leads.start_work_lead")
    return run_transition(lead, "start_work", actor=actor)


@transaction.atomic
def lead_disqualify(*, lead: Lead, actor: User, reason: str) -> Lead:
    require(actor, "leads.disqualify_lead")
    chosen = DisqualificationReason.objects.filter(code=reason, active=True).first()
    if chosen is None:
        raise DomainError(_("Choose why this lead is disqualified."))
    return run_transition(lead, "disqualify", actor=actor, reason=reason, description=str(chosen))


@transaction.atomic
def lead_recycle(*, lead: Lead, actor: User) -> Lead:
    require(actor, "leads.recycle_lead")
    return run_transition(lead, "recycle", actor=actor)


@transaction.atomic
def activity_log(
    *, target: Model, actor: User, kind: str, subject: str, body: str = "", due_at: datetime | None = None
) -> Activity:
    """Log a note, call, meeting … on any record, or plan one (`due_at`: it is then a to-do in "My next
    activities" until ticked off). Lives here, the first app of the flow, so that every later app may use it
    without breaking the dependency direction."""
    if kind not in ActivityKind.values:
        raise DomainError(_("Choose what kind of activity this was."))
    if not subject.strip():
        raise DomainError(_("Give the activity a subject."))
    activity = Activity.objects.create(target=target, owner=actor, kind=kind, subject=subject.strip(), body=body,
                                       due_at=due_at)
    if isinstance(target, Lead):
        lead_score_recompute(lead=target)
    return activity


def split_name(name: str) -> tuple[str, str]:
    """'Ada King Lovelace' → ('Ada King', 'Lovelace'); one word is the last name."""
    first, _sep, last = " ".join(name.split()).rpartition(" ")
    return first, last


@transaction.atomic
def lead_quick_create(
    *, actor: User, name: str, company: str = "", email: str = "", phone: str = "", note: str = ""
) -> Lead:
    """The phone 'business card' entry: one name field, the seller owns the lead."""
    require(actor, "leads.add_lead")
    first, last = split_name(name)
    if not last:
        raise DomainError(_("Enter the name of the person."))
    return lead_create(
        actor=actor, first_name=first, last_name=last, company=company.strip(), email=email.strip().lower(),
        phone=phone.strip(), notes=note.strip(), source=LeadSource.TRADE_SHOW if company else LeadSource.OTHER,
    )
