"""The lead rules engines: the explainable score and the assignment of new leads to sellers.

Both are plain Python over rows loaded once, so a bulk import of 100,000 leads scores and assigns them
without a query per lead; the services persist what they decide.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crm.models import Team, User
from leads.models import AssignmentMethod, AssignmentRule, ScoringCondition, ScoringField, ScoringRule


@dataclass(frozen=True)
class ScoreLine:
    rule: str
    points: int


def active_scoring_rules() -> list[ScoringRule]:
    return list(ScoringRule.objects.filter(active=True).order_by("position", "pk"))


SCORED_FIELDS = [f for f in ScoringField.values if f != ScoringField.ACTIVITIES]


def lead_values(lead: Any) -> dict[str, Any]:
    return {name: getattr(lead, name, "") for name in SCORED_FIELDS}


def rule_matches(rule: ScoringRule, values: Mapping[str, Any], activity_count: int) -> bool:
    if rule.field == ScoringField.ACTIVITIES:
        value: Any = activity_count
    else:
        value = (values.get(rule.field) or "").strip()
    expected = rule.value.strip()
    if rule.condition == ScoringCondition.PRESENT:
        return bool(value)
    if rule.condition == ScoringCondition.AT_LEAST:
        try:
            return int(value or 0) >= int(expected or 0)
        except ValueError:
            return False
    text = str(value).casefold()
    if rule.condition == ScoringCondition.EQUALS:
        return text == expected.casefold()
    if rule.condition == ScoringCondition.CONTAINS:
        return any(word.strip().casefold() in text for word in expected.split("|") if word.strip()) if text else False
    return False


def score_lines(lead: Any, rules: Iterable[ScoringRule], activity_count: int = 0) -> list[ScoreLine]:
    """The rules a lead (a Lead or a dict of its values) meets, with their points: the explanation."""
    values = lead if isinstance(lead, Mapping) else lead_values(lead)
    return [ScoreLine(rule.name, rule.points) for rule in rules if rule_matches(rule, values, activity_count)]


def compile_rules(rules: Iterable[ScoringRule]) -> list[tuple[int, Callable[[Mapping[str, Any]], bool]]]:
    """(points, predicate) per rule for scoring many new leads (no activities yet) in a tight loop."""
    compiled = []
    for rule in rules:
        if rule.field == ScoringField.ACTIVITIES:
            hit = rule_matches(rule, {}, 0)
            compiled.append((rule.points, lambda values, hit=hit: hit))
            continue
        field, expected = str(rule.field), rule.value.strip().casefold()
        if rule.condition == ScoringCondition.PRESENT:
            compiled.append((rule.points, lambda v, f=field: bool(v.get(f))))
        elif rule.condition == ScoringCondition.EQUALS:
            compiled.append((rule.points, lambda v, f=field, e=expected: (v.get(f) or "").casefold() == e))
        elif rule.condition == ScoringCondition.CONTAINS:
            words = tuple(w.strip() for w in expected.split("|") if w.strip())
            compiled.append((rule.points, lambda v, f=field, w=words: any(x in (v.get(f) or "").casefold() for x in w)))
        else:
            compiled.append((rule.points, lambda v, r=rule: rule_matches(r, v, 0)))
    return compiled


def score_of(lines: Sequence[ScoreLine]) -> int:
    # The column is unsigned: negative rules can pull a lead down to zero, not below.
    return max(0, sum(line.points for line in lines))


class Assigner:
    """Picks the owner of a new lead: the first active rule matching its source/country hands it to the
    next active member of the rule's team (round robin). Call inside the creating transaction: the rules
    are locked so that two concurrent captures do not hand leads to the same seller twice in a row."""

    def __init__(self) -> None:
        self.rules = list(
            # of=self: PostgreSQL cannot lock the nullable side of the outer join to last_assigned.
            AssignmentRule.objects.select_for_update(of=("self",))
            .filter(active=True)
            .select_related("team", "last_assigned")
            .order_by("position", "pk")
        )
        team_ids = {rule.team_id for rule in self.rules}
        self.members: dict[int, list[User]] = {team_id: [] for team_id in team_ids}
        for team in Team.objects.filter(pk__in=team_ids).prefetch_related("members"):
            self.members[team.pk] = sorted((u for u in team.members.all() if u.is_active), key=lambda u: u.pk)
        self._changed: set[int] = set()

    def pick(self, *, source: str = "", country: str = "") -> tuple[User, Team] | None:
        for rule in self.rules:
            if rule.method == AssignmentMethod.SOURCE and rule.source != source:
                continue
            if rule.method == AssignmentMethod.TERRITORY and (country or "").upper() not in rule.country_list:
                continue
            members = self.members.get(rule.team_id) or []
            if not members:
                continue
            last = rule.last_assigned_id
            following = [u for u in members if last is not None and u.pk > last]
            chosen = following[0] if following else members[0]
            rule.last_assigned = chosen
            self._changed.add(rule.pk)
            return chosen, rule.team
        return None

    def save(self) -> None:
        for rule in self.rules:
            if rule.pk in self._changed:
                AssignmentRule.objects.filter(pk=rule.pk).update(last_assigned=rule.last_assigned)
        self._changed.clear()
