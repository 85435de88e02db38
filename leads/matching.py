"""Which existing accounts and contacts a lead belongs to, and why.

Every comparison is on a normalised key stored in an indexed column (crm.normalize), so matching costs
two indexed queries however many accounts there are. Each candidate carries the reasons a seller reads
on the qualify page ("same VAT number DE123456789"), ranked by how sure the reasons are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from crm import normalize
from crm.models import Account, Contact
from crm.permissions import scope

if TYPE_CHECKING:
    from crm.models import User
    from leads.models import Lead

# How sure a reason is. A VAT number identifies a company; a shared switchboard number or a company name
# may not, so they rank lower (and the seller decides on the page).
WEIGHTS = {"vat": 100, "registration": 90, "email": 80, "contact": 70, "phone": 50, "domain": 40, "name": 30}
LIMIT = 5


@dataclass
class Candidate:
    record: Account | Contact
    reasons: list[str] = field(default_factory=list)
    score: int = 0

    def add(self, kind: str, reason: str) -> None:
        self.reasons.append(reason)
        self.score += WEIGHTS[kind]

    @property
    def pk(self) -> int:
        return self.record.pk


@dataclass
class Matches:
    accounts: list[Candidate]
    contacts: list[Candidate]

    def best_account(self) -> Account | None:
        return self.accounts[0].record if self.accounts else None

    def best_contact(self) -> Contact | None:
        """The best contact of the best account: a contact is only ever linked together with its account."""
        account = self.best_account()
        for candidate in self.contacts:
            if account is not None and candidate.record.account_id == account.pk:
                return candidate.record
        return None

    def account(self, pk: int) -> Candidate | None:
        return next((c for c in self.accounts if c.pk == pk), None)

    def contact(self, pk: int) -> Candidate | None:
        return next((c for c in self.contacts if c.pk == pk), None)


@dataclass(frozen=True)
class LeadKeys:
    email: str
    domain: str
    phone: str
    vat: str
    registration: str
    name: str

    @classmethod
    def of(cls, lead: Lead) -> LeadKeys:
        return cls(
            email=normalize.email_key(lead.email),
            domain=normalize.company_domain(lead.email),
            phone=normalize.phone_key(lead.phone, lead.country or None),
            vat=normalize.tax_id_key(lead.vat_id),
            registration=normalize.tax_id_key(lead.registration_number),
            name=normalize.name_key(lead.company),
        )


def _any(*conditions: tuple[str, str]) -> Q | None:
    """OR of the lookups whose key is not empty (an empty key matches nothing, not every empty column)."""
    q: Q | None = None
    for column, key in conditions:
        if key:
            q = Q(**{column: key}) if q is None else q | Q(**{column: key})
    return q


def _ranked(candidates: dict[int, Candidate], limit: int) -> list[Candidate]:
    return sorted(candidates.values(), key=lambda c: (-c.score, c.pk))[:limit]


def match_lead(lead: Lead, *, user: User | None = None, limit: int = LIMIT) -> Matches:
    """Accounts and contacts that look like the lead's company and person, best first, each with reasons.

    With `user`, only what the user may see is offered (a match must not reveal another team's customer);
    without, everything (the automatic conversion path, which links but shows nothing).
    """
    keys = LeadKeys.of(lead)
    accounts_qs: QuerySet[Account] = Account.objects.all()
    if user is not None:
        accounts_qs = scope(accounts_qs, user)

    contacts: dict[int, Candidate] = {}
    contact_q = _any(("email_key", keys.email), ("phone_key", keys.phone))
    if contact_q is not None:
        found = Contact.objects.filter(contact_q).select_related("account")
        if user is not None:
            found = found.filter(account__in=accounts_qs.values("pk"))
        # Bounded: a phone number shared by a whole switchboard must not load hundreds of people.
        for contact in found.order_by("pk")[: limit * 4]:
            candidate = contacts[contact.pk] = Candidate(contact)
            if keys.email and contact.email_key == keys.email:
                candidate.add("email", _("same e-mail address"))
            if keys.phone and contact.phone_key == keys.phone:
                candidate.add("phone", _("same phone +%(phone)s") % {"phone": keys.phone})
    ranked_contacts = _ranked(contacts, limit)

    accounts: dict[int, Candidate] = {}
    account_q = _any(
        ("vat_key", keys.vat), ("registration_key", keys.registration), ("email_key", keys.email),
        ("phone_key", keys.phone), ("domain", keys.domain), ("name_key", keys.name),
    )
    for account in accounts_qs.filter(account_q).order_by("pk")[: limit * 4] if account_q is not None else []:
        candidate = accounts[account.pk] = Candidate(account)
        if keys.vat and account.vat_key == keys.vat:
            candidate.add("vat", _("same VAT number %(vat)s") % {"vat": keys.vat})
        if keys.registration and account.registration_key == keys.registration:
            candidate.add("registration", _("same registration number %(number)s") % {"number": keys.registration})
        if keys.email and account.email_key == keys.email:
            candidate.add("email", _("same e-mail address"))
        if keys.phone and account.phone_key == keys.phone:
            candidate.add("phone", _("same phone +%(phone)s") % {"phone": keys.phone})
        if keys.domain and account.domain == keys.domain:
            candidate.add("domain", _("same e-mail domain %(domain)s") % {"domain": keys.domain})
        if keys.name and account.name_key == keys.name:
            candidate.add("name", _("same company name"))
    # A matched contact vouches for its company, which may match nothing itself (no domain, no VAT on file).
    for contact_candidate in ranked_contacts:
        contact = contact_candidate.record
        candidate = accounts.get(contact.account_id)
        if candidate is None:
            candidate = accounts[contact.account_id] = Candidate(contact.account)
        candidate.add(
            "contact",
            _("its contact %(contact)s: %(reasons)s")
            % {"contact": contact, "reasons": ", ".join(contact_candidate.reasons)},
        )
    return Matches(accounts=_ranked(accounts, limit), contacts=ranked_contacts)


def account_values(lead: Lead) -> dict[str, str]:
    """What the lead knows about its company, by Account field (what a new account gets, what a merge offers)."""
    return {
        "name": lead.company.strip(),
        "domain": normalize.company_domain(lead.email),
        "phone": lead.phone.strip(),
        "vat_id": lead.vat_id.strip(),
        "registration_number": lead.registration_number.strip(),
        "country": lead.country.strip().upper(),
    }


def contact_values(lead: Lead) -> dict[str, str]:
    """What the lead knows about its person, by Contact field."""
    return {
        "first_name": lead.first_name.strip(),
        "last_name": lead.last_name.strip(),
        "email": lead.email.strip(),
        "phone": lead.phone.strip(),
        "title": lead.title.strip(),
    }


def merge_rows(existing: Account | Contact, offered: dict[str, str]) -> list[tuple[str, str, str]]:
    """(field, existing value, lead value) where the lead has a value that differs from the record's: the rows
    a seller has to decide on. Equal values and empty lead values need no decision."""
    rows = []
    for name, lead_value in offered.items():
        current = str(getattr(existing, name) or "")
        same = SAME_VALUE.get(name, normalize.name_key)
        if lead_value and same(lead_value) != same(current):
            rows.append((name, current, lead_value))
    return rows


# How two values of a field are compared for the merge: "DE 123 456 789" and "de123456789" are the same VAT
# number, and asking the seller to choose between them would be noise.
SAME_VALUE = {
    "vat_id": normalize.tax_id_key,
    "registration_number": normalize.tax_id_key,
    "phone": normalize.phone_key,
    "email": normalize.email_key,
    "domain": normalize.domain_key,
}
