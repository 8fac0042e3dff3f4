"""manage.py match: duplicates that real time left apart are merged into the older record or queued."""

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from matching.models import CandidateStatus, MatchCandidate, MatchSettings
from mdm.ingest import ingest
from mdm.models import GoldenMerge, GoldenRecord, GoldenStatus, System

pytestmark = pytest.mark.django_db

BERLIN = {"line1": "Hauptstraße 5", "city": "Berlin", "postcode": "10115", "country": "DE"}


def load_apart(salesforce: System, netsuite: System, second_name: str = "NORTHWIND TRADERS G.m.b.H.") -> None:
    """Two records of one company, sent while blocking found no candidates (every key counted as too common)."""
    MatchSettings.objects.filter(entity_type="customer").update(max_block_size=0)
    ingest(
        system=netsuite,
        entity_type="customer",
        records=[
            {
                "source_id": "C-1",
                "legal_name": "Northwind Traders GmbH",
                "phones": ["030 1234567"],
                "legal_address": BERLIN,
            }
        ],
        actor=netsuite.service_user,
    )
    ingest(
        system=salesforce,
        entity_type="customer",
        records=[
            {"source_id": "001", "legal_name": second_name, "phones": ["+49 30 1234567"], "billing_address": BERLIN}
        ],
        actor=salesforce.service_user,
    )
    assert GoldenRecord.objects.count() == 2
    MatchSettings.objects.filter(entity_type="customer").update(max_block_size=200)


def run(*args: str) -> str:
    out = StringIO()
    call_command("match", "--entity", "customer", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_a_clear_duplicate_is_merged_into_the_older_record(salesforce: System, netsuite: System) -> None:
    load_apart(salesforce, netsuite)
    older, younger = GoldenRecord.objects.order_by("pk")
    output = run()
    assert "1 merged" in output
    younger.refresh_from_db()
    assert younger.status == GoldenStatus.RETIRED and younger.merged_into_id == older.pk
    merge = GoldenMerge.objects.get()
    assert merge.probability > 0.97 and merge.explanation["attributes"]
    assert "1 merged" not in run()  # a second run finds nothing left to do


def test_a_possible_duplicate_is_queued_once_and_a_rejected_one_never_again(
    salesforce: System, netsuite: System
) -> None:
    load_apart(salesforce, netsuite, second_name="Northwind Trading")
    MatchSettings.objects.filter(entity_type="customer").update(auto_link_threshold=0.9999999)
    run()
    candidate = MatchCandidate.objects.get()
    assert candidate.status == CandidateStatus.OPEN and candidate.explanation["attributes"]
    run()
    assert MatchCandidate.objects.count() == 1  # an open pair is not proposed twice
    MatchCandidate.objects.filter(pk=candidate.pk).update(status=CandidateStatus.REJECTED)
    output = run()
    assert MatchCandidate.objects.count() == 1 and "1 pairs skipped" in output


def test_a_dry_run_writes_nothing(salesforce: System, netsuite: System) -> None:
    load_apart(salesforce, netsuite)
    output = run("--dry-run")
    assert "dry run" in output and "1 would be merged" in output
    assert not GoldenMerge.objects.exists() and GoldenRecord.objects.filter(status="active").count() == 2


def test_only_what_an_import_touched(salesforce: System, netsuite: System) -> None:
    load_apart(salesforce, netsuite)
    assert "0 golden" in run("--since", "2999-01-01")
    assert run("--system", "salesforce", "--dry-run").startswith("1 golden")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "not an ISO 8601"),
        (["--system", "sap"], "unknown system"),
        (["--workers", "0"], "at least 1"),
    ],
)
def test_bad_arguments_are_clear_errors(args: list[str], message: str, db: Any) -> None:
    with pytest.raises(CommandError, match=message):
        run(*args)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_workers_share_the_chunks(seeded: None) -> None:
    from matching.models import MatchSettings as Settings

    Settings.objects.get_or_create(entity_type="customer")
    salesforce, netsuite = System.objects.get(code="salesforce"), System.objects.get(code="netsuite")
    load_apart(salesforce, netsuite)
    output = run("--workers", "2", "--chunk-size", "1")
    assert "2 golden customer records re-matched" in output and "1 merged" in output
    assert GoldenRecord.objects.filter(status="active").count() == 1


def test_chunks_can_be_sent_to_celery_workers(salesforce: System, netsuite: System) -> None:
    load_apart(salesforce, netsuite)
    output = run("--celery", "--chunk-size", "1")  # tests run Celery tasks in-process
    assert "2 chunks (2 golden customer records) sent" in output
    assert GoldenRecord.objects.filter(status="active").count() == 1


# --- A first load with deferred matching, deduplicated by the batch run ----------------------------------


def northwind(source_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "source_id": source_id,
        "legal_name": "Northwind Traders GmbH",
        "phones": ["030 1234567"],
        "legal_address": BERLIN,
        **fields,
    }


def test_a_deferred_load_is_deduplicated_by_the_batch_run(salesforce: System) -> None:
    from matching.models import MatchDecision

    records = [
        northwind("1"),
        northwind("2", legal_name="NORTHWIND TRADERS G.m.b.H.", phones=["+49 30 1234567"]),
        {"source_id": "3", "legal_name": "Contoso Pharma AG", "legal_address": {**BERLIN, "line1": "Allee 1"}},
        northwind("4", legal_name="Northwind Traders"),
    ]
    result = ingest(
        system=salesforce, entity_type="customer", records=records, actor=salesforce.service_user, defer_matching=True
    )
    assert [outcome.match for outcome in result.outcomes] == ["deferred"] * 4
    assert set(MatchDecision.objects.values_list("outcome", flat=True)) == {"deferred"}
    first = GoldenRecord.objects.order_by("pk").first()
    output = run()
    assert "4 golden customer records re-matched" in output and "2 merged" in output
    active = GoldenRecord.objects.filter(status=GoldenStatus.ACTIVE)
    assert active.count() == 2 and first in active  # the oldest record of the cluster keeps its golden ID
    assert set(
        GoldenRecord.objects.get(source_records__source_id="4").source_records.values_list("source_id", flat=True)
    ) == {"1", "2", "4"}
    assert all(merge.explanation["attributes"] for merge in GoldenMerge.objects.all())


def test_import_records_can_defer_matching(salesforce: System, tmp_path: Any) -> None:
    import json

    path = tmp_path / "first-load.jsonl"
    path.write_text("\n".join(json.dumps(northwind(str(n))) for n in range(3)) + "\n", encoding="utf-8")
    call_command(
        "import_records",
        str(path),
        "--system",
        "salesforce",
        "--entity",
        "customer",
        "--defer-matching",
        "--quiet",
        stdout=StringIO(),
    )
    assert GoldenRecord.objects.count() == 3
    assert "2 merged" in run("--since", "2000-01-01", "--system", "salesforce")
    assert GoldenRecord.objects.filter(status=GoldenStatus.ACTIVE).count() == 1


# --- Planning: clusters oldest first, never through one weak link -----------------------------------------


def edge(younger: int, older: int, probability_value: float, supported: bool = True) -> Any:
    from matching.batch import Edge
    from matching.scoring import weight_of

    return Edge(younger, older, weight_of(probability_value), supported, mine=younger * 10, theirs=older * 10)


def plan(*edges: Any, known: set[frozenset[int]] | None = None, compare: Any = None) -> Any:
    from matching.batch import ChunkScores, plan_merges
    from matching.engine import MatchContext

    context = MatchContext("customer", 0, None, review_threshold=0.8, auto_link_threshold=0.97, max_block_size=200)
    return plan_merges(context, ChunkScores(edges=list(edges), known=known or set()), compare=compare)


def test_plan_joins_a_cluster_only_when_the_record_matches_most_of_it() -> None:
    result = plan(edge(2, 1, 0.999), edge(3, 1, 0.999), edge(3, 2, 0.99), edge(4, 3, 0.999))
    # 2 and 3 join 1; 4 matches 3 only, one member of a three-record cluster: review, not a chained merge
    assert [(survivor, merged) for survivor, merged, _ in result.merges] == [(1, 2), (1, 3)]
    assert [(candidate, younger) for candidate, younger, _ in result.proposals] == [(1, 4)]


def test_plan_sends_a_record_matching_two_clusters_to_review() -> None:
    result = plan(edge(3, 1, 0.999), edge(3, 2, 0.998))
    assert not result.merges
    assert sorted(candidate for candidate, _, _ in result.proposals) == [1, 2]


def test_plan_never_merges_through_a_cluster_member_into_a_rejected_record() -> None:
    result = plan(edge(2, 1, 0.999), edge(3, 2, 0.999), edge(3, 1, 0.999), known={frozenset((3, 1))})
    assert [(survivor, merged) for survivor, merged, _ in result.merges] == [(1, 2)]
    assert not result.proposals  # the rejected pair (3, 1) is neither merged nor proposed again


def test_plan_reviews_a_match_to_one_member_that_is_not_a_cluster_match() -> None:
    result = plan(edge(2, 1, 0.999, supported=False), edge(3, 1, 0.9))
    assert not result.merges
    assert [(candidate, younger) for candidate, younger, _ in result.proposals] == [(1, 2), (1, 3)]


def test_plan_compares_a_record_with_cluster_members_it_was_never_shortlisted_with() -> None:
    asked: list[tuple[int, list[int]]] = []

    def compare(pk: int, others: list[int]) -> dict[int, Any]:
        asked.append((pk, others))
        return {other: edge(pk, other, 0.99) for other in others}

    result = plan(edge(2, 1, 0.999), edge(3, 2, 0.999), compare=compare)
    assert asked == [(3, [1])]  # 3 never met 1: compared now, and found to match it
    assert [(survivor, merged) for survivor, merged, _ in result.merges] == [(1, 2), (1, 3)]


def test_plan_joins_two_clusters_a_record_matches_only_when_they_match_each_other() -> None:
    def compare(pk: int, others: list[int]) -> dict[int, Any]:
        return {other: edge(pk, other, 0.999 if {pk, other} == {1, 2} else 0.5) for other in others}

    # 1 and 2 never shared a key; 3 clearly matches both, and 1 and 2 clearly match each other: one cluster
    result = plan(edge(3, 1, 0.999), edge(3, 2, 0.999), compare=compare)
    assert sorted((survivor, merged) for survivor, merged, _ in result.merges) == [(1, 2), (1, 3)]
    assert not result.proposals

    def strangers(pk: int, others: list[int]) -> dict[int, Any]:
        return {}

    result = plan(edge(3, 1, 0.999), edge(3, 2, 0.999), compare=strangers)
    assert not result.merges and sorted(candidate for candidate, _, _ in result.proposals) == [1, 2]


def test_plan_names_final_survivors_when_clusters_join_later() -> None:
    def compare(pk: int, others: list[int]) -> dict[int, Any]:
        return {other: edge(pk, other, 0.999) for other in others}

    # 3 joins 2; then 4 matches clusters 1 and {2, 3}, which match each other: all of it ends in 1
    result = plan(edge(3, 2, 0.999), edge(4, 1, 0.999), edge(4, 2, 0.999), edge(4, 3, 0.999), compare=compare)
    assert sorted((survivor, merged) for survivor, merged, _ in result.merges) == [(1, 2), (1, 3), (1, 4)]


def test_plan_keeps_a_rejection_when_the_rejected_record_joined_a_cluster() -> None:
    # a steward said 3 is not 2; 2 joins 1, so 3 must not join 1 through 1 either
    result = plan(edge(2, 1, 0.999), edge(3, 1, 0.999), edge(3, 2, 0.999), known={frozenset((3, 2))})
    assert [(survivor, merged) for survivor, merged, _ in result.merges] == [(1, 2)]
    assert not result.proposals


def test_plan_never_counts_a_member_with_a_different_identifier_as_support() -> None:
    def conflicting(younger: int, older: int) -> Any:
        return edge(younger, older, 0.999, supported=False)._replace(conflict=True)

    # 2 joins 1; 3 matches 1, but holds another VAT number than 2: not a match for most of the cluster
    result = plan(edge(2, 1, 0.999), edge(3, 1, 0.999), conflicting(3, 2))
    assert [(survivor, merged) for survivor, merged, _ in result.merges] == [(1, 2)]
    assert [(candidate, younger) for candidate, younger, _ in result.proposals] == [(1, 3)]

    # the same when 3 never met 2 and is compared with it while planning
    result = plan(
        edge(2, 1, 0.999), edge(3, 1, 0.999), compare=lambda pk, others: {o: conflicting(pk, o) for o in others}
    )
    assert [(survivor, merged) for survivor, merged, _ in result.merges] == [(1, 2)]
    assert [(candidate, younger) for candidate, younger, _ in result.proposals] == [(1, 3)]


def test_rebuild_match_keys_stores_the_keys_the_current_definitions_make(salesforce: System) -> None:
    from matching.features import blocking_keys, features
    from matching.models import BlockingKey, MatchProfile
    from mdm.models import SourceRecord

    ingest(
        system=salesforce,
        entity_type="customer",
        records=[northwind("1"), {"source_id": "p", "first_name": "Ann", "last_name": "Lee", "kind": "person"}],
        actor=salesforce.service_user,
    )
    BlockingKey.objects.all().delete()
    MatchProfile.objects.update(features={"kind": "organisation"})
    out = StringIO()
    call_command("rebuild_match_keys", "--entity", "customer", "--chunk-size", "1", stdout=out, stderr=StringIO())
    assert "2 customer source records" in out.getvalue()
    for record in SourceRecord.objects.all():
        found = features("customer", record.standardised)
        assert MatchProfile.objects.get(source_record=record).features == found
        stored = set(BlockingKey.objects.filter(source_record=record).values_list("key", flat=True))
        assert stored == set(blocking_keys("customer", found)) and stored
        assert set(BlockingKey.objects.filter(source_record=record).values_list("golden_id", flat=True)) == {
            record.golden_id
        }
    with pytest.raises(CommandError, match="at least 1"):
        call_command("rebuild_match_keys", "--entity", "customer", "--chunk-size", "0")


def test_a_run_with_nothing_to_match_says_so(db: Any) -> None:
    out = StringIO()
    call_command("match", "--entity", "product", "--workers", "2", stdout=out, stderr=StringIO())
    assert out.getvalue().startswith("0 golden product records re-matched") and "0 merged" in out.getvalue()
