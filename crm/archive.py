"""Soft archive of sales records, accounts and contacts: what a seller's "delete" does.

An archived record keeps its row, links, number and history, drops out of lists, boards, search and
reports, and can be restored. Hard deletion is left to staff in admin (and never for an issued invoice).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Archivable
from crm.tracking import acting_as
from crm.workflow import DomainError

if TYPE_CHECKING:
    from crm.models import User

A = TypeVar("A", bound=Archivable)


def _locked(record: A) -> A:
    return type(record)._default_manager.select_for_update().get(pk=record.pk)


@transaction.atomic
def record_archive(*, record: A, actor: User) -> A:
    """Archive `record`; refused (nothing written) when its type says it must stay, e.g. an issued invoice."""
    fresh = _locked(record)
    if fresh.is_archived:
        raise DomainError(_("%(record)s is already archived.") % {"record": fresh})
    refusal = fresh.archive_refusal()
    if refusal:
        raise DomainError(refusal)
    fresh.archived_at = timezone.now()
    fresh.archived_by = actor
    with acting_as(actor):
        fresh.save(update_fields=["archived_at", "archived_by"])
    return fresh


@transaction.atomic
def record_restore(*, record: A, actor: User) -> A:
    """Bring an archived record back into lists and boards."""
    fresh = _locked(record)
    if not fresh.is_archived:
        raise DomainError(_("%(record)s is not archived.") % {"record": fresh})
    fresh.archived_at = None
    fresh.archived_by = None
    with acting_as(actor):
        fresh.save(update_fields=["archived_at", "archived_by"])
    return fresh
