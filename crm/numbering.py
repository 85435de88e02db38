"""Human-readable document numbers: one sequence per series and year, e.g. Q-2026-00042.

The sequence row is locked (SELECT … FOR UPDATE) and incremented in the caller's transaction, so a
rolled-back issue gives its number back and numbers stay gapless — which the law asks of invoices.
"""

from __future__ import annotations

from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone

from crm.models import Sequence


def format_number(series: str, year: int, value: int) -> str:
    return f"{series}-{year}-{value:05d}"


def next_number(series: str, *, on: date | None = None) -> str:
    """Take the next number of `series` for the year of `on` (today by default).

    Must run inside the transaction that stores the number, so that a rollback returns it.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("next_number() must run inside transaction.atomic()")
    year = (on or timezone.localdate()).year
    sequence = _locked_sequence(series, year)
    sequence.last_value += 1
    sequence.save(update_fields=["last_value"])
    return format_number(series, year, sequence.last_value)


def _locked_sequence(series: str, year: int) -> Sequence:
    try:
        return Sequence.objects.select_for_update().get(series=series, year=year)
    except Sequence.DoesNotExist:
        pass
    try:
        # The first number of a year: two transactions may race to create the row; the unique
        # constraint lets only one win, the other re-reads it under the lock.
        with transaction.atomic():
            Sequence.objects.create(series=series, year=year, last_value=0)
    except IntegrityError:
        pass
    return Sequence.objects.select_for_update().get(series=series, year=year)


def next_numbers(series: str, count: int, *, on: date | None = None) -> list[str]:
    """Take `count` consecutive numbers of `series` in one locked increment (bulk imports)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("next_numbers() must run inside transaction.atomic()")
    if count <= 0:
        return []
    year = (on or timezone.localdate()).year
    sequence = _locked_sequence(series, year)
    first = sequence.last_value + 1
    sequence.last_value += count
    sequence.save(update_fields=["last_value"])
    return [format_number(series, year, value) for value in range(first, first + count)]
