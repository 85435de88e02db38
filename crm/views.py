"""Shared view helpers and the home dashboard. Views stay thin: scope, validate, call one service."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.functional import cached_property
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views import i18n
from django.views.decorators.http import require_POST

from crm import archive, selectors
from crm.models import Account
from crm.permissions import NotAllowed, scope
from crm.search import MIN_LENGTH, search_everywhere
from crm.workflow import DomainError

if TYPE_CHECKING:
    from crm.documents import PricedDocument

M = TypeVar("M", bound=Model)
PAGE_SIZE = 25


def get_visible(model: type[M], user, pk: int, queryset: QuerySet[M] | None = None) -> M:
    """The record if the user may see it, else 404 (never 403: that would confirm it exists).

    Archived records still open by their own URL (to be read or restored); lists leave them out."""
    qs = queryset if queryset is not None else model.objects.all()
    return get_object_or_404(qs.visible_to(user, archived=None), pk=pk)


def serve_frozen(request: HttpRequest, content: bytes | None, *, etag: str, filename: str, content_type: str,
                 opener: Callable[[], bytes] | None = None) -> HttpResponse:
    """Serve a frozen document with a strong ETag (its SHA-256): a client that has it gets 304. `opener` reads
    the content when it is not given, and only when the client does not have it yet. Without a hash (a file
    stored before hashes were kept) there is no ETag: an empty one would match any other such file."""
    quoted = f'"{etag}"'
    if etag and quoted in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponseNotModified()
        response["ETag"] = quoted
        return response
    if content is None:
        content = opener()
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    if etag:
        response["ETag"] = quoted
    response["Cache-Control"] = "private, no-cache"
    return response


def pdf_download(request: HttpRequest, document: PricedDocument) -> HttpResponse:
    """A quote's, order's or invoice's stored PDF, read through the storage API (S3 too), with its SHA-256 as
    the ETag. The caller has scoped `document`. One not rendered yet sends the user back to the record with a
    note that says whether the worker is on it or cannot be reached."""
    if not document.pdf:
        if document.pdf_waiting_for_worker:
            messages.warning(request, _("The PDF is not rendered yet: the background worker cannot be reached. "
                                        "It is rendered as soon as the worker is back."))
        else:
            messages.info(request, _("The PDF is being rendered; try again in a moment."))
        return redirect(document.get_absolute_url())

    def read() -> bytes:
        try:
            with document.pdf.storage.open(document.pdf.name, "rb") as handle:
                return handle.read()
        except FileNotFoundError as exc:
            raise Http404(_("The PDF file is missing; ask an administrator to run render_documents.")) from exc

    return serve_frozen(request, None, etag=document.pdf_sha256, filename=f"{document.number}.pdf",
                        content_type="application/pdf", opener=read)


def attempt(request: HttpRequest, service: Callable[..., Any], success: str = "", **kwargs: Any) -> Any | None:
    """Call a service; a refused business rule becomes an error message instead of a crash.

    Returns the service's result, or None when it was refused (nothing was written: services are atomic).
    A refusal by role (crm.permissions.NotAllowed) is a 403 page with the reason as its message instead.
    """
    try:
        result = service(**kwargs)
    except NotAllowed as exc:
        # The role may never do this here: a 403 page that says why, as a message on it (the 403 page shows no
        # exception text, so no other PermissionDenied can leak details through it).
        messages.error(request, str(exc))
        raise PermissionDenied from exc
    except DomainError as exc:
        messages.error(request, str(exc))
        return None
    if success:
        messages.success(request, success)
    return result


# A list counts at most this many rows: past it the page says "10,000+" and the user narrows the search.
COUNT_LIMIT = 10_000


class BoundedPaginator(Paginator):
    """A paginator whose count stops at `count_limit` + 1 rows (a LIMITed subquery), so that opening a list
    costs the same at 100,000 rows as at 10,001: an exact COUNT(*) scans every visible row."""

    count_limit = COUNT_LIMIT

    @cached_property
    def _found(self) -> int:
        return self.object_list.order_by()[: self.count_limit + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self._found, self.count_limit)

    @property
    def capped(self) -> bool:
        """True when there are more rows than were counted."""
        return self._found > self.count_limit

    @property
    def count_label(self) -> str:
        label = number_format(self.count, force_grouping=True)
        return f"{label}+" if self.capped else label


def paginate(request: HttpRequest, queryset: QuerySet, per_page: int = PAGE_SIZE) -> Page:
    return BoundedPaginator(queryset, per_page).get_page(request.GET.get("page"))


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "crm/home.html", selectors.dashboard(user=request.user, today=timezone.localdate()))


@login_required
def search(request: HttpRequest) -> HttpResponse:
    """The menu's search box: the first matches of every kind of record, each kind linking to its full list."""
    text = request.GET.get("q", "").strip()
    groups = search_everywhere(user=request.user, text=text)
    return render(request, "crm/search.html", {"q": text, "groups": groups, "too_short": 0 < len(text) < MIN_LENGTH})


@login_required
def customer_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    page_obj = paginate(request, selectors.customer_list(user=request.user, query=query))
    return render(request, "crm/customer_list.html",
                  {"page_obj": page_obj, "accounts": page_obj.object_list, "q": query})


@login_required
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(scope(Account.objects.select_related("owner", "team"), request.user), pk=pk)
    return render(request, "crm/customer_detail.html", selectors.customer_overview(account=account, user=request.user))


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's set_language; a signed-in user's choice is also stored on the user, because
    UserLanguageMiddleware lets User.language win over the language cookie (the menu could not switch back)."""
    response = i18n.set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        request.user.language = language
        request.user.save(update_fields=["language"])
    return response


def archive_views(model: type[Model]) -> tuple[Callable[..., HttpResponse], Callable[..., HttpResponse]]:
    """The Archive and Restore POST views of one record type (a seller's "delete" and its undo).

    Anyone who may see and change the record may archive it; the record type decides what must stay
    (Archivable.archive_refusal: an issued invoice, a fulfilled order…).
    """
    opts = model._meta

    def _record(request: HttpRequest, pk: int) -> Model:
        record = get_visible(model, request.user, pk)
        if not request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}"):
            raise PermissionDenied
        return record

    @login_required
    @require_POST
    def archive_record(request: HttpRequest, pk: int) -> HttpResponse:
        record = _record(request, pk)
        attempt(request, archive.record_archive, record=record, actor=request.user,
                success=_("%(record)s archived. It no longer shows in lists; you can restore it here.")
                % {"record": capfirst(f"{opts.verbose_name} {record}".strip())})
        return redirect(record)

    @login_required
    @require_POST
    def restore_record(request: HttpRequest, pk: int) -> HttpResponse:
        record = _record(request, pk)
        attempt(request, archive.record_restore, record=record, actor=request.user,
                success=_("%(record)s restored.") % {"record": capfirst(f"{opts.verbose_name} {record}".strip())})
        return redirect(record)

    return archive_record, restore_record
