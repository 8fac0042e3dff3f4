"""Table statistics are refreshed where they lag, so the write path keeps its index plans during bulk loads."""

import pytest
from django.db import connection

from mdm.maintenance import analyze_stale_tables, hub_tables

# Statistics counters see committed changes only, so this test commits (and the database is flushed after).
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("seeded")]


def _stale_rows(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = %s", [table])
        return cursor.fetchone()[0]


def test_hub_tables_include_history_unless_asked_not_to() -> None:
    assert "mdm_sourcerecord" in hub_tables()
    assert "mdm_historicalsourcerecord" in hub_tables()
    assert "mdm_historicalsourcerecord" not in hub_tables(history=False)
    assert "auth_user" not in hub_tables()
    assert "governance_stewardship" not in hub_tables()  # permissions only: no table


def test_a_table_past_the_threshold_is_analysed_and_then_left_alone() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE mdm_hierarchytype")
        cursor.execute(
            "INSERT INTO mdm_hierarchytype (code, name, entity_type)"
            " SELECT 'bulk-' || n, 'Bulk ' || n, 'customer' FROM generate_series(1, 30) AS n"
        )
    assert _stale_rows("mdm_hierarchytype") >= 30

    analysed = analyze_stale_tables(base_threshold=10, scale_factor=0.1)

    assert "mdm_hierarchytype" in analysed
    assert _stale_rows("mdm_hierarchytype") == 0
    assert "mdm_hierarchytype" not in analyze_stale_tables(base_threshold=10, scale_factor=0.1)


def test_vacuum_for_reads_sets_the_visibility_map_but_never_inside_a_transaction() -> None:
    from django.db import transaction

    from mdm.maintenance import vacuum_for_reads

    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO mdm_hierarchytype (code, name, entity_type) VALUES ('vac', 'Vac', 'customer')")
    with transaction.atomic():
        assert vacuum_for_reads("mdm_hierarchytype") is False  # VACUUM cannot run in a transaction block
    assert vacuum_for_reads("mdm_hierarchytype") is True
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relallvisible >= relpages AND relpages > 0 FROM pg_class WHERE relname = 'mdm_hierarchytype'"
        )
        assert cursor.fetchone()[0]
