"""Lookup keys for matching people and companies: the same e-mail, phone, VAT or registration number
written in different ways must give the same key. Keys are stored next to the value (indexed), so a
match is an index lookup and never a scan over every account."""

from __future__ import annotations

import re

# Addresses at these domains say nothing about the company a person works for.
FREEMAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "gmx.de", "gmx.net", "gmx.at", "gmx.ch", "web.de", "t-online.de",
    "outlook.com", "outlook.de", "hotmail.com", "hotmail.de", "live.com", "live.de", "msn.com", "yahoo.com",
    "yahoo.de", "icloud.com", "me.com", "mac.com", "aol.com", "freenet.de", "posteo.de", "mailbox.org",
    "proton.me", "protonmail.com", "arcor.de", "mail.com", "mail.de", "email.de", "online.de", "1und1.de",
})

# Country calling codes for turning a national number (leading 0) into an international one. Countries
# not listed keep their digits as written, which still matches the same number written the same way.
CALLING_CODES = {
    "DE": "49", "AT": "43", "CH": "41", "LI": "423", "LU": "352", "NL": "31", "BE": "32", "FR": "33",
    "IT": "39", "ES": "34", "PT": "351", "GB": "44", "IE": "353", "DK": "45", "SE": "46", "NO": "47",
    "FI": "358", "PL": "48", "CZ": "420", "SK": "421", "HU": "36", "SI": "386", "HR": "385", "GR": "30",
}
DEFAULT_COUNTRY = "DE"
# Fewer digits than this is an extension or a typo, not a number worth matching on.
MIN_PHONE_DIGITS = 6

_NOT_ALNUM = re.compile(r"[^0-9A-Z]")
_NOT_DIGIT = re.compile(r"\D")


def email_key(email: str | None) -> str:
    return (email or "").strip().lower()


def email_domain(email: str | None) -> str:
    """The domain of an address, lower-cased; empty without an @."""
    key = email_key(email)
    return key.rpartition("@")[2] if "@" in key else ""


def company_domain(email: str | None) -> str:
    """The company's web domain from an e-mail address; empty for free-mail providers (not a company)."""
    domain = email_domain(email)
    return "" if domain in FREEMAIL_DOMAINS else domain


def domain_key(domain: str | None) -> str:
    """'https://www.ACME.com/' → 'acme.com'."""
    value = (domain or "").strip().lower()
    value = re.sub(r"^[a-z]+://", "", value).split("/", 1)[0]
    return value.removeprefix("www.")


def phone_key(phone: str | None, country: str | None = None) -> str:
    """Digits with the country code: '+49 (0)30 123-456', '0049 30 123456' and '030 123456' (in DE) all give
    '4930123456'."""
    raw = (phone or "").strip()
    # "(0)" is the national trunk prefix written inside an international number: it is not dialled.
    raw = raw.replace("(0)", "")
    digits = _NOT_DIGIT.sub("", raw)
    if raw.startswith("+"):
        pass
    elif digits.startswith("00"):
        digits = digits[2:]
    elif digits.startswith("0"):
        code = CALLING_CODES.get((country or DEFAULT_COUNTRY).upper())
        if code:
            digits = code + digits[1:]
    return digits if len(digits) >= MIN_PHONE_DIGITS else ""


def tax_id_key(value: str | None) -> str:
    """VAT and registration numbers without spaces or punctuation, upper-case: 'de 123.456.789' → 'DE123456789'."""
    return _NOT_ALNUM.sub("", (value or "").upper())


def name_key(name: str | None) -> str:
    return " ".join((name or "").split()).casefold()
