"""Who is this record? The matcher's entry point, called by ingest for every new source record.

This first version links deterministically on strong keys only (the same valid tax ID in the same
country; the same GTIN; the same SKU), read from the indexed BlockingKey table. The fuzzy matcher
replaces `link_new_records` behind the same signature.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from matching.models import BlockingKey
from mdm.models import GoldenStatus, SourceRecord


@dataclass(frozen=True)
class LinkDecision:
    """Where a new source record goes: an existing golden record, or a new one shared with its group."""

    golden_pk: int | None
    group: int
    reason: str


class _UnionFind:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def union(self, a: int, b: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self.parent[max(root_a, root_b)] = min(root_a, root_b)


def link_new_records(entity_type: str, keys_per_record: Sequence[Sequence[str]]) -> list[LinkDecision]:
    """Decide, for each new record (given by its strong keys), which golden record it joins.

    Records of one batch that share a key join each other; a group whose keys already belong to an
    active golden record joins it (the oldest, if the keys point at several).
    """
    all_keys = {key for keys in keys_per_record for key in keys}
    existing: dict[str, set[int]] = defaultdict(set)
    if all_keys:
        rows = BlockingKey.objects.filter(
            entity_type=entity_type, key__in=all_keys, golden__status=GoldenStatus.ACTIVE
        ).values_list("key", "golden_id")
        for key, golden_pk in rows:
            existing[key].add(golden_pk)
    groups = _UnionFind(len(keys_per_record))
    first_holder: dict[str, int] = {}
    for index, keys in enumerate(keys_per_record):
        for key in keys:
            if key in first_holder:
                groups.union(first_holder[key], index)
            else:
                first_holder[key] = index
    group_golden: dict[int, tuple[int, str]] = {}
    for index, keys in enumerate(keys_per_record):
        root = groups.find(index)
        for key in keys:
            for golden_pk in existing.get(key, ()):
                best = group_golden.get(root)
                if best is None or golden_pk < best[0]:
                    group_golden[root] = (golden_pk, key)
    decisions = []
    for index, keys in enumerate(keys_per_record):
        root = groups.find(index)
        if root in group_golden:
            golden_pk, key = group_golden[root]
            decisions.append(LinkDecision(golden_pk, root, f"strong key {key}"))
        elif keys and root != index:
            decisions.append(LinkDecision(None, root, "strong key shared within the batch"))
        else:
            decisions.append(LinkDecision(None, root, "no match: new golden record"))
    return decisions


def blocking_keys_replace(source_records: Sequence[SourceRecord], keys: Sequence[Sequence[str]]) -> None:
    """Store the keys of these source records, replacing any they had."""
    ids = [record.pk for record in source_records]
    BlockingKey.objects.filter(source_record_id__in=ids).delete()
    BlockingKey.objects.bulk_create(
        [
            BlockingKey(source_record_id=record.pk, golden_id=record.golden_id, entity_type=record.entity_type, key=key)
            for record, record_keys in zip(source_records, keys, strict=True)
            for key in dict.fromkeys(record_keys)
        ],
        batch_size=2000,
    )
