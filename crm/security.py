"""Security plumbing shared by the sign-in pages, the upload forms and the logs.

- Login throttling: failures are counted per username and per client address in Django's cache; past a
  threshold, sign-in is refused for a cool-off that doubles per further failure up to a cap. The cool-off
  always ends (a permanent lock-out would let anyone lock a colleague out for good), and a successful
  sign-in clears the counters. The cache must be shared by all web processes (Redis or the database cache
  in production, see settings.CACHES).
- Upload validation: size, extension and a look at the first bytes, so a renamed binary is refused with a
  message instead of failing somewhere deep in a parser.
- Structured logs: a JSON formatter and a filter that adds the current request's path and user id.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import math
import time
import traceback
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

logger = logging.getLogger("salesflow.security")

# --- login throttling ------------------------------------------------------------------------------

# Counters outlive the longest cool-off by a day, then start from zero again.
_COUNTER_TTL = 24 * 60 * 60


@dataclass(frozen=True)
class Throttle:
    """One throttled subject: a username or a client address."""

    key: str
    limit: int


def client_ip(request: HttpRequest) -> str:
    """The client's address. X-Forwarded-For is written by the client unless our own proxies rewrite it, so
    only the entries added by the SALESFLOW_TRUSTED_PROXIES proxies in front of us are believed; trusting
    more would let an attacker pick a fresh address per attempt."""
    proxies = settings.SALESFLOW_TRUSTED_PROXIES
    if proxies > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _throttles(*, scope: str, username: str, ip: str) -> list[Throttle]:
    return [
        Throttle(f"sf-throttle:{scope}:user:{username.strip().lower()}", settings.SALESFLOW_LOGIN_FAILURES_PER_USER),
        Throttle(f"sf-throttle:{scope}:ip:{ip}", settings.SALESFLOW_LOGIN_FAILURES_PER_IP),
    ]


def _cooloff_seconds(failures: int, limit: int) -> int:
    """Cool-off after the `failures`-th failure: none below the limit, then base, doubling, capped."""
    if failures < limit:
        return 0
    base = settings.SALESFLOW_LOGIN_COOLOFF_SECONDS
    cap = settings.SALESFLOW_LOGIN_COOLOFF_MAX_SECONDS
    return min(cap, base * 2 ** min(failures - limit, 20))


def throttle_wait_seconds(*, scope: str, username: str, ip: str, now: float | None = None) -> int:
    """Seconds until this username/address may try again; 0 when it may try now."""
    now = time.time() if now is None else now
    wait = 0.0
    for throttle in _throttles(scope=scope, username=username, ip=ip):
        state = cache.get(throttle.key)
        if state:
            wait = max(wait, state["locked_until"] - now)
    return max(0, math.ceil(wait))


def throttle_register_failure(*, scope: str, username: str, ip: str, now: float | None = None) -> None:
    now = time.time() if now is None else now
    for throttle in _throttles(scope=scope, username=username, ip=ip):
        state = cache.get(throttle.key) or {"failures": 0, "locked_until": 0.0}
        failures = state["failures"] + 1
        locked_until = now + _cooloff_seconds(failures, throttle.limit)
        cache.set(throttle.key, {"failures": failures, "locked_until": locked_until}, _COUNTER_TTL)
        if failures >= throttle.limit:
            logger.warning("sign-in throttled", extra={"throttle": throttle.key, "failures": failures})


def throttle_reset(*, scope: str, username: str, ip: str) -> None:
    cache.delete_many([t.key for t in _throttles(scope=scope, username=username, ip=ip)])


def throttle_message(wait_seconds: int) -> str:
    minutes = max(1, math.ceil(wait_seconds / 60))
    return ngettext(
        "Too many failed sign-in attempts. Try again in %(minutes)d minute.",
        "Too many failed sign-in attempts. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


# --- uploads ---------------------------------------------------------------------------------------

# What a file of each extension starts with. CSV has no magic number: it must be text (no NUL bytes).
_ZIP_MAGIC = b"PK\x03\x04"
_SNIFFERS = {
    "xlsx": lambda head: head.startswith(_ZIP_MAGIC),
    "csv": lambda head: b"\x00" not in head,
    "txt": lambda head: b"\x00" not in head,
    "pdf": lambda head: head.startswith(b"%PDF-"),
    "png": lambda head: head.startswith(b"\x89PNG\r\n\x1a\n"),
    "jpg": lambda head: head.startswith(b"\xff\xd8\xff"),
    "jpeg": lambda head: head.startswith(b"\xff\xd8\xff"),
}


def validate_upload(upload: UploadedFile, *, extensions: list[str], max_bytes: int | None = None) -> None:
    """Refuse a file that is too big, has an unexpected extension, or whose content does not match it."""
    max_bytes = settings.SALESFLOW_MAX_UPLOAD_BYTES if max_bytes is None else max_bytes
    name = upload.name or ""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in extensions:
        raise ValidationError(
            _("“%(name)s” is not an accepted file type. Accepted: %(types)s.")
            % {"name": name, "types": ", ".join(f".{e}" for e in extensions)},
            code="file_type",
        )
    if upload.size is not None and upload.size > max_bytes:
        raise ValidationError(
            _("The file is %(size).1f MB; files up to %(max).0f MB can be imported. Split it into smaller files.")
            % {"size": upload.size / 1024 / 1024, "max": max_bytes / 1024 / 1024},
            code="file_size",
        )
    if not upload.size:
        raise ValidationError(_("The file is empty."), code="file_empty")
    upload.seek(0)
    head = upload.read(2048)
    upload.seek(0)
    sniff = _SNIFFERS.get(extension)
    if sniff is not None and not sniff(head):
        raise ValidationError(
            _("The content of “%(name)s” does not look like a .%(ext)s file.") % {"name": name, "ext": extension},
            code="file_content",
        )


# --- structured logs -------------------------------------------------------------------------------

request_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "salesflow_request_context", default=None
)

# Attributes every LogRecord has; anything else was passed with `extra=` and goes into the JSON object.
_RECORD_ATTRS = set(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {"message", "asctime"}


class RequestContextFilter(logging.Filter):
    """Adds the path and user id of the request being served (if any) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = request_context.get()
        request = context.get("request") if context else None
        if request is not None:
            if not hasattr(record, "path"):
                record.path = request.path
            if not hasattr(record, "method"):
                record.method = request.method
            user = getattr(request, "_cached_user", None)  # only if already loaded: logging must not query
            if not hasattr(record, "user_id") and user is not None and user.is_authenticated:
                record.user_id = user.pk
        return True


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request path/user and any `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key in _RECORD_ATTRS or key.startswith("_"):
                continue
            if key == "request":  # Django's request/server loggers pass the request object itself
                entry.setdefault("path", getattr(value, "path", None))
                continue
            entry[key] = value if isinstance(value, str | int | float | bool | type(None)) else repr(value)
        if record.exc_info:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json.dumps(entry, ensure_ascii=False, default=str)
