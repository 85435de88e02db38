"""The customer's link to a quote: a signed token carrying the quote id and the last day it is valid.

TimestampSigner signs it with SECRET_KEY (salted, so a token of another feature never passes here); the
timestamp records when the link was issued. The link stops working after the quote's validity date,
which is inside the signed payload, so it cannot be extended by editing the URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.core import signing
from django.urls import reverse
from django.utils import timezone

SALT = "quotes.public-link"


class LinkExpired(Exception):
    """The link was genuine but its validity date has passed; `quote_id` says which quote it was for."""

    def __init__(self, quote_id: int) -> None:
        super().__init__(quote_id)
        self.quote_id = quote_id


@dataclass(frozen=True)
class LinkData:
    quote_id: int
    valid_until: date


def make_token(quote) -> str:
    return signing.TimestampSigner(salt=SALT).sign_object({"q": quote.pk, "u": quote.valid_until.isoformat()})


def public_path(quote) -> str:
    return reverse("quote_public:view", args=[make_token(quote)])


def read_token(token: str, *, today: date | None = None) -> LinkData:
    """Raise signing.BadSignature for a forged or altered token, LinkExpired after its validity date."""
    payload = signing.TimestampSigner(salt=SALT).unsign_object(token)
    try:
        data = LinkData(quote_id=int(payload["q"]), valid_until=date.fromisoformat(payload["u"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise signing.BadSignature("malformed payload") from exc
    if data.valid_until < (today or timezone.localdate()):
        raise LinkExpired(data.quote_id)
    return data
