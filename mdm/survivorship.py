"""Survivorship: the golden value of each attribute, chosen from the source records by ownership rules.

Pure functions, no database: ingest, rule changes and (later) merges all call `survive` with the
source records of one golden record and get the same answer whatever order the sources come in.
"""

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

CUSTOMER_ATTRIBUTES: tuple[str, ...] = (
    "kind",
    "legal_name",
    "first_name",
    "last_name",
    "trade_name",
    "date_of_birth",
    "national_id",
    "tax_ids",
    "legal_address",
    "billing_address",
    "shipping_address",
    "phones",
    "emails",
    "website",
    "industry",
    "status",
    "payment_terms",
)
PRODUCT_ATTRIBUTES: tuple[str, ...] = (
    "sku",
    "gtin",
    "name",
    "description",
    "unit_of_measure",
    "category",
    "status",
    "list_price",
    "currency",
)
SURVIVING_ATTRIBUTES: dict[str, tuple[str, ...]] = {"customer": CUSTOMER_ATTRIBUTES, "product": PRODUCT_ATTRIBUTES}
# Attributes that only make sense together survive from the same source record as their leader.
COUPLED: dict[str, dict[str, str]] = {"product": {"currency": "list_price"}}

MOST_RECENT = "most_recent"
MOST_COMPLETE = "most_complete"
MOST_FREQUENT = "most_frequent"
FALLBACKS = (MOST_RECENT, MOST_COMPLETE, MOST_FREQUENT)


@dataclass(frozen=True)
class RuleSpec:
    """An ownership rule as survivorship needs it: owning systems in priority order, then a fallback."""

    systems: tuple[str, ...] = ()
    fallback: str = MOST_RECENT


DEFAULT_RULE = RuleSpec()


@dataclass(frozen=True)
class SourceView:
    """One source record as survivorship sees it."""

    source_record_id: int
    system: str
    source_id: str
    values: Mapping[str, Any]
    updated_at: datetime

    @property
    def completeness(self) -> int:
        """How many attributes this source record fills."""
        return sum(1 for value in self.values.values() if not is_missing(value))

    def recency_key(self) -> tuple[datetime, str, str]:
        """Newest first, then a stable tie-break so the order sources arrive in never matters."""
        return (self.updated_at, self.system, self.source_id)


@dataclass(frozen=True)
class Survivor:
    """The winning value of one attribute and where it came from."""

    value: Any
    source: SourceView | None
    rule: str
    override: Mapping[str, Any] | None = None

    def lineage(self) -> dict[str, Any]:
        """The lineage entry stored on the golden record for this attribute."""
        if self.override is not None:
            return {"rule": self.rule, **self.override}
        if self.source is None:
            return {"rule": self.rule}
        return {
            "rule": self.rule,
            "source_record": self.source.source_record_id,
            "system": self.source.system,
            "source_id": self.source.source_id,
            "source_updated_at": self.source.updated_at.isoformat(),
        }


@dataclass
class SurvivorshipResult:
    """Every attribute's survivor for one golden record."""

    survivors: dict[str, Survivor] = field(default_factory=dict)

    def values(self) -> dict[str, Any]:
        return {name: survivor.value for name, survivor in self.survivors.items()}

    def lineage(self) -> dict[str, Any]:
        return {name: survivor.lineage() for name, survivor in self.survivors.items() if survivor.rule != "empty"}


def is_missing(value: Any) -> bool:
    """Empty strings, None and empty lists or objects count as "no value"."""
    return value is None or value == "" or value == [] or value == {}


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _pick(attribute: str, candidates: Sequence[SourceView], rule: RuleSpec) -> Survivor:
    owners = {system: rank for rank, system in enumerate(rule.systems)}
    owned = [source for source in candidates if source.system in owners]
    if owned:
        best_rank = min(owners[source.system] for source in owned)
        top = [source for source in owned if owners[source.system] == best_rank]
        winner = max(top, key=SourceView.recency_key)
        return Survivor(winner.values[attribute], winner, f"owner:{winner.system}")
    if rule.fallback == MOST_COMPLETE:
        winner = max(candidates, key=lambda source: (source.completeness, source.recency_key()))
    elif rule.fallback == MOST_FREQUENT:
        counts = Counter(_canonical(source.values[attribute]) for source in candidates)
        winner = max(
            candidates, key=lambda source: (counts[_canonical(source.values[attribute])], source.recency_key())
        )
    else:
        winner = max(candidates, key=SourceView.recency_key)
    return Survivor(winner.values[attribute], winner, rule.fallback)


def survive(
    entity_type: str,
    sources: Iterable[SourceView],
    rules: Mapping[str, RuleSpec],
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> SurvivorshipResult:
    """Choose every attribute's golden value.

    A steward override wins outright; otherwise the highest-priority owning system that has a value
    (its most recent record if it has several), else the rule's fallback among all sources. An
    attribute no source fills survives as empty.
    """
    sources = list(sources)
    overrides = overrides or {}
    coupled = COUPLED.get(entity_type, {})
    result = SurvivorshipResult()
    for attribute in SURVIVING_ATTRIBUTES[entity_type]:
        if attribute in coupled:
            continue
        if attribute in overrides:
            override = overrides[attribute]
            result.survivors[attribute] = Survivor(override["value"], None, "override", override=dict(override))
            continue
        candidates = [source for source in sources if not is_missing(source.values.get(attribute))]
        if not candidates:
            result.survivors[attribute] = Survivor(None, None, "empty")
            continue
        result.survivors[attribute] = _pick(attribute, candidates, rules.get(attribute, DEFAULT_RULE))
    for follower, leader in coupled.items():
        lead = result.survivors[leader]
        if lead.source is not None:
            value = lead.source.values.get(follower)
            result.survivors[follower] = Survivor(value, lead.source, lead.rule)
        elif follower in overrides:
            override = overrides[follower]
            result.survivors[follower] = Survivor(override["value"], None, "override", override=dict(override))
        else:
            result.survivors[follower] = Survivor(None, None, "empty")
    return result
