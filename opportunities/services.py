"""Writes on opportunities, including the conversion lead → account + contact + opportunity."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from djmoney.money import Money

from crm import money, normalize
from crm.models import Account, Activity, Contact, Team, User
from crm.permissions import require, scope
from crm.tracking import acting_as
from crm.workflow import DomainError, lock, run_transition
from leads.matching import account_values, contact_values, match_lead
from leads.models import Lead, LeadState
from leads.services import default_team_for
from opportunities.models import (
    ChecklistTick,
    Competitor,
    ContactRole,
    LostReason,
    Opportunity,
    OpportunityCompetitor,
    OpportunityContact,
    OpportunityState,
    PipelineSnapshot,
    Stage,
    StageChange,
    StageChecklistItem,
)
from opportunities.selectors import lost_reason_required, lost_reasons_for, pipeline_stages, stage_criteria

# "Link to whatever matches best": the conversion without a seller's choices (seed data, API, scripts).
AUTO = "auto"


def email_domain(email: str) -> str:
    return normalize.company_domain(email)


def match_account_and_contact(lead: Lead) -> tuple[Account | None, Contact | None]:
    """The existing customer a lead most likely belongs to (see leads.matching for the reasons)."""
    matches = match_lead(lead)
    return matches.best_account(), matches.best_contact()


def _merge(record: Account | Contact, offered: dict[str, str], take: Collection[str]) -> list[str]:
    """Copy the lead's values of the fields in `take` onto `record`; the verbose names of what changed."""
    unknown = set(take) - set(offered)
    if unknown:
        raise DomainError(
            _("These fields cannot be taken over from a lead: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
        )
    changed = []
    for name in take:
        value = offered[name]
        if value and value != getattr(record, name):
            setattr(record, name, value)
            changed.append(name)
    if changed:
        _validate(record)
        record.save(update_fields=changed)
    return [str(record._meta.get_field(name).verbose_name) for name in changed]


def _validate(record: Account | Contact) -> None:
    # Lead data that an account or contact refuses is a message for the seller, not a server error.
    try:
        record.full_clean()
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages)) from exc


def _visible_account(account: Account, actor: User) -> Account:
    # A forged or stale choice must not link a deal to a customer the seller may not see.
    found = scope(Account.objects.filter(pk=account.pk), actor).select_for_update(of=("self",)).first()
    if found is None:
        raise DomainError(_("This account does not exist or is not yours to link to."))
    return found


@transaction.atomic
def opportunity_create_from_lead(
    *,
    lead: Lead,
    actor: User,
    name: str = "",
    amount: Decimal | None = None,
    currency: str | None = None,
    expected_close_date: date | None = None,
    stage: Stage | None = None,
    account: Account | None | str = AUTO,
    contact: Contact | None | str = AUTO,
    account_fields_from_lead: Collection[str] = (),
    contact_fields_from_lead: Collection[str] = (),
) -> Opportunity:
    """Qualify `lead`: link or create its account and contact, create the opportunity, close the lead, all in
    one transaction — a refused step (a stage gate, invalid data) leaves the lead as it was and writes nothing.

    `account`/`contact`: an existing record to link to, None to create a new one, AUTO for the best match.
    `*_fields_from_lead`: fields of a linked record to overwrite with the lead's value (the merge).
    The decision is recorded as the description of the lead's qualify transition.
    Idempotent: qualifying a lead that already has an opportunity returns that opportunity.
    """
    require(actor, "leads.qualify_lead")
    lead = lock(lead)
    existing = Opportunity.objects.filter(lead=lead).first()
    if existing is not None:
        return existing
    if lead.state not in (LeadState.NEW, LeadState.WORKING):
        raise DomainError(
            _("Lead %(lead)s is %(state)s and cannot be qualified.") % {"lead": lead, "state": lead.get_state_display()}
        )
    matches = match_lead(lead) if account == AUTO else match_lead(lead, user=actor)
    if account == AUTO:
        account = matches.best_account()
        if contact == AUTO:
            contact = matches.best_contact()
    elif account is not None:
        account = _visible_account(account, actor)
    if contact == AUTO:
        contact = next((c.record for c in matches.contacts if account and c.record.account_id == account.pk), None)
    if contact is not None and (account is None or contact.account_id != account.pk):
        raise DomainError(
            _("%(contact)s works for %(account)s: link that account too, or create a new contact.")
            % {"contact": contact, "account": contact.account}
        )

    decisions = []
    if account is None:
        values = account_values(lead)
        account = Account(
            **{k: v for k, v in values.items() if v},
            email=lead.email if not lead.company else "",
            owner=lead.owner,
            team=lead.team,
        )
        account.name = values["name"] or lead.full_name
        _validate(account)
        account.save()
        decisions.append(_("account %(account)s created") % {"account": account})
    else:
        candidate = matches.account(account.pk)
        reasons = ", ".join(candidate.reasons) if candidate else _("chosen by %(user)s") % {"user": actor}
        decisions.append(_("linked to account %(account)s (%(reasons)s)") % {"account": account, "reasons": reasons})
        updated = _merge(account, account_values(lead), account_fields_from_lead)
        if updated:
            decisions.append(_("account fields taken from the lead: %(fields)s") % {"fields": ", ".join(updated)})
    if contact is None:
        values = contact_values(lead)
        contact = Contact(account=account, **values)
        contact.last_name = values["last_name"] or lead.company.strip()
        _validate(contact)
        contact.save()
        decisions.append(_("contact %(contact)s created") % {"contact": contact})
    else:
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        candidate = matches.contact(contact.pk)
        reasons = ", ".join(candidate.reasons) if candidate else _("chosen by %(user)s") % {"user": actor}
        decisions.append(_("linked to contact %(contact)s (%(reasons)s)") % {"contact": contact, "reasons": reasons})
        updated = _merge(contact, contact_values(lead), contact_fields_from_lead)
        if updated:
            decisions.append(_("contact fields taken from the lead: %(fields)s") % {"fields": ", ".join(updated)})

    lead = run_transition(lead, "qualify", actor=actor, at=timezone.now(), description=capfirst("; ".join(decisions)))
    currency = currency or settings.DEFAULT_CURRENCY
    return _create(
        actor=actor,
        owner=lead.owner,
        team=lead.team,
        account=account,
        contact=contact,
        lead=lead,
        source=lead.source,
        name=name or (_("%(company)s deal") % {"company": account.name}),
        amount=Money(money.quantize(amount or 0, currency), currency),
        expected_close_date=expected_close_date,
        stage=stage,
    )


@transaction.atomic
def opportunity_create(*, actor: User, account: Account, name: str, **fields: Any) -> Opportunity:
    require(actor, "opportunities.add_opportunity")
    owner = fields.pop("owner", None) or actor
    team = fields.pop("team", None) or account.team or default_team_for(owner)
    return _create(actor=actor, owner=owner, team=team, account=account, name=name, **fields)


def _create(*, actor: User, owner: User, team: Team | None, **fields: Any) -> Opportunity:
    stages = pipeline_stages(team)
    if not stages:
        raise DomainError(_("The pipeline has no stages. Ask a manager to configure stages."))
    stage = fields.pop("stage", None) or stages[0]
    if stage.pk not in {s.pk for s in stages}:
        raise DomainError(_("Stage “%(stage)s” is not part of this deal's pipeline.") % {"stage": stage})
    if "amount" in fields and isinstance(fields["amount"], Money):
        fields["amount"] = money.money(fields["amount"].amount, str(fields["amount"].currency))
    opportunity = Opportunity(owner=owner, team=team, stage=stage, probability=stage.probability, **fields)
    opportunity.full_clean(exclude=["number", "lead"])
    # Starting a deal in a later stage passes the earlier stages' gates just as a move would.
    _check_gates(opportunity, stages=stages, from_stage=stages[0], to_stage=stage)
    opportunity.assign_number()
    opportunity.save()
    StageChange.objects.create(opportunity=opportunity, from_stage=None, to_stage=stage, by=actor)
    return opportunity


@transaction.atomic
def opportunity_update(*, opportunity: Opportunity, actor: User, **fields: Any) -> Opportunity:
    require(actor, "opportunities.change_opportunity")
    opportunity = lock(opportunity)
    if opportunity.state != OpportunityState.OPEN:
        raise DomainError(_("A closed opportunity cannot be edited. Reopen it first."))
    new_stage = fields.pop("stage", None)
    for name, value in fields.items():
        setattr(opportunity, name, value)
    if isinstance(opportunity.amount, Money):
        opportunity.amount = money.money(opportunity.amount.amount, str(opportunity.amount.currency))
    if isinstance(opportunity.budget, Money):
        opportunity.budget = money.money(opportunity.budget.amount, str(opportunity.budget.currency))
    opportunity.full_clean(exclude=["number", "lead"])
    with acting_as(actor):
        opportunity.save()
    if new_stage is not None and new_stage.pk != opportunity.stage_id:
        opportunity = opportunity_move_stage(opportunity=opportunity, stage=new_stage, actor=actor)
    return opportunity


def stage_exit_problems(*, opportunity: Opportunity, stage: Stage) -> list[str]:
    """What `opportunity` still lacks to leave `stage` forward; empty when the gate is open."""
    return [criterion.label for criterion in stage_criteria(opportunity=opportunity, stage=stage) if not criterion.met]


def _check_gates(opportunity: Opportunity, *, stages: list[Stage], from_stage: Stage, to_stage: Stage) -> None:
    """Moving forward passes the exit gate of every stage from the current one up to the target; moving back
    is always allowed (a deal may need to requalify)."""
    position = {s.pk: i for i, s in enumerate(stages)}
    start, end = position.get(from_stage.pk, 0), position[to_stage.pk]
    for passed in stages[start:end]:
        missing = stage_exit_problems(opportunity=opportunity, stage=passed)
        if missing:
            raise DomainError(
                _("Cannot leave “%(stage)s” yet. Missing: %(missing)s.")
                % {"stage": passed, "missing": "; ".join(missing)}
            )


def stage_move_check(*, opportunity: Opportunity, stage: Stage) -> None:
    """Raise DomainError if `opportunity` (possibly with unsaved edits) may not move to `stage`. Lets a form
    (the admin's) show the refusal next to the field; opportunity_move_stage runs the same check under the lock."""
    stages = pipeline_stages(opportunity.team)
    if stage.pk not in {s.pk for s in stages}:
        raise DomainError(_("Stage “%(stage)s” is not part of this deal's pipeline.") % {"stage": stage})
    if opportunity.stage_id != stage.pk:
        _check_gates(opportunity, stages=stages, from_stage=opportunity.stage, to_stage=stage)


@transaction.atomic
def opportunity_move_stage(*, opportunity: Opportunity, stage: Stage, actor: User) -> Opportunity:
    """Move an open deal to another stage of its team's pipeline (kanban drop and form alike)."""
    require(actor, "opportunities.move_opportunity")
    opportunity = lock(opportunity)
    if opportunity.state != OpportunityState.OPEN:
        raise DomainError(
            _("%(opp)s is %(state)s; only open deals move through the pipeline.")
            % {"opp": opportunity, "state": opportunity.get_state_display()}
        )
    if stage.pk not in {s.pk for s in pipeline_stages(opportunity.team)}:
        raise DomainError(_("Stage “%(stage)s” is not part of this deal's pipeline.") % {"stage": stage})
    if stage.pk == opportunity.stage_id:
        return opportunity
    stages = pipeline_stages(opportunity.team)
    _check_gates(opportunity, stages=stages, from_stage=opportunity.stage, to_stage=stage)
    now = timezone.now()
    StageChange.objects.filter(opportunity=opportunity, ended_at__isnull=True).update(ended_at=now)
    StageChange.objects.create(opportunity=opportunity, from_stage_id=opportunity.stage_id, to_stage=stage, by=actor,
                               at=now)
    Opportunity.objects.filter(pk=opportunity.pk).update(
        stage=stage, probability=stage.probability, stage_entered_at=now, updated_at=now
    )
    opportunity.refresh_from_db()
    return opportunity


@transaction.atomic
def opportunity_win(*, opportunity: Opportunity, actor: User) -> Opportunity:
    require(actor, "opportunities.win_opportunity")
    return run_transition(opportunity, "win", actor=actor, at=timezone.now())


@transaction.atomic
def opportunity_lose(
    *, opportunity: Opportunity, actor: User, reason: LostReason | str | None = None, note: str = "",
    lost_to: Competitor | None = None,
) -> Opportunity:
    """Close a deal as lost. `reason` is a LostReason offered in the deal's pipeline, or its code; whether it may
    be left out is the team's setting (mandatory by default)."""
    require(actor, "opportunities.lose_opportunity")
    offered = lost_reasons_for(opportunity.team)
    if isinstance(reason, str):
        code = reason
        reason = offered.filter(code=code).first() if code else None
        if code and reason is None:
            raise DomainError(_("Choose why this deal was lost."))
    elif reason is not None and not offered.filter(pk=reason.pk).exists():
        raise DomainError(_("Choose why this deal was lost."))
    if reason is None and lost_reason_required(opportunity.team):
        raise DomainError(_("Choose why this deal was lost."))
    description = str(reason) if reason else ""
    if lost_to is not None:
        description = _("%(reason)s (lost to %(competitor)s)") % {"reason": description or "—", "competitor": lost_to}
    return run_transition(
        opportunity, "lose", actor=actor, at=timezone.now(), reason=reason, note=note, lost_to=lost_to,
        description=description,
    )


@transaction.atomic
def opportunity_reopen(*, opportunity: Opportunity, actor: User) -> Opportunity:
    require(actor, "opportunities.reopen_opportunity")
    return run_transition(opportunity, "reopen", actor=actor)


# --- checklist and "demonstrate value" ------------------------------------------------------------------------

def _open_for_edit(opportunity: Opportunity) -> Opportunity:
    opportunity = lock(opportunity)
    if opportunity.state != OpportunityState.OPEN:
        raise DomainError(_("A closed opportunity cannot be edited. Reopen it first."))
    return opportunity


@transaction.atomic
def opportunity_checklist_tick(
    *, opportunity: Opportunity, item: StageChecklistItem, actor: User, done: bool
) -> Opportunity:
    """Tick (or untick) a checklist item of the deal's pipeline. Idempotent both ways."""
    require(actor, "opportunities.change_opportunity")
    opportunity = _open_for_edit(opportunity)
    if item.stage_id not in {s.pk for s in pipeline_stages(opportunity.team)}:
        raise DomainError(_("This checklist item belongs to another pipeline."))
    if done:
        ChecklistTick.objects.get_or_create(opportunity=opportunity, item=item, defaults={"by": actor})
    else:
        ChecklistTick.objects.filter(opportunity=opportunity, item=item).delete()
    return opportunity


@transaction.atomic
def opportunity_committee_add(
    *, opportunity: Opportunity, contact: Contact, role: str, actor: User
) -> OpportunityContact:
    require(actor, "opportunities.change_opportunity")
    opportunity = _open_for_edit(opportunity)
    if role not in ContactRole.values:
        raise DomainError(_("Choose the contact's role in the decision."))
    if contact.account_id != opportunity.account_id:
        raise DomainError(_("Only contacts of %(account)s can join this buying committee.")
                          % {"account": opportunity.account})
    member, _created = OpportunityContact.objects.update_or_create(
        opportunity=opportunity, contact=contact, defaults={"role": role}
    )
    return member


@transaction.atomic
def opportunity_committee_remove(*, opportunity: Opportunity, member: OpportunityContact, actor: User) -> None:
    require(actor, "opportunities.change_opportunity")
    opportunity = _open_for_edit(opportunity)
    OpportunityContact.objects.filter(pk=member.pk, opportunity=opportunity).delete()


@transaction.atomic
def opportunity_competitor_add(
    *, opportunity: Opportunity, actor: User, competitor: Competitor | None = None, name: str = "",
    strengths: str = "", weaknesses: str = "",
) -> OpportunityCompetitor:
    """Note a competitor on the deal: an existing one, or a new one by name (matched case-insensitively)."""
    require(actor, "opportunities.change_opportunity")
    opportunity = _open_for_edit(opportunity)
    if competitor is None:
        name = name.strip()
        if not name:
            raise DomainError(_("Choose a competitor or type its name."))
        competitor = Competitor.objects.filter(name__iexact=name).first()
        if competitor is None:
            try:
                with transaction.atomic():
                    competitor = Competitor.objects.create(name=name)
            except IntegrityError:  # created by someone else in the meantime
                competitor = Competitor.objects.get(name__iexact=name)
    entry, _created = OpportunityCompetitor.objects.update_or_create(
        opportunity=opportunity, competitor=competitor, defaults={"strengths": strengths, "weaknesses": weaknesses}
    )
    return entry


@transaction.atomic
def opportunity_competitor_remove(*, opportunity: Opportunity, entry: OpportunityCompetitor, actor: User) -> None:
    require(actor, "opportunities.change_opportunity")
    opportunity = _open_for_edit(opportunity)
    OpportunityCompetitor.objects.filter(pk=entry.pk, opportunity=opportunity).delete()


# --- activities ------------------------------------------------------------------------------------------------

def activity_set_done(*, activity: Activity, actor: User, done: bool) -> Activity:
    if activity.owner_id != actor.pk:
        raise DomainError(_("Only the owner of an activity can tick it off."))
    Activity.objects.filter(pk=activity.pk).update(done=done)
    activity.done = done
    return activity


# --- weekly pipeline snapshot -----------------------------------------------------------------------------------

SNAPSHOT_CHUNK = 2000


def week_of(day: date) -> date:
    """The Monday that names the week `day` falls in."""
    return day - timedelta(days=day.weekday())


@transaction.atomic
def pipeline_snapshot_take(*, day: date | None = None) -> int:
    """Write the week's snapshot of every open deal (and every deal closed during that week).

    Idempotent per week: a second run in the same week replaces that week's rows with the current figures, so
    the last run of the week wins and no deal appears twice. Set-based: rows are read as tuples and written in
    chunks with bulk_create, never one save() per deal.
    """
    week = week_of(day or timezone.localdate())
    week_started = timezone.make_aware(datetime.combine(week, time.min))
    rows = (
        Opportunity.objects.filter(Q(state=OpportunityState.OPEN) | Q(closed_at__gte=week_started))
        .order_by("pk")
        .values_list("pk", "amount", "amount_currency", "stage_id", "expected_close_date", "probability", "state")
    )
    PipelineSnapshot.objects.filter(week=week).delete()
    now = timezone.now()
    written = 0
    batch: list[PipelineSnapshot] = []
    for pk, amount, currency, stage_id, close, probability, state in rows.iterator(chunk_size=SNAPSHOT_CHUNK):
        batch.append(PipelineSnapshot(
            week=week, opportunity_id=pk, amount=Money(amount, currency), stage_id=stage_id,
            expected_close_date=close, probability=probability, state=state, taken_at=now,
        ))
        if len(batch) >= SNAPSHOT_CHUNK:
            written += len(PipelineSnapshot.objects.bulk_create(batch))
            batch = []
    written += len(PipelineSnapshot.objects.bulk_create(batch))
    return written
