"""Field-level change history: who changed which field of a record, when, from what to what.

`TrackChanges` remembers the values a row was loaded with (in `from_db`, no extra query) and, when the
row is saved again, writes one `crm.FieldChange` per changed tracked field, in one INSERT and in the same
transaction as the save.

The actor comes from a context variable: `ActorMiddleware` sets it to the signed-in user for each request
(forms, admin, htmx edits), services and commands can set it with `acting_as(user)`.

What is *not* captured, on purpose:
- `QuerySet.update()` and `bulk_update()` bypass `save()`. Our own set-based paths only touch
  bookkeeping fields that are excluded here (PDF stamps, e-mail claims, lead score, credit bookkeeping)
  or are logged elsewhere (stage moves → StageChange, bulk transitions → the transition log). A new
  bulk path that changes a tracked field must write its FieldChange rows itself (`log_changes`).
- Saves made by a transition (`crm.workflow.run_transition`): the transition log already records that
  step, and the dates/numbers it sets are its consequences, not edits.
- Creation: the timeline shows "Created"; history starts with the first change.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar

from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import models, transaction
from django.utils import timezone, translation
from django.utils.formats import date_format
from djmoney.models.fields import CurrencyField, MoneyField
from djmoney.money import Money

from crm.money import quantize

if TYPE_CHECKING:
    from crm.models import User

_actor: contextvars.ContextVar[Any] = contextvars.ContextVar("salesflow_actor", default=None)
_untracked: contextvars.ContextVar[bool] = contextvars.ContextVar("salesflow_untracked", default=False)

# Never worth a history row on any model: bookkeeping, derived values, machine state.
ALWAYS_SKIPPED = frozenset({
    "id", "state", "created_at", "updated_at", "archived_by",
    "pdf", "pdf_sha256", "pdf_rendered_at", "previous_hash", "chain_hash", "search_vector",
})
EMPTY = ""
DATETIME_TEXT = "%Y-%m-%d %H:%M"  # how a changed date and time is stored (local time)
_MONEY_TEXT = re.compile(r"(-?\d[\d,]*\.\d+) ([A-Z]{3})\b")  # how `money_text` stores an amount


def current_actor() -> User | None:
    """The user the current request or `acting_as` block acts for, else None (system)."""
    user = _actor.get()
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user


@contextlib.contextmanager
def acting_as(user: Any) -> Iterator[None]:
    """Attribute the saves inside this block to `user` (a service's `actor`, a command's --user)."""
    token = _actor.set(user)
    try:
        yield
    finally:
        _actor.reset(token)


@contextlib.contextmanager
def untracked() -> Iterator[None]:
    """Saves inside this block write no field history (a transition: the transition log has it)."""
    token = _untracked.set(True)
    try:
        yield
    finally:
        _untracked.reset(token)


def money_text(value: Money) -> str:
    """An amount as history stores it, locale-neutral: '1,200.00 EUR' (`localized` shows it in the reader's format)."""
    return f"{quantize(value.amount, str(value.currency)):,} {value.currency}"


def display(field: models.Field, raw: Any, related: Any = None) -> str:
    """A stored value as a person reads it: choices by label, FKs by name, Money as '1,200.00 EUR'."""
    if raw is None or raw == "":
        return EMPTY
    if isinstance(field, MoneyField):
        amount, currency = raw
        return money_text(Money(Decimal(amount), currency))
    if field.is_relation:
        return str(related) if related is not None else f"#{raw}"
    # Labels are stored in the site language so one row reads the same whoever made the change.
    with translation.override(settings.LANGUAGE_CODE):
        if field.choices:
            return str(dict(field.flatchoices).get(raw, raw))
        if isinstance(raw, bool):
            return str(translation.gettext("yes") if raw else translation.gettext("no"))
    if isinstance(raw, datetime):
        return timezone.localtime(raw).strftime(DATETIME_TEXT) if timezone.is_aware(raw) else raw.isoformat(" ")
    if isinstance(raw, date):
        return raw.isoformat()
    if isinstance(raw, Decimal):
        return f"{raw.normalize():f}"
    return str(raw)


def localized(field: models.Field | models.ForeignObjectRel | None, text: str) -> str:
    """A value stored by `display` in the reader's formats, as pages show their other dates and amounts ('1,200.00
    EUR' → '€1,200.00', '2026-12-04' → '12/04/2026'). A part's description (a quote line: '3 × Day at 1,200.00
    EUR') gets its amounts shown that way. Text of another shape, or of a field gone since, is returned as stored."""
    try:
        if text and field is not None and field.one_to_many:
            return _MONEY_TEXT.sub(lambda m: str(Money(Decimal(m[1].replace(",", "")), m[2])), text)
        if text and isinstance(field, MoneyField):
            amount, currency = text.rsplit(" ", 1)
            return str(Money(Decimal(amount.replace(",", "")), currency))
        if text and isinstance(field, models.DateTimeField):  # before DateField: a DateTimeField is one too
            return date_format(datetime.strptime(text, DATETIME_TEXT), "SHORT_DATETIME_FORMAT")
        if text and isinstance(field, models.DateField):
            return date_format(date.fromisoformat(text), "SHORT_DATE_FORMAT")
    except (ValueError, InvalidOperation):
        pass
    return text


def field_label(model: type[models.Model], name: str) -> str:
    """A stored field name as people read it (translated): the field's verbose name; for a record's parts (a
    reverse one-to-many relation, the lines of a quote) the part's name; a field removed since keeps its name."""
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return name
    if field.one_to_many:
        return str(field.related_model._meta.verbose_name)
    return str(getattr(field, "verbose_name", name))


def _raw(instance: models.Model, field: models.Field) -> Any:
    """The comparable stored value of `field` on `instance`, read without touching the database."""
    return _raw_value(instance.__dict__, field)


def _raw_value(data: dict[str, Any], field: models.Field) -> Any:
    if isinstance(field, MoneyField):
        amount = data.get(field.name)
        if amount is None:
            return None
        if hasattr(amount, "amount"):
            return (amount.amount, str(amount.currency))
        return (amount, str(data.get(field.name + "_currency")))
    return data.get(field.attname)


class TrackChanges(models.Model):
    """Mixin for models whose edits are kept as history (sales records, accounts, contacts)."""

    # Per model: fields that change as a side effect (derived, bookkeeping) and would only add noise.
    HISTORY_EXCLUDE: ClassVar[frozenset[str]] = frozenset()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        changes = [] if _untracked.get() else self.pending_changes(kwargs.get("update_fields"))
        if not changes:
            super().save(*args, **kwargs)
        else:
            # savepoint=False: no SAVEPOINT round trips; a failure rolls back the caller's transaction anyway.
            with transaction.atomic(savepoint=False):
                super().save(*args, **kwargs)
                log_changes(self, [(f.name, old, new) for f, old, new in changes])
        self._remember_loaded()

    @classmethod
    def tracked_fields(cls) -> list[models.Field]:
        cached = cls.__dict__.get("_tracked_fields")
        if cached is None:
            skip = ALWAYS_SKIPPED | cls.HISTORY_EXCLUDE
            cached = [
                f for f in cls._meta.concrete_fields
                # editable=False marks machine-kept values (matching keys…): derived, never an edit.
                if f.name not in skip and f.editable and not f.primary_key
                and not isinstance(f, CurrencyField | models.JSONField)
                and not getattr(f, "auto_now", False) and type(f).__name__ != "SearchVectorField"
            ]
            cls._tracked_fields = cached
        return cached

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # Only a copy of what was loaded: it is read into comparable values if the record is saved. A page
        # loads hundreds of records it never saves (a kanban board: 160 cards), and reading each field of
        # each one up front was a tenth of the page's time. Nothing is cached on a fresh row yet (select_related
        # attaches related objects after from_db), so the copy holds all the old values there are.
        instance._loaded_snapshot = instance.__dict__.copy()
        return instance

    def _loaded(self) -> dict[str, tuple[Any, Any]] | None:
        loaded = self.__dict__.get("_loaded_values")
        if loaded is None and (snapshot := self.__dict__.get("_loaded_snapshot")) is not None:
            loaded = {
                f.attname: (_raw_value(snapshot, f), None) for f in self.tracked_fields() if f.attname in snapshot
            }
            self._loaded_values = loaded
        return loaded

    def refresh_from_db(self, using: str | None = None, fields: Any = None, **kwargs: Any) -> None:
        super().refresh_from_db(using, fields, **kwargs)
        # Loading one deferred field must not take unsaved edits of other fields for stored values.
        self._remember_loaded(only=set(fields) if fields is not None else None)

    def _remember_loaded(self, only: set[str] | None = None) -> None:
        data = self.__dict__
        loaded = {
            f.attname: (_raw(self, f), self._related_if_cached(f))
            for f in self.tracked_fields()
            if f.attname in data and (only is None or f.name in only or f.attname in only)
        }
        if only is None:
            self._loaded_values = loaded
        else:
            self._loaded_values = {**(self._loaded() or {}), **loaded}

    def _related_if_cached(self, field: models.Field) -> Any:
        if field.is_relation and field.is_cached(self):
            return field.get_cached_value(self)
        return None

    def pending_changes(self, update_fields: Any = None) -> list[tuple[models.Field, str, str]]:
        """(field, old text, new text) for each tracked field that differs from what was loaded."""
        loaded = self._loaded()
        if not loaded or self._state.adding:
            return []
        changes = []
        for field in self.tracked_fields():
            if field.attname not in loaded or (update_fields is not None and field.name not in update_fields
                                               and field.attname not in update_fields):
                continue
            old_raw, old_related = loaded[field.attname]
            new_raw = _raw(self, field)
            if old_raw == new_raw:
                continue
            if field.is_relation:
                model = field.related_model
                if old_related is None and old_raw is not None:
                    old_related = model._default_manager.filter(pk=old_raw).first()
                new_related = getattr(self, field.name) if new_raw is not None else None
                old_text, new_text = display(field, old_raw, old_related), display(field, new_raw, new_related)
            else:
                old_text, new_text = display(field, old_raw), display(field, new_raw)
            if old_text != new_text:
                changes.append((field, old_text, new_text))
        return changes


def log_changes(record: models.Model, changes: list[tuple[str, str, str]], *, actor: Any = None) -> None:
    """Write one FieldChange per (field name, old text, new text), in one INSERT."""
    if not changes:
        return
    FieldChange = apps.get_model("crm", "FieldChange")
    content_type = ContentType.objects.get_for_model(record)
    by = actor if actor is not None else current_actor()
    now = timezone.now()
    FieldChange.objects.bulk_create([
        FieldChange(content_type=content_type, object_id=record.pk, field=name, old_value=old, new_value=new,
                    changed_by=by, changed_at=now)
        for name, old, new in changes
    ])
