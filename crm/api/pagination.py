"""Cursor pagination: stable pages while records are being added, and no COUNT(*) over a big table."""

from __future__ import annotations

from typing import Any

from rest_framework.pagination import CursorPagination
from rest_framework.request import Request


class CreatedCursorPagination(CursorPagination):
    """Newest first; a viewset may name another default with `cursor_ordering`. An `ordering` query
    parameter (OrderingFilter) takes precedence, as DRF's cursor pagination allows."""

    ordering = ("-created_at", "-pk")
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> tuple[str, ...]:
        self.ordering = getattr(view, "cursor_ordering", self.ordering)
        return super().get_ordering(request, queryset, view)
