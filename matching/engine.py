"""Who is this record? The matcher's entry point: block, compare, score, decide, explain.

`match_new_records` is called by ingest for every batch of new source records; `match_on_entry`
answers the same question for a record that is not stored (a CRM's "new account" form) and writes
nothing. Both find candidates through the indexed BlockingKey table, score them with the active
MatchModel (Fellegi-Sunter, matching/scoring.py) and decide with the entity type's MatchSettings:

- at or above auto-link: the record joins that golden record, but only if it matches the golden
  record's cluster, not one member of it (no chaining through a weak link), and only if no other
  golden record also clears auto-link (two would be a steward's call);
- between review and auto-link: the record gets a golden record of its own and a MatchCandidate
  pairs it with each likely duplicate, with the explanation, for a steward;
- below review: a new golden record.

Records of one batch are matched in order, each against the hub and against the batch's earlier
records, so a file holding a duplicate twice makes one golden record, not two.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import connection

from matching.features import IDENTIFIER_KEY_PREFIXES, Features, blocking_keys, features
from matching.frequencies import Frequencies, frequencies_all, frequencies_count, frequencies_for
from matching.models import BlockingKey, MatchModel, MatchOutcome, MatchProfile, MatchSettings
from matching.scoring import DEFAULT_PARAMETERS, Score, Scorer, probability, weight_of
from mdm.models import GoldenStatus, SourceRecord
from mdm.standardisation import gtin_is_valid

# At most this many candidate golden records are scored per record: those sharing the most (and the
# rarest) blocking keys with it. A true duplicate shares several keys; a crowd sharing one common
# word does not get compared at all.
MAX_CANDIDATES = 8
RANK_FLOOR = 0.25
# A golden record is compared through at most this many of its source records (its newest), and a
# cluster judged on them: enough to see a weak link, without comparing a record with 50 copies of itself.
CLUSTER_SAMPLE = 10
# A golden record none of whose newest SCREEN_MEMBERS sources reaches review is no candidate.
SCREEN_MEMBERS = 3
# "Matches the cluster": at least this share of the members sampled score at or above review.
CLUSTER_SUPPORT = 0.8


@dataclass(frozen=True)
class Target:
    """A golden record a record may join: an existing one (golden_pk) or one made earlier in this batch (group)."""

    golden_pk: int | None = None
    group: int | None = None


@dataclass
class CandidateScore:
    """A candidate golden record's score against one record: the best member's weight and the cluster check.

    The explanation of the best member (`best`) is built on first use: most candidates are only ranked.
    """

    target: Target
    weight: float
    member_probabilities: list[float]
    supported: bool
    _explain: Callable[[], Score] = field(repr=False, compare=False)
    _best: Score | None = field(default=None, repr=False, compare=False)
    member_index: int = -1  # the best member's position in the members list it was scored against
    shares_identifier: bool = False  # the record and the golden record's sampled members share a valid identifier

    @property
    def probability(self) -> float:
        return probability(self.weight)

    @property
    def best(self) -> Score:
        if self._best is None:
            self._best = self._explain()
        return self._best

    def summary(self) -> dict[str, Any]:
        return {
            "probability": round(self.probability, 6),
            "match_weight": round(self.weight, 3),
            "members_compared": len(self.member_probabilities),
            "cluster_supported": self.supported,
        }


@dataclass
class LinkDecision:
    """Where a new source record goes, why, and what a steward should look at."""

    golden_pk: int | None
    group: int
    outcome: str
    reason: str
    probability: float | None = None
    explanation: dict[str, Any] = field(default_factory=dict)
    candidates: list[CandidateScore] = field(default_factory=list)
    review: list[CandidateScore] = field(default_factory=list)
    features: Features = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class MatchContext:
    """The model and thresholds in force for one entity type."""

    entity_type: str
    model_version: int
    scorer: Scorer
    review_threshold: float
    auto_link_threshold: float
    max_block_size: int
    auto_link_margin: float = 10.0
    # Term-value counts for the records being matched (frequencies.py); None scores without them.
    frequencies: Frequencies | None = None


def match_context(entity_type: str, *, batch: bool = False) -> MatchContext:
    """The active model and the settings of an entity type (built-in defaults until any are stored). For a batch
    run (`batch`), with the term frequencies of every value records share; real time reads its records' own."""
    model = MatchModel.objects.filter(entity_type=entity_type, is_active=True).first()
    settings = MatchSettings.objects.filter(entity_type=entity_type).first() or MatchSettings(entity_type=entity_type)
    parameters = model.parameters if model else DEFAULT_PARAMETERS
    # Doubtful pairs (scoring.Scorer.cap) weigh at most the middle of the review band: a steward's, never automatic.
    doubt = (weight_of(settings.review_threshold) + weight_of(settings.auto_link_threshold)) / 2
    return MatchContext(
        entity_type=entity_type,
        model_version=model.version if model else 0,
        scorer=_scorer(model.pk if model else None, parameters, doubt),
        review_threshold=settings.review_threshold,
        auto_link_threshold=settings.auto_link_threshold,
        max_block_size=settings.max_block_size,
        auto_link_margin=settings.auto_link_margin,
        frequencies=frequencies_all(entity_type) if batch else None,
    )


_SCORERS: dict[tuple[int | None, float], Scorer] = {}


def _scorer(model_pk: int | None, parameters: dict[str, Any], doubt_weight: float) -> Scorer:
    """Scorers by model row (None: the built-in parameters) and doubt cap: a model's parameters never change, so
    each is built once."""
    key = (model_pk, round(doubt_weight, 9))
    if key not in _SCORERS:
        _SCORERS[key] = Scorer(parameters, doubt_weight=doubt_weight)
    return _SCORERS[key]


# --- Blocking --------------------------------------------------------------------------------------


def keyed_goldens(entity_type: str, keys: set[str], cap: int) -> dict[str, list[int]]:
    """The golden records filed under each key, leaving out keys held by more than `cap` source records."""
    if not keys:
        return {}
    limit = cap + 1
    rows: list[tuple[str, int]] = []
    ordered = sorted(keys)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Keys over the cap are dropped in the database: a common key costs an index-only scan of cap + 1
            # entries (the index carries golden_id), not cap + 1 rows sent to Python and thrown away.
            cursor.execute(
                "SELECT k.key, array_agg(b.golden_id) FROM unnest(%s::text[]) AS k(key) CROSS JOIN LATERAL ("
                " SELECT golden_id FROM matching_blockingkey WHERE entity_type = %s AND key = k.key LIMIT %s) b"
                " GROUP BY k.key HAVING count(*) <= %s",
                [ordered, entity_type, limit, cap],
            )
            return {key: sorted(set(pks)) for key, pks in cursor.fetchall()}
        else:
            for start in range(0, len(ordered), 500):
                chunk = ordered[start : start + 500]
                marks = ", ".join(["%s"] * len(chunk))
                sql = (  # only placeholders are interpolated
                    "SELECT key, golden_id FROM (SELECT key, golden_id, ROW_NUMBER() OVER (PARTITION BY key) AS n"  # noqa: S608
                    f" FROM matching_blockingkey WHERE entity_type = %s AND key IN ({marks})) WHERE n <= %s"
                )
                cursor.execute(sql, [entity_type, *chunk, limit])
                rows.extend(cursor.fetchall())
    found: dict[str, list[int]] = defaultdict(list)
    for key, golden_pk in rows:
        found[key].append(golden_pk)
    return {key: sorted(set(pks)) for key, pks in found.items() if len(pks) <= cap}


def rank_targets(shared: dict[Any, float], limit: int) -> list[Any]:
    """The candidates sharing the most key weight, best first: at most `limit`, and none sharing less than
    RANK_FLOOR of the best one's (a record that shares a tax ID and a phone with one golden record need
    not be compared with every record that merely shares a word of its name)."""
    ranked = sorted(shared.items(), key=lambda item: (-item[1], str(item[0])))[:limit]
    if not ranked:
        return []
    floor = ranked[0][1] * RANK_FLOOR
    return [target for target, weight in ranked if weight >= floor]


def shortlist(
    keys: Iterable[str],
    holders_of: Mapping[str, Sequence[Any]],
    *,
    cap: int | None = None,
    accept: Callable[[Any], bool] | None = None,
) -> list[Any]:
    """The candidates filed under these keys, best first (`rank_targets`), each weighted by what sharing
    its keys says (`key_weight`); keys held by more than `cap` are skipped, `accept` filters candidates."""
    shared: dict[Any, float] = defaultdict(float)
    for key in keys:
        holders = holders_of.get(key, ())
        if cap is not None and len(holders) > cap:
            continue
        for target in holders:
            if accept is None or accept(target):
                shared[target] += key_weight(key, len(holders))
    return rank_targets(shared, MAX_CANDIDATES)


def key_weight(key: str, holders: int) -> float:
    """How much sharing a key says: identifiers a lot, a word shared with many records little."""
    base = 4.0 if key.startswith(IDENTIFIER_KEY_PREFIXES) else 1.0
    return base / (1 + holders) ** 0.5


# --- Deciding -----------------------------------------------------------------------------------------


def _identifiers(found_list: Iterable[Features]) -> dict[str, set[str]]:
    """Check-digit identifiers by scheme (a valid tax ID per issuing country, a valid GTIN's item reference):
    values that never vary by typo. A GTIN counts by its item reference, so a case's GTIN-14 is no conflict with
    its unit's GTIN-13; a GTIN with a wrong check digit (a typo) counts not at all."""
    found_ids: dict[str, set[str]] = defaultdict(set)
    for found in found_list:
        for tax in found.get("tax") or ():
            found_ids["tax:" + tax.split(":", 1)[0]].add(tax)
        if found.get("gtin") and gtin_is_valid(found["gtin"]):
            found_ids["gtin"].add(found["gtin"][1:13])
    return found_ids


def identifiers_conflict(mine: Iterable[Features], theirs: Iterable[Features]) -> bool:
    """True when both sides hold a validated identifier of one scheme and share none of them (two VAT numbers
    of one country, two GTINs): whatever the names say, they are different entities, or a steward must say."""
    left = _identifiers(mine)
    if not left:
        return False  # nothing to conflict with: the common case, and on every candidate of the hot path
    right = _identifiers(theirs)
    return any(values and right.get(scheme) and not values & right[scheme] for scheme, values in left.items())


def identifiers_shared(mine: Iterable[Features], theirs: Iterable[Features]) -> bool:
    """True when the two sides share a validated identifier (a valid tax ID, a valid GTIN's item reference)."""
    left = _identifiers(mine)
    if not left:
        return False
    right = _identifiers(theirs)
    return any(values & right.get(scheme, set()) for scheme, values in left.items())


def score_target(
    context: MatchContext, found: Features, target: Target, members: Sequence[Features]
) -> CandidateScore | None:
    """Score a record against a golden record's members (its newest CLUSTER_SAMPLE).

    The first few members decide whether the golden record is a candidate at all; only then are the
    rest compared, to check that the record matches the cluster and not one member of it. Weights are
    computed alone; the explanation is built for the best member only.
    """
    sample = members[-CLUSTER_SAMPLE:]
    review_weight = weight_of(context.review_threshold)
    weighed: list[tuple[float, int]] = []
    for position in range(len(members) - 1, len(members) - 1 - len(sample), -1):
        weight = context.scorer.weight(found, members[position], context.frequencies)
        if weight is not None:
            weighed.append((weight, position))
        if len(members) - position == SCREEN_MEMBERS and all(w < review_weight for w, _ in weighed):
            break
    if not weighed:
        return None
    weighed.sort(key=lambda item: -item[0])
    best_weight, best_position = weighed[0]
    best_member = members[best_position]
    probabilities = [probability(weight) for weight, _ in weighed]
    support = sum(p >= context.review_threshold for p in probabilities) / len(sample)
    supported = support >= CLUSTER_SUPPORT and not identifiers_conflict([found], sample)
    return CandidateScore(
        target,
        best_weight,
        probabilities,
        supported,
        lambda: _explained(context.scorer.score(found, best_member, context.frequencies)),
        member_index=best_position,
        shares_identifier=identifiers_shared([found], sample),
    )


def _explained(score: Score | None) -> Score:
    """The score of a member already weighed (of the record's own kind, so never None)."""
    if score is None:
        raise ValueError("a record and a member of another kind have no score")
    return score


def clearly_ahead(context: MatchContext, best: Any, second: Any) -> bool:
    """Whether the best of several golden records that clear auto-link wins clearly: it matches its cluster, its
    match weight leads the second's by the entity type's margin (a record whose true match scores 1.0 beside a
    sister company at 0.98 is no steward's question), and the second shares no valid identifier with the record
    (a record carrying two legal entities' tax IDs is a steward's question however the rest scores). `best` and
    `second` have `weight` and `shares_identifier`, `best` has `supported`."""
    return (
        bool(best.supported)
        and not second.shares_identifier
        and best.weight - second.weight >= context.auto_link_margin
    )


def _decide(context: MatchContext, scored: list[CandidateScore]) -> tuple[str, CandidateScore | None, str]:
    """(outcome, the candidate joined or None, reason) for a record's scored candidates, best first."""
    auto = [c for c in scored if c.probability >= context.auto_link_threshold]
    linkable = [c for c in auto if c.supported]
    if len(auto) == 1 and linkable:
        return MatchOutcome.AUTO_LINKED, linkable[0], f"match probability {linkable[0].probability:.4f}"
    if len(auto) > 1 and clearly_ahead(context, auto[0], auto[1]):
        best = auto[0]
        margin = best.weight - auto[1].weight
        reason = f"match probability {best.probability:.4f}, {margin:.1f} bits ahead of the next golden record"
        return MatchOutcome.AUTO_LINKED, best, reason
    if len(auto) > 1:
        return MatchOutcome.REVIEW, None, f"{len(auto)} golden records clear the auto-link threshold"
    if auto:
        return MatchOutcome.REVIEW, None, "matches one member of the golden record, not its cluster"
    if scored and scored[0].probability >= context.review_threshold:
        return MatchOutcome.REVIEW, None, f"possible duplicate, probability {scored[0].probability:.4f}"
    return MatchOutcome.NEW, None, "no match: new golden record"


def golden_profiles(entity_type: str, golden_pks: Iterable[int]) -> dict[int, list[Features]]:
    members: dict[int, list[Features]] = defaultdict(list)
    rows = MatchProfile.objects.filter(
        entity_type=entity_type, golden_id__in=list(golden_pks), golden__status=GoldenStatus.ACTIVE
    ).values_list("golden_id", "features")
    for golden_pk, found in rows.order_by("source_record_id"):
        members[golden_pk].append(found)
    return members


def match_new_records(
    entity_type: str, values: Sequence[dict[str, Any]], *, context: MatchContext | None = None
) -> tuple[MatchContext, list[LinkDecision]]:
    """Decide, for each new record (standardised values), which golden record it joins; in order."""
    context = context or match_context(entity_type)
    found_all = [features(entity_type, item) for item in values]
    context = replace(context, frequencies=frequencies_for(found_all))
    keys_all = [blocking_keys(entity_type, found) for found in found_all]
    keyed = keyed_goldens(entity_type, {key for keys in keys_all for key in keys}, context.max_block_size)

    # Shortlist each record's hub candidates first, so only their profiles are read.
    shortlists = [shortlist(keys, keyed) for keys in keys_all]
    members: dict[Target, list[Features]] = {
        Target(golden_pk=pk): profile
        for pk, profile in golden_profiles(entity_type, {pk for shortlist in shortlists for pk in shortlist}).items()
    }

    batch_keys: dict[str, list[Target]] = defaultdict(list)  # keys of this batch's records so far
    decisions: list[LinkDecision] = []
    for index, (found, keys, hub_candidates) in enumerate(zip(found_all, keys_all, shortlists, strict=True)):
        targets = [Target(golden_pk=pk) for pk in hub_candidates if Target(golden_pk=pk) in members]
        batch_candidates = shortlist(keys, batch_keys, cap=context.max_block_size)
        targets += [target for target in batch_candidates if target not in targets]
        scored = [
            result
            for target in targets
            if (result := score_target(context, found, target, members.get(target, ()))) is not None
        ]
        scored.sort(key=lambda candidate: -candidate.weight)
        outcome, joined, reason = _decide(context, scored)
        if joined is not None:
            target = joined.target
            golden_pk, group = target.golden_pk, target.group if target.group is not None else index
        else:
            target, golden_pk, group = Target(group=index), None, index
        review = [c for c in scored if c.probability >= context.review_threshold] if outcome == "review" else []
        decisions.append(
            LinkDecision(
                golden_pk=golden_pk,
                group=group,
                outcome=outcome,
                reason=reason,
                probability=scored[0].probability if scored else None,
                explanation=(joined or scored[0]).best.explanation() if scored else {},
                candidates=scored[:5],
                review=review[:5],
                features=found,
                keys=keys,
            )
        )
        members.setdefault(target, []).append(found)
        for key in keys:
            if target not in batch_keys[key]:
                batch_keys[key].append(target)
    return context, decisions


def deferred_decisions(
    entity_type: str, values: Sequence[dict[str, Any]], *, context: MatchContext | None = None
) -> tuple[MatchContext, list[LinkDecision]]:
    """A first load's decisions: each new record starts its own golden record, keeping its match form and
    keys for the batch run (`manage.py match`) that deduplicates the load afterwards."""
    context = context or match_context(entity_type)
    decisions = []
    for index, item in enumerate(values):
        found = features(entity_type, item)
        decisions.append(
            LinkDecision(
                golden_pk=None,
                group=index,
                outcome=MatchOutcome.DEFERRED,
                reason="matching deferred to the batch run (manage.py match)",
                features=found,
                keys=blocking_keys(entity_type, found),
            )
        )
    return context, decisions


def match_on_entry(entity_type: str, values: dict[str, Any], *, limit: int = 5) -> dict[str, Any]:
    """Does this record already exist? The top candidates with probabilities and explanations; writes nothing."""
    found = features(entity_type, values)
    context = replace(match_context(entity_type), frequencies=frequencies_for([found]))
    keys = blocking_keys(entity_type, found)
    keyed = keyed_goldens(entity_type, set(keys), context.max_block_size)
    profiles = golden_profiles(entity_type, shortlist(keys, keyed))
    scored = [
        result
        for pk, profile in profiles.items()
        if (result := score_target(context, found, Target(golden_pk=pk), profile)) is not None
    ]
    scored.sort(key=lambda candidate: -candidate.weight)
    outcome, joined, reason = _decide(context, scored)
    return {
        "context": context,
        "outcome": outcome,
        "reason": reason,
        "joined": joined,
        "candidates": [c for c in scored if c.probability >= context.review_threshold][:limit] or scored[:1],
        "keys": keys,
    }


def blocking_keys_replace(
    source_records: Sequence[SourceRecord], keys: Sequence[Sequence[str]], *, new: int = 0
) -> None:
    """Store the keys of these source records, replacing any they had; the first `new` records have none yet."""
    ids = [record.pk for record in source_records[new:]]
    if ids:
        BlockingKey.objects.filter(source_record_id__in=ids).delete()
    BlockingKey.objects.bulk_create(
        [
            BlockingKey(source_record_id=record.pk, golden_id=record.golden_id, entity_type=record.entity_type, key=key)
            for record, record_keys in zip(source_records, keys, strict=True)
            for key in dict.fromkeys(record_keys)
        ],
        batch_size=2000,
    )


def match_profiles_replace(source_records: Sequence[SourceRecord], found: Sequence[Features], *, new: int = 0) -> None:
    """Store the match form of these source records, replacing any they had; the first `new` have none yet. The
    term frequencies follow: the forms replaced are uncounted, the new ones counted."""
    ids = [record.pk for record in source_records[new:]]
    replaced: list[Features] = []
    if ids:
        stored = MatchProfile.objects.filter(source_record_id__in=ids)
        replaced = list(stored.values_list("features", flat=True))
        stored.delete()
    frequencies_count(added=found, removed=replaced)
    MatchProfile.objects.bulk_create(
        [
            MatchProfile(
                source_record_id=record.pk, golden_id=record.golden_id, entity_type=record.entity_type, features=item
            )
            for record, item in zip(source_records, found, strict=True)
        ],
        batch_size=1000,
    )


def match_forms_rebuild(
    entity_type: str, *, chunk_size: int = 2000, on_progress: Callable[[int], Any] | None = None
) -> int:
    """Recompute every source record's match form and blocking keys from its standardised values and store them
    (after the definitions in matching/features.py change: a new key, a new attribute). Chunk by chunk, each in a
    transaction of its own; golden records and decisions are untouched. Returns the records rebuilt."""
    from django.db import transaction

    done, last = 0, 0
    while True:
        rows = list(
            SourceRecord.objects.filter(entity_type=entity_type, pk__gt=last)
            .order_by("pk")
            .values_list("pk", "golden_id", "standardised")[:chunk_size]
        )
        if not rows:
            return done
        records = [SourceRecord(pk=pk, golden_id=golden_pk, entity_type=entity_type) for pk, golden_pk, _ in rows]
        found = [features(entity_type, values or {}) for _, _, values in rows]
        with transaction.atomic():
            blocking_keys_replace(records, [blocking_keys(entity_type, item) for item in found])
            match_profiles_replace(records, found)
        done += len(rows)
        last = rows[-1][0]
        if on_progress is not None:
            on_progress(len(rows))
