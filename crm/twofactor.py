"""Second factor: TOTP (RFC 6238, any authenticator app) with one-time recovery codes.

Services here are the only writers of TwoFactorDevice / RecoveryCode. A device exists only after the user
confirmed a code from the app; recovery codes are shown once and stored as SHA-256 hashes (they are
random with 60 bits of entropy, so a slow password hash would add nothing but latency).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time

import pyotp
import segno
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.models import RecoveryCode, Role, TwoFactorDevice, User
from crm.permissions import has_role
from crm.workflow import DomainError

logger = logging.getLogger("salesflow.security")

RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: codes are typed from paper
ISSUER = "Salesflow"
# What an API call gets (403) from a user who must use a second factor and has none yet, by token or session.
API_REFUSAL = gettext_lazy("Turn on two-factor authentication before using the API.")
API_REFUSAL_CODE = "two_factor_required"


def twofactor_required(user: User) -> bool:
    """Staff, superusers and accountants must use a second factor (when the deployment enforces it)."""
    if not settings.SALESFLOW_REQUIRE_2FA or not user.is_authenticated:
        return False
    if user.is_staff or user.is_superuser:
        return True
    return has_role(user, Role.ACCOUNTANT)


def twofactor_enabled(user: User) -> bool:
    return TwoFactorDevice.objects.filter(user=user).exists()


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(*, user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.get_username(), issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """An SVG QR code as a data: URI (img-src allows data:, so no inline markup or script is needed)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def _normalise_recovery(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def _hash_recovery(code: str) -> str:
    return hashlib.sha256(_normalise_recovery(code).encode()).hexdigest()


def _new_recovery_codes(device: TwoFactorDevice) -> list[str]:
    codes = []
    for _i in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _j in range(12))
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:]}")
    device.recovery_codes.all().delete()
    RecoveryCode.objects.bulk_create([RecoveryCode(device=device, code_hash=_hash_recovery(c)) for c in codes])
    return codes


def _totp_step(secret: str, code: str, *, after_step: int, now: float | None = None) -> int | None:
    """The time step the code belongs to (current ±1 for clock drift), or None; steps up to `after_step`
    were already used and are refused so an observed code cannot be replayed."""
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    now = time.time() if now is None else now
    current = int(now) // totp.interval
    for step in (current, current - 1, current + 1):
        if step > after_step and secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def twofactor_check(*, user: User, code: str, allow_recovery: bool = True) -> bool:
    """True if `code` is a valid TOTP code or an unused recovery code of the user's device; consumes it."""
    code = (code or "").strip()
    if not code:
        return False
    with transaction.atomic():
        device = TwoFactorDevice.objects.select_for_update().filter(user=user).first()
        if device is None:
            return False
        step = _totp_step(device.secret, code, after_step=device.last_used_step)
        if step is not None:
            device.last_used_step = step
            device.save(update_fields=["last_used_step"])
            return True
        if not allow_recovery:
            return False
        used = (
            RecoveryCode.objects.filter(device=device, code_hash=_hash_recovery(code), used_at__isnull=True)
            .update(used_at=timezone.now())
        )
        if used:
            logger.info("recovery code used", extra={"user_id": user.pk})
        return bool(used)


def twofactor_enable(*, user: User, secret: str, code: str) -> list[str]:
    """Turn on 2FA after the user proved the app shows matching codes; returns the recovery codes."""
    if twofactor_enabled(user):
        raise DomainError(_("Two-factor authentication is already on."))
    step = _totp_step(secret, code or "", after_step=0)
    if step is None:
        raise DomainError(_("That code did not match. Check the time on your phone and enter the current code."))
    with transaction.atomic():
        device = TwoFactorDevice.objects.create(user=user, secret=secret, last_used_step=step)
        codes = _new_recovery_codes(device)
    logger.info("two-factor enabled", extra={"user_id": user.pk})
    return codes


def twofactor_disable(*, user: User, code: str) -> None:
    if twofactor_required(user):
        raise DomainError(_("Your role requires two-factor authentication; it cannot be turned off."))
    if not twofactor_check(user=user, code=code):
        raise DomainError(_("That code did not match."))
    TwoFactorDevice.objects.filter(user=user).delete()
    logger.info("two-factor disabled", extra={"user_id": user.pk})


def twofactor_regenerate_codes(*, user: User, code: str) -> list[str]:
    if not twofactor_check(user=user, code=code, allow_recovery=False):
        raise DomainError(_("That code did not match. Enter the current code from your authenticator app."))
    with transaction.atomic():
        device = TwoFactorDevice.objects.select_for_update().get(user=user)
        codes = _new_recovery_codes(device)
    logger.info("recovery codes regenerated", extra={"user_id": user.pk})
    return codes


def recovery_codes_left(user: User) -> int:
    return RecoveryCode.objects.filter(device__user=user, used_at__isnull=True).count()
