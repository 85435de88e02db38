"""Search everywhere: one box in the menu finds customers, leads, deals, quotes, orders and invoices at once.

crm imports no record app, so each app registers what it can find (in its AppConfig.ready): a function that
returns the user's first matches, scoped as its own list page is, and the list page that shows all of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.urls import reverse
from django.utils.http import urlencode

if TYPE_CHECKING:
    from crm.models import User

MIN_LENGTH = 2
PER_KIND = 5


@dataclass(frozen=True)
class Hit:
    title: str
    detail: str
    url: str


@dataclass(frozen=True)
class Finder:
    order: int  # place on the results page: the sales flow's order
    label: Any  # a lazy translation
    list_url: str  # URL name of the list page that takes ?q=
    find: Callable[[User, str, int], list[Hit]]  # (user, text, how many) → hits the user may see


_FINDERS: dict[str, Finder] = {}


def register(kind: str, finder: Finder) -> None:
    _FINDERS[kind] = finder


@dataclass(frozen=True)
class Group:
    label: Any
    hits: list[Hit]
    more: bool  # there are more than shown: the list page has them all
    list_url: str


def search_everywhere(*, user: User, text: str) -> list[Group]:
    """Up to PER_KIND hits per kind of record, kinds without a hit left out. One query per kind."""
    text = " ".join(text.split())
    if len(text) < MIN_LENGTH:
        return []
    groups = []
    for finder in sorted(_FINDERS.values(), key=lambda f: f.order):
        hits = finder.find(user, text, PER_KIND + 1)
        if hits:
            groups.append(Group(label=finder.label, hits=hits[:PER_KIND], more=len(hits) > PER_KIND,
                                list_url=f"{reverse(finder.list_url)}?{urlencode({'q': text})}"))
    return groups
