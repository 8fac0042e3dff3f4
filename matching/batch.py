"""Batch matching: re-match the golden records of a type (all, or those a fresh import touched).

Real-time matching places each source record as it arrives. The batch run looks again at golden
records against each other: after a first load with deferred matching, after a model is retrained
or thresholds change, or after a large import. Like Splink, it first scores, then clusters, but
the clustering keeps the hub's no-chaining rule and the result is applied to golden records:

1. **Score** (`score_table`, read-only): the entity type's match profiles and stored blocking keys are
   loaded once into a columnar `ProfileTable` (matching/profiles.py). A sparse golden-records x keys
   matrix (integer key IDs; keys held by more than max_block_size records dropped) multiplied by its
   weighted transpose gives, for a block of younger records at a time, the key weight each shares with
   every older record: the shortlist is the best MAX_CANDIDATES, as real time's. The shortlisted pairs
   are then compared all at once (`golden_pair_edges`: rapidfuzz's cpdist and integer codes over the
   newest CLUSTER_SAMPLE members of each side, with the same weights and cluster support as real time),
   and pairs at or above review come back as compact `Edge`s. `--workers` processes share the blocks
   (forked after the table is loaded, so they share it); `score_chunk` does the same for a Celery
   worker's chunk, finding candidates through the indexed BlockingKey table.
2. **Plan** (`plan_merges`, one process, in memory): golden records are taken oldest first; each joins
   the cluster (an older golden record plus what already joined it in this run) it clearly matches:
   above auto-link, matching the cluster and not one member of it, and no second cluster above
   auto-link. Anything less clear becomes a review candidate. A pair a steward rejected is never
   merged or proposed, also not through another record of the cluster.
3. **Apply** (`merge_plan_apply`): merges in bulk transactions (`mdm.merges.golden_records_merge_many`:
   the older record keeps its golden ID, the retired ID resolves to it), candidates for stewards,
   each with the explanation of its best pair. A merge the database refuses by then (a steward
   merged one of the records meanwhile) becomes a review candidate.

`manage.py match` runs step 1 over all chunks (in N processes), then steps 2 and 3 once, so chunks
never race each other. With `--celery` each chunk is scored, planned and applied by a worker on its
own; a merge into a record another worker retired meanwhile is refused and goes to review.
"""

import functools
import operator
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from django.db.models import Q
from scipy import sparse

from matching.comparisons import Pairs
from matching.engine import (
    CLUSTER_SAMPLE,
    CLUSTER_SUPPORT,
    MAX_CANDIDATES,
    RANK_FLOOR,
    MatchContext,
    clearly_ahead,
    identifiers_conflict,
    identifiers_shared,
    keyed_goldens,
    shortlist,
)
from matching.features import IDENTIFIER_KEY_PREFIXES
from matching.models import CandidateStatus, MatchCandidate, MatchProfile
from matching.profiles import KINDS, ProfileTable, profile_table, stored_keys
from matching.scoring import probability, weight_of
from mdm.context import acting
from mdm.history import bulk_create_tracked
from mdm.merges import MergeRequest, golden_records_merge_many
from mdm.models import GoldenRecord, GoldenStatus
from mdm.services import system_actor

# Merges applied per transaction: big enough that a first load's hundreds of thousands of merges take
# minutes, small enough that a failure loses little and locks stay short.
APPLY_BATCH = 2000
# Review candidates queued per golden record, best first.
PROPOSALS_PER_RECORD = 5


class Edge(NamedTuple):
    """A younger golden record's best score against an older one (at or above review)."""

    younger: int
    older: int
    weight: float
    supported: bool  # the younger record matches the older one's cluster, not one member of it
    mine: int  # source record of the younger record's best member
    theirs: int  # source record of the older record's best member
    conflict: bool = False  # the two hold different check-digit identifiers of one scheme (engine.identifiers_conflict)
    shares_identifier: bool = False  # the younger record's best member shares a valid identifier with the older one

    @property
    def probability(self) -> float:
        return probability(self.weight)


@dataclass
class ChunkScores:
    """Step 1's result for one chunk: its edges, and the pairs stewards rejected (never merged or proposed)."""

    goldens: int = 0
    compared_pairs: int = 0
    skipped_rejected: int = 0
    edges: list[Edge] = field(default_factory=list)
    known: set[frozenset[int]] = field(default_factory=set)

    def add(self, other: "ChunkScores") -> None:
        self.goldens += other.goldens
        self.compared_pairs += other.compared_pairs
        self.skipped_rejected += other.skipped_rejected
        self.edges.extend(other.edges)
        self.known |= other.known


@dataclass
class Plan:
    """Step 2's result: merges (in the order to apply them) and review candidates, each with its best edge."""

    # (survivor, merged, the edge that decided it) and (candidate, golden record to review, its best edge)
    merges: list[tuple[int, int, Edge]] = field(default_factory=list)
    proposals: list[tuple[int, int, Edge]] = field(default_factory=list)


@dataclass
class BatchStats:
    """What a run (or a chunk) did."""

    goldens: int = 0
    compared_pairs: int = 0
    merged: int = 0
    proposed: int = 0
    skipped_rejected: int = 0
    merge_refused: int = 0
    messages: list[str] = field(default_factory=list)

    def add(self, other: "BatchStats") -> None:
        for name in ("goldens", "compared_pairs", "merged", "proposed", "skipped_rejected", "merge_refused"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.messages.extend(other.messages[:20])


# --- 1. Score ------------------------------------------------------------------------------------------

# Up to this many golden pairs are scored member pair by member pair: arrays cost more for a handful.
ONE_BY_ONE = 8
# Younger golden records whose candidates are found and scored together (bounds the memory of one step).
SCORE_BLOCK = 50_000


def _pairs(golden_pks: Sequence[int], statuses: list[str]) -> set[frozenset[int]]:
    rows = MatchCandidate.objects.filter(
        Q(golden_id__in=golden_pks) | Q(candidate_id__in=golden_pks), status__in=statuses
    ).values_list("golden_id", "candidate_id")
    return {frozenset(row) for row in rows}


def _rejected_pairs(golden_pks: Sequence[int] | None = None, entity_type: str | None = None) -> set[frozenset[int]]:
    """Pairs a steward said are not a match: never merged or proposed again (a merge carries them over)."""
    if golden_pks is not None:
        return _pairs(golden_pks, [CandidateStatus.REJECTED])
    rows = MatchCandidate.objects.filter(entity_type=entity_type, status=CandidateStatus.REJECTED)
    return {frozenset(row) for row in rows.values_list("golden_id", "candidate_id")}


def _decided_or_open_pairs(golden_pks: Sequence[int]) -> set[frozenset[int]]:
    """Pairs a steward rejected, and pairs already waiting for one: neither is proposed again."""
    return _pairs(golden_pks, [CandidateStatus.REJECTED, CandidateStatus.OPEN])


def _sample(table: ProfileTable, goldens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First row and size of each golden record's newest CLUSTER_SAMPLE members."""
    ends = table.starts[goldens + 1]
    sizes = np.minimum(ends - table.starts[goldens], CLUSTER_SAMPLE)
    return ends - sizes, sizes


def golden_pair_edges(context: MatchContext, table: ProfileTable, mine: np.ndarray, theirs: np.ndarray) -> list[Edge]:
    """Each golden record mine[i] against theirs[i] (numbers in the table), all pairs at once: the edges at or
    above review. As in real time (engine.score_target), up to CLUSTER_SAMPLE newest members of each side are
    compared; the edge is the best member pair, and it is `supported` when that member matches the other
    record's cluster (CLUSTER_SUPPORT of its sampled members at or above review) and most of my sampled members
    reach review too. Check-digit identifiers that conflict veto support, as in real time."""
    mine = np.asarray(mine, dtype=np.int64)
    theirs = np.asarray(theirs, dtype=np.int64)
    if not len(mine):
        return []
    if len(mine) <= ONE_BY_ONE:
        return _edges_one_by_one(context, table, mine, theirs)
    my_start, my_size = _sample(table, mine)
    their_start, their_size = _sample(table, theirs)
    # Every sampled member of mine against every sampled member of theirs, pair by pair of golden records.
    counts = my_size * their_size
    pair = np.repeat(np.arange(len(mine)), counts)
    within = np.arange(len(pair)) - np.repeat(np.cumsum(counts) - counts, counts)
    my_offset = within // their_size[pair]
    their_offset = within % their_size[pair]
    left = my_start[pair] + my_offset
    right = their_start[pair] + their_offset
    weights = np.full(len(pair), -np.inf)
    kinds = table.kinds
    for code in np.flatnonzero(np.bincount(kinds[left], minlength=len(KINDS))):
        same = (kinds[left] == code) & (kinds[right] == code)
        if same.any():
            weights[same] = context.scorer.weights_of(
                KINDS[code], Pairs(table, left[same], right[same]), context.frequencies
            )
    comparable = np.isfinite(weights)
    review = weights >= weight_of(context.review_threshold)
    # Per (golden pair, my member): its best member of theirs (the newest on a tie, as score_target) and the
    # share of their sampled members it reaches review with.
    member = pair * CLUSTER_SAMPLE + my_offset
    order = np.lexsort((-their_offset, -weights, member))
    first = np.ones(len(order), dtype=bool)
    first[1:] = member[order][1:] != member[order][:-1]
    best_of_member = order[first & comparable[order]]  # rows of the member's best pair
    reached = np.bincount(member[review], minlength=len(mine) * CLUSTER_SAMPLE)
    # Per golden pair: the best member (the oldest on a tie, as _edges_one_by_one) and the share of my members
    # reaching review.
    by_pair = pair[best_of_member]
    order = np.lexsort((my_offset[best_of_member], -weights[best_of_member], by_pair))
    chosen = best_of_member[order]
    head = np.ones(len(chosen), dtype=bool)
    head[1:] = by_pair[order][1:] != by_pair[order][:-1]
    members_scored = np.bincount(by_pair, minlength=len(mine))
    members_reaching = np.bincount(by_pair[review[best_of_member]], minlength=len(mine))
    rows = chosen[head]
    rows = rows[review[rows]]
    index = pair[rows]
    member_supported = reached[member[rows]] / their_size[index] >= CLUSTER_SUPPORT
    members_supported = members_reaching[index] / np.maximum(members_scored[index], 1) >= CLUSTER_SUPPORT
    with_ids = _with_identifiers(table)
    checked = with_ids[mine[index]] & with_ids[theirs[index]]  # identifiers to compare: few records have any
    edges = [
        Edge(younger, older, weight, supported, source, other)
        for younger, older, weight, supported, source, other in zip(
            table.golden_pks[mine[index][~checked]].tolist(),
            table.golden_pks[theirs[index][~checked]].tolist(),
            weights[rows[~checked]].tolist(),
            (member_supported & members_supported)[~checked].tolist(),
            table.source_pks[left[rows[~checked]]].tolist(),
            table.source_pks[right[rows[~checked]]].tolist(),
            strict=True,
        )
    ]
    for row, pair_index, member, members in zip(
        rows[checked].tolist(),
        index[checked].tolist(),
        member_supported[checked].tolist(),
        members_supported[checked].tolist(),
        strict=True,
    ):
        edges.append(
            _edge(
                table,
                int(mine[pair_index]),
                int(theirs[pair_index]),
                float(weights[row]),
                (int(left[row]), int(right[row])),
                member,
                members,
            )
        )
    return edges


def _edge(
    table: ProfileTable,
    mine: int,
    theirs: int,
    weight: float,
    rows: tuple[int, int],
    member_supported: bool,
    members_supported: bool,
) -> Edge:
    """The edge of golden record mine to theirs (numbers), from its best member pair (rows) and the two cluster
    checks; check-digit identifiers that conflict veto support (read only when both hold some)."""
    conflict = shares = False
    with_ids = _with_identifiers(table)
    if with_ids[mine] and with_ids[theirs]:
        their_forms = [table.features(other) for other in table.members(theirs)]
        conflict = identifiers_conflict([table.features(row) for row in table.members(mine)], their_forms)
        sampled = their_forms[-CLUSTER_SAMPLE:]
        member_supported = member_supported and not identifiers_conflict([table.features(rows[0])], sampled)
        shares = identifiers_shared([table.features(rows[0])], sampled)
    return Edge(
        younger=int(table.golden_pks[mine]),
        older=int(table.golden_pks[theirs]),
        weight=weight,
        supported=bool(member_supported and members_supported and not conflict),
        mine=int(table.source_pks[rows[0]]),
        theirs=int(table.source_pks[rows[1]]),
        conflict=conflict,
        shares_identifier=shares,
    )


def _edges_one_by_one(context: MatchContext, table: ProfileTable, mine: np.ndarray, theirs: np.ndarray) -> list[Edge]:
    """golden_pair_edges for a few pairs (the clustering step asks about one record at a time): the same
    definition, member pair by member pair, without the fixed cost of the array form."""
    review = weight_of(context.review_threshold)

    def weigh(left: Any, right: Any) -> float | None:
        return context.scorer.weight(left, right, context.frequencies)

    edges: list[Edge] = []
    for a, b in zip(mine.tolist(), theirs.tolist(), strict=True):
        my_rows = list(table.members(a))[-CLUSTER_SAMPLE:]
        their_rows = list(table.members(b))[-CLUSTER_SAMPLE:]
        forms = {row: table.features(row) for row in {*my_rows, *their_rows}}
        best: tuple[float, int, int, bool] | None = None
        scored = reaching = 0
        for row in my_rows:  # oldest first: on a tie the older member stays best
            weighed = [
                (weight, other) for other in their_rows if (weight := weigh(forms[row], forms[other])) is not None
            ]
            if not weighed:
                continue
            scored += 1
            top = max(weight for weight, _ in weighed)
            newest = next(other for weight, other in reversed(weighed) if weight == top)
            reaching += top >= review
            supported = sum(weight >= review for weight, _ in weighed) / len(their_rows) >= CLUSTER_SUPPORT
            if best is None or top > best[0]:
                best = (top, row, newest, supported)
        if best is not None and best[0] >= review:
            weight, row, other, supported = best
            edges.append(_edge(table, a, b, weight, (row, other), supported, reaching / scored >= CLUSTER_SUPPORT))
    return edges


def _with_identifiers(table: ProfileTable) -> np.ndarray:
    """Per golden record: whether any member holds a check-digit identifier (a valid tax ID, a GTIN)."""
    if "with identifiers" not in table.derived:
        rows = (table.column("tax").codes >= 0) | (table.column("gtin").codes >= 0)
        table.derived["with identifiers"] = np.bincount(table.row_golden[rows], minlength=table.goldens) > 0
    return table.derived["with identifiers"]


def key_matrix(table: ProfileTable, cap: int) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    """The golden records x blocking keys incidence (keys held by 2..cap golden records), and its transpose
    weighted by what sharing each key says (engine.key_weight): their product sums the weight of the keys two
    golden records share. Computed once per table and cap (worker processes inherit it)."""
    if ("key matrix", cap) in table.derived:
        return table.derived[("key matrix", cap)]
    goldens = max(table.goldens, 1)
    cells = _distinct(table.key_ids.astype(np.int64) * goldens + table.key_goldens)
    keys = cells // goldens
    holders = np.bincount(keys, minlength=len(table.keys))
    kept = (holders[keys] >= 2) & (holders[keys] <= cap)  # a key of one record finds nobody: most keys
    cells = cells[kept]
    keys, members = np.divmod(cells, goldens)
    used = _distinct(keys, ordered=True)
    base = np.fromiter(
        (table.keys[key].startswith(IDENTIFIER_KEY_PREFIXES) for key in used), dtype=bool, count=len(used)
    )
    key_weights = np.zeros(len(table.keys))
    key_weights[used] = np.where(base, 4.0, 1.0) / np.sqrt(1.0 + holders[used])
    # Columns renumbered to the keys in use; cells are sorted by key, so the transpose is built in order.
    columns = np.searchsorted(used, keys).astype(np.int32)
    starts = np.searchsorted(columns, np.arange(len(used) + 1)).astype(np.int64)
    weighted = sparse.csr_matrix(
        (key_weights[keys], members.astype(np.int32), starts), shape=(len(used), table.goldens)
    )
    incidence = weighted.T.tocsr()
    incidence.data = np.ones(len(incidence.data), dtype=np.float32)
    table.derived[("key matrix", cap)] = (incidence, weighted)
    return incidence, weighted


def _distinct(values: np.ndarray, *, ordered: bool = False) -> np.ndarray:
    """The distinct values, sorted (a sort and a comparison: faster than np.unique's hashing on millions)."""
    values = values if ordered else np.sort(values)
    if not len(values):
        return values
    first = np.ones(len(values), dtype=bool)
    first[1:] = values[1:] != values[:-1]
    return values[first]


def candidate_pairs(
    incidence: sparse.csr_matrix, weighted: sparse.csr_matrix, start: int, stop: int, selected: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Golden records start..stop-1 (numbers), each with its shortlist of older ones sharing blocking keys: the
    MAX_CANDIDATES sharing the most key weight, none below RANK_FLOOR of the best (as engine.shortlist)."""
    rows = incidence[start:stop]
    if selected is not None:
        rows = sparse.diags(selected[start:stop].astype(np.float32)) @ rows
    shared = (rows @ weighted[:, :stop]).tocsr()  # only older records can be candidates
    counts = np.diff(shared.indptr)
    younger = np.repeat(np.arange(start, stop, dtype=np.int32), counts)
    older = shared.indices
    weight = np.where(older < younger, shared.data, 0.0)  # each pair once, by its younger record
    # The best share per record first, so that only the few pairs within RANK_FLOOR of it are sorted.
    best = np.zeros(stop - start)
    filled = counts > 0
    best[filled] = np.maximum.reduceat(weight, shared.indptr[:-1][filled])
    keep = (weight > 0) & (weight >= best[younger - start] * RANK_FLOOR)
    younger, older, weight = younger[keep].astype(np.int64), older[keep].astype(np.int64), weight[keep]
    # Best first within each record: one sort of (record, -weight) packed in a float (record numbers are local
    # to the block, so the weight keeps about 1e-8 of precision; closer weights keep the matrix's order).
    order = np.argsort((younger - start) * 4096.0 - np.minimum(weight, 4000.0), kind="stable")
    younger, older = younger[order], older[order]
    first = np.ones(len(younger), dtype=bool)
    first[1:] = younger[1:] != younger[:-1]
    group_start = np.maximum.accumulate(np.where(first, np.arange(len(younger)), 0))
    keep = np.arange(len(younger)) - group_start < MAX_CANDIDATES
    return younger[keep], older[keep]


def _pair_codes(one: np.ndarray, other: np.ndarray) -> np.ndarray:
    """One integer per unordered pair of golden record numbers (both below 2**31)."""
    one, other = np.asarray(one, dtype=np.int64), np.asarray(other, dtype=np.int64)
    return np.maximum(one, other) << 32 | np.minimum(one, other)


def score_table(
    context: MatchContext,
    table: ProfileTable,
    *,
    selected: np.ndarray | None = None,
    blocks: Iterable[tuple[int, int]] | None = None,
    on_progress: Callable[[int], Any] | None = None,
) -> ChunkScores:
    """Step 1 over a whole table: each golden record (or each `selected` one) against the older ones it shares
    blocking keys with, in blocks of SCORE_BLOCK younger records (or the `blocks` given: a worker's share)."""
    incidence, weighted = key_matrix(table, context.max_block_size)
    known = _rejected_pairs(entity_type=context.entity_type)
    ends = table.golden_index([pk for pair in known if len(pair) == 2 for pk in pair]).reshape(-1, 2)
    rejected = _pair_codes(*ends[(ends >= 0).all(axis=1)].T)
    result = ChunkScores(known=known)
    if blocks is None:
        blocks = [(start, min(start + SCORE_BLOCK, table.goldens)) for start in range(0, table.goldens, SCORE_BLOCK)]
    for start, stop in blocks:
        younger, older = candidate_pairs(incidence, weighted, start, stop, selected)
        if len(rejected):
            vetoed = np.isin(_pair_codes(younger, older), rejected)
            result.skipped_rejected += int(vetoed.sum())
            younger, older = younger[~vetoed], older[~vetoed]
        result.goldens += int(np.count_nonzero(selected[start:stop])) if selected is not None else stop - start
        result.compared_pairs += len(younger)
        result.edges.extend(golden_pair_edges(context, table, younger, older))
        if on_progress is not None:
            on_progress(stop - start)
    return result


def score_chunk(context: MatchContext, golden_pks: Sequence[int]) -> ChunkScores:
    """Score these golden records against the older ones they share blocking keys with (reads only): a Celery
    worker's share of a run. Candidates are found through the indexed BlockingKey table, then the chunk and its
    candidates are loaded as one table and scored like a whole run."""
    entity_type = context.entity_type
    keys_of: dict[int, set[str]] = defaultdict(set)
    for key, golden_pk in zip(*stored_keys(entity_type, golden_pks), strict=True):
        keys_of[golden_pk].add(key)
    keyed = keyed_goldens(entity_type, {key for keys in keys_of.values() for key in keys}, context.max_block_size)
    shortlists = {
        pk: shortlist(sorted(keys), keyed, accept=functools.partial(operator.gt, pk)) for pk, keys in keys_of.items()
    }
    involved = set(keys_of) | {other for listed in shortlists.values() for other in listed}
    table = profile_table(entity_type, sorted(involved | set(golden_pks)), with_keys=False)
    known = _rejected_pairs(list(keys_of))
    result = ChunkScores(goldens=int((table.golden_index(golden_pks) >= 0).sum()), known=known)
    mine, theirs = [], []
    for pk in sorted(shortlists):
        for other in shortlists[pk]:
            if frozenset((pk, other)) in known:
                result.skipped_rejected += 1
                continue
            mine.append(pk)
            theirs.append(other)
    mine_index, their_index = table.golden_index(mine), table.golden_index(theirs)
    present = (mine_index >= 0) & (their_index >= 0)
    result.compared_pairs = int(present.sum())
    result.edges = golden_pair_edges(context, table, mine_index[present], their_index[present])
    return result


# --- 2. Plan -------------------------------------------------------------------------------------------


Compare = Callable[[int, list[int]], dict[int, Edge]]


def compare_by_scoring(context: MatchContext, table: ProfileTable | None = None) -> Compare:
    """For plan_merges: a golden record against others it was never compared with, scored now (from the table of
    the run, or from the database, which a plan has not changed yet): the edges at or above review, by the other
    record."""

    def compare(pk: int, others: list[int]) -> dict[int, Edge]:
        others = [other for other in others if other != pk]
        if table is not None:
            source = table
        else:
            source = profile_table(context.entity_type, sorted({pk, *others}), with_keys=False)
        mine, theirs = source.golden_index([pk] * len(others)), source.golden_index(others)
        present = (mine >= 0) & (theirs >= 0)
        return {edge.older: edge for edge in golden_pair_edges(context, source, mine[present], theirs[present])}

    return compare


def plan_merges(context: MatchContext, scores: ChunkScores, *, compare: Compare | None = None) -> Plan:
    """Cluster the scored golden records oldest first, without chaining (see the module's description).

    `compare` (see compare_by_scoring) scores a record against cluster members it has no edge to (they shared
    no blocking key strong enough for its shortlist); without it, such a member counts as not matching. With
    it, a record that clearly matches two clusters joins them into one when the clusters also clearly match
    each other (a duplicate that real time kept apart for lack of a shared key); otherwise it goes to review.
    """
    by_younger: dict[int, list[Edge]] = defaultdict(list)
    for edge in scores.edges:
        by_younger[edge.younger].append(edge)
    clustering = _Clustering(context, scores, compare)
    for pk in sorted(by_younger):
        clustering.decide(pk, by_younger[pk])
    return clustering.plan()


class _Clustering:
    """The clusters of one run as records join them, oldest first: which survivor each merged record went to (and
    the edge that decided it), each survivor's records, and the pairs proposed to stewards."""

    def __init__(self, context: MatchContext, scores: ChunkScores, compare: Compare | None) -> None:
        self.context, self.scores, self.compare = context, scores, compare
        self.merged_into: dict[int, int] = {}
        self.merge_edges: dict[int, Edge] = {}  # merged golden record -> the edge that decided it, in decision order
        self.clusters: dict[int, list[int]] = {}  # a survivor: the golden records of this run now in it, oldest first
        self.proposals: list[tuple[int, int, Edge]] = []

    def root(self, pk: int) -> int:
        while pk in self.merged_into:
            pk = self.merged_into[pk]
        return pk

    def vetoed(self, pk: int, survivor: int) -> bool:
        """A steward said the record is not one of the cluster's records (or the cluster itself)."""
        return any(frozenset((pk, member)) in self.scores.known for member in self.clusters.get(survivor, [survivor]))

    def members(self, survivor: int) -> list[int]:
        return self.clusters.get(survivor, [survivor])[-CLUSTER_SAMPLE:]

    def join(self, merged: int, survivor: int, edge: Edge) -> None:
        self.merged_into[merged] = survivor
        self.merge_edges[merged] = edge
        self.clusters.setdefault(survivor, [survivor]).extend(self.clusters.pop(merged, [merged]))

    def clusters_match(self, younger: int, older: int) -> Edge | None:
        """The best edge if every sampled member of one cluster matches most of the other cluster."""
        compare = self.compare
        if compare is None or any(self.vetoed(member, older) for member in self.clusters.get(younger, [younger])):
            return None
        best: Edge | None = None
        for member in self.members(younger):
            edges = compare(member, self.members(older))
            if _support(self.members(older), _agreeing(edges.values())) < CLUSTER_SUPPORT:
                return None
            top = max(edges.values(), key=lambda edge: edge.weight)
            best = top if best is None or top.weight > best.weight else best
        return best if best is not None and best.probability >= self.context.auto_link_threshold else None

    def decide(self, pk: int, edges_of_pk: list[Edge]) -> None:
        """One record: it joins the one cluster it clearly matches, joins clusters that are one entity, joins the
        clear winner, or is proposed to stewards against its best candidates."""
        context, compare = self.context, self.compare
        by_root: dict[int, list[Edge]] = defaultdict(list)
        for edge in edges_of_pk:
            survivor = self.root(edge.older)
            if not self.vetoed(pk, survivor):
                by_root[survivor].append(edge)
        above: list[tuple[int, Edge]] = []
        clear: list[tuple[int, Edge]] = []
        unclear: list[tuple[int, Edge]] = []
        for survivor, edges in by_root.items():
            best = max(edges, key=lambda edge: edge.weight)
            cluster = self.members(survivor)
            linked = _agreeing(edges)
            if best.probability >= context.auto_link_threshold:
                above.append((survivor, best))
                unknown = [member for member in cluster if member not in linked]
                if best.supported and unknown and compare is not None and _support(cluster, linked) < CLUSTER_SUPPORT:
                    linked |= _agreeing(compare(pk, unknown).values())
                if best.supported and _support(cluster, linked) >= CLUSTER_SUPPORT:
                    clear.append((survivor, best))
            unclear.append((survivor, best))
        if len(above) == 1 and clear:
            self.join(pk, *clear[0])
            return
        if len(above) > 1 and len(clear) == len(above):
            clear.sort()
            oldest = clear[0][0]
            joins = [(survivor, self.clusters_match(survivor, oldest)) for survivor, _ in clear[1:]]
            found = [(survivor, edge) for survivor, edge in joins if edge is not None]
            if len(found) == len(joins):
                for survivor, edge in found:
                    self.join(survivor, oldest, edge)
                self.join(pk, oldest, max((edge for _, edge in clear), key=lambda edge: edge.weight))
                return
        if len(above) > 1 and clear:
            # The clusters are not one entity: the record joins the best only when it wins clearly (as in real time).
            above.sort(key=lambda item: -item[1].weight)
            best_survivor, best_edge = above[0]
            if any(survivor == best_survivor for survivor, _ in clear) and clearly_ahead(
                context, best_edge, above[1][1]
            ):
                self.join(pk, best_survivor, best_edge)
                return
        unclear.sort(key=lambda item: -item[1].weight)
        self.proposals.extend((survivor, pk, edge) for survivor, edge in unclear[:PROPOSALS_PER_RECORD])

    def plan(self) -> Plan:
        # Survivors as they stand at the end: a cluster may have joined an older one after a record joined it.
        plan = Plan(merges=[(self.root(merged), merged, edge) for merged, edge in self.merge_edges.items()])
        for candidate, younger, edge in self.proposals:
            pair = (self.root(candidate), self.root(younger))
            if pair[0] != pair[1]:
                plan.proposals.append((pair[0], pair[1], edge))
        return plan


def _agreeing(edges: Iterable[Edge]) -> set[int]:
    """The older records these edges link to, leaving out those holding a conflicting identifier: a member with
    another VAT number or GTIN never counts towards a cluster's support, however alike the rest looks."""
    return {edge.older for edge in edges if not edge.conflict}


def _support(cluster: list[int], linked: set[int]) -> float:
    return sum(member in linked for member in cluster) / len(cluster)


# --- 3. Apply ------------------------------------------------------------------------------------------


def _explanations(
    context: MatchContext, edges: Sequence[Edge], table: ProfileTable | None = None
) -> list[dict[str, Any]]:
    """Each edge's best pair, explained attribute by attribute (from the run's table, or read in one query)."""
    wanted = sorted({pk for edge in edges for pk in (edge.mine, edge.theirs)})
    forms: dict[int, Any] = {}
    if table is not None:
        forms = {
            pk: table.features(int(row)) for pk, row in zip(wanted, table.source_rows(wanted), strict=True) if row >= 0
        }
    missing = [pk for pk in wanted if pk not in forms]
    if missing:
        forms.update(
            MatchProfile.objects.filter(source_record_id__in=missing).values_list("source_record_id", "features")
        )
    return [
        _explanation(context.scorer.score(forms[edge.mine], forms[edge.theirs], context.frequencies))
        if edge.mine in forms and edge.theirs in forms
        else {}
        for edge in edges
    ]


def _explanation(score: Any) -> dict[str, Any]:
    return score.explanation() if score is not None else {}


def _propose(
    context: MatchContext, proposals: Sequence[tuple[int, int, Edge]], table: ProfileTable | None = None
) -> int:
    """Queue review pairs whose records are both still active and not already decided or waiting."""
    if not proposals:
        return 0
    pks = {pk for candidate, younger, _ in proposals for pk in (candidate, younger)}
    active = set(GoldenRecord.objects.filter(pk__in=pks, status=GoldenStatus.ACTIVE).values_list("pk", flat=True))
    known = _decided_or_open_pairs(list(pks))
    fresh: dict[frozenset[int], tuple[int, int, Edge]] = {}
    for candidate, younger, edge in proposals:
        pair = frozenset((candidate, younger))
        if candidate in active and younger in active and pair not in known and len(pair) == 2:
            fresh.setdefault(pair, (candidate, younger, edge))
    chosen = list(fresh.values())
    rows = [
        MatchCandidate(
            golden_id=younger,
            candidate_id=candidate,
            source_record_id=edge.mine,
            entity_type=context.entity_type,
            probability=edge.probability,
            match_weight=edge.weight,
            model_version=context.model_version,
            explanation=explanation,
        )
        for (candidate, younger, edge), explanation in zip(
            chosen, _explanations(context, [edge for _, _, edge in chosen], table), strict=True
        )
    ]
    with acting(system_actor("matcher"), "batch match: possible duplicate"):
        bulk_create_tracked(rows, MatchCandidate)
    return len(rows)


def merge_plan_apply(
    *, context: MatchContext, plan: Plan, on_progress: Any = None, table: ProfileTable | None = None
) -> BatchStats:
    """Merge and queue as planned, APPLY_BATCH merges per transaction; refused merges go to review. `table`, the
    run's profiles, spares reading the explained pairs again (a profile it lacks is read from the database)."""
    stats = BatchStats()
    actor = system_actor("matcher")
    refused: list[tuple[int, int, Edge]] = []
    for batch in _merge_batches(plan.merges):
        explanations = _explanations(context, [edge for _, _, edge in batch], table)
        requests = [
            MergeRequest(
                survivor_pk=survivor,
                merged_pk=merged,
                reason=f"batch match: probability {edge.probability:.4f}",
                probability=edge.probability,
                explanation=explanation,
                # The hierarchy the sources declared follows them (a parent link sent by the ERP); a move that would
                # give a record two parents or a cycle refuses the merge, which then goes to review.
                move_edges=True,
            )
            for (survivor, merged, edge), explanation in zip(batch, explanations, strict=True)
        ]
        with acting(actor, "batch match"):
            outcome = golden_records_merge_many(requests, actor=actor)
        stats.merged += len(outcome.merges)
        by_merged = {merged: (survivor, merged, edge) for survivor, merged, edge in batch}
        for request, why in outcome.refused:
            stats.merge_refused += 1
            if len(stats.messages) < 20:
                stats.messages.append(why)
            refused.append(by_merged[request.merged_pk])
        if on_progress is not None:
            on_progress(len(batch))
    queue = plan.proposals + refused
    for start in range(0, len(queue), APPLY_BATCH):
        stats.proposed += _propose(context, queue[start : start + APPLY_BATCH], table)
    return stats


def _merge_batches(merges: Sequence[tuple[int, int, Edge]]) -> Iterable[list[tuple[int, int, Edge]]]:
    """The merges grouped by survivor, about APPLY_BATCH a transaction, never one survivor's in two: a survivor is
    then recomputed, versioned and announced once for all the records it takes in, not once per record."""
    ordered = sorted(merges, key=lambda merge: merge[0])  # stable: each survivor's merges keep their order
    batch: list[tuple[int, int, Edge]] = []
    for merge in ordered:
        if len(batch) >= APPLY_BATCH and merge[0] != batch[-1][0]:
            yield batch
            batch = []
        batch.append(merge)
    if batch:
        yield batch


def split_plan(plan: Plan, parts: int) -> list[Plan]:
    """The plan in independent parts for processes to apply side by side: every merge into one survivor in the
    same part (survivors are final: never merged away in the same plan, so the parts touch disjoint records)."""
    split = [Plan() for _ in range(parts)]
    for merge in plan.merges:
        split[merge[0] % parts].merges.append(merge)
    for proposal in plan.proposals:
        split[proposal[1] % parts].proposals.append(proposal)
    return split


def match_chunk(context: MatchContext, golden_pks: Sequence[int], *, apply: bool = True) -> BatchStats:
    """Score, plan and (unless apply is False) apply one chunk on its own: a Celery worker's share of a run."""
    scores = score_chunk(context, golden_pks)
    plan = plan_merges(context, scores, compare=compare_by_scoring(context))
    stats = merge_plan_apply(context=context, plan=plan) if apply else planned(plan)
    stats.goldens, stats.compared_pairs, stats.skipped_rejected = (
        scores.goldens,
        scores.compared_pairs,
        scores.skipped_rejected,
    )
    return stats


def planned(plan: Plan) -> BatchStats:
    """A dry run's figures: what merge_plan_apply would do if nothing changed meanwhile."""
    return BatchStats(merged=len(plan.merges), proposed=len({frozenset((c, y)) for c, y, _ in plan.proposals}))


def golden_pk_chunks(
    entity_type: str, *, chunk_size: int, touched_since=None, system: str | None = None
) -> list[list[int]]:
    """The active golden records to re-match, in chunks of primary keys (all, or those an import touched)."""
    queryset = GoldenRecord.objects.filter(entity_type=entity_type, status=GoldenStatus.ACTIVE)
    if touched_since is not None or system:
        sources = Q()
        if touched_since is not None:
            sources &= Q(source_records__updated_at__gte=touched_since)
        if system:
            sources &= Q(source_records__system__code=system)
        queryset = queryset.filter(sources).distinct()
    pks = list(queryset.order_by("pk").values_list("pk", flat=True))
    return [pks[start : start + chunk_size] for start in range(0, len(pks), chunk_size)]
