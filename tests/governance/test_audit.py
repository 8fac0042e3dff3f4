"""The audit trail: a golden record's timeline, its values as of a past date, and the CSV export of a range."""

import csv
import datetime
import io
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from governance.audit import golden_timeline
from governance.services import change_propose, goldens_merge
from mdm.models import System
from tests.governance.conftest import goldens, logged_in

pytestmark = pytest.mark.django_db


def today() -> str:
    return timezone.localdate().isoformat()


def test_the_timeline_tells_who_changed_what_and_why(salesforce: System, customer_steward: Any) -> None:
    golden, other, *_ = goldens(salesforce)
    change_propose(
        golden_id=golden.golden_id,
        attributes={"website": "https://nw.example"},
        actor=customer_steward,
        reason="customer called",
    )
    goldens_merge(survivor_id=golden.golden_id, merged_id=other.golden_id, actor=customer_steward, reason="same firm")
    timeline = golden_timeline(golden)
    edits = [entry for entry in timeline if any(c["field"] == "website" for c in entry.changes)]
    assert edits and edits[0].who == "carla.customers"
    assert {"before": "northwind.example", "after": "nw.example", "field": "website"} in edits[0].changes
    moved = [entry for entry in timeline if entry.what == "source record" and entry.why == "same firm"]
    assert moved  # the merged record's source moved here, attributed to the steward and the reason
    page = logged_in(customer_steward).get(f"/admin/steward/goldens/{golden.golden_id}/").content.decode()
    assert "customer called" in page and "same firm" in page and "nw.example" in page


def test_the_timeline_keeps_the_newest_changes_of_a_busy_record(
    salesforce: System, customer_steward: Any, monkeypatch: Any
) -> None:
    golden = goldens(salesforce)[0]
    for website in ("one.example", "two.example", "three.example"):
        change_propose(
            golden_id=golden.golden_id,
            attributes={"website": f"https://{website}"},
            actor=customer_steward,
            reason=f"now {website}",
        )
    monkeypatch.setattr("governance.audit.TIMELINE_ROWS", 2)
    edits = [
        change
        for entry in golden_timeline(golden)
        if entry.what == "customer"
        for change in entry.changes
        if change["field"] == "website"
    ]
    assert edits[0] == {"field": "website", "before": "two.example", "after": "three.example"}
    assert all(change["after"] != "one.example" for change in edits)  # beyond the limit: the oldest is left out


def test_values_as_of_a_past_date(salesforce: System, customer_steward: Any) -> None:
    golden = goldens(salesforce)[0]
    yesterday = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    client = logged_in(customer_steward)
    assert (
        "did not exist yet"
        in client.get(f"/admin/steward/goldens/{golden.golden_id}/?as_of={yesterday}", follow=True).content.decode()
    )
    page = client.get(f"/admin/steward/goldens/{golden.golden_id}/?as_of={today()}").content.decode()
    assert "Northwind Traders GmbH" in page and f"Values on {today()}" in page


def test_the_audit_export_lists_every_change_of_the_range(
    salesforce: System, customer_steward: Any, tmp_path: Any
) -> None:
    golden = goldens(salesforce)[0]
    change_propose(
        golden_id=golden.golden_id,
        attributes={"website": "https://nw.example"},
        actor=customer_steward,
        reason="customer called",
    )
    path = tmp_path / "audit.csv"
    call_command("export_audit", "--from", today(), "--to", today(), str(path), stderr=StringIO())
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert {"golden record", "customer", "source record", "steward override", "change request"} <= {
        r["what"] for r in rows
    }
    edit = next(r for r in rows if r["what"] == "customer" and "website" in r["changes"])
    assert edit["who"] == "carla.customers" and edit["change"] == "changed" and "'nw.example'" in edit["changes"]
    response = logged_in(customer_steward).get(f"/admin/steward/audit.csv?from={today()}&to={today()}")
    streamed = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(streamed) == len(rows)
    with pytest.raises(CommandError, match="--to: must not be before from"):
        call_command("export_audit", "--from", today(), "--to", "2000-01-01", str(path))
    with pytest.raises(CommandError, match="--from: 'monday' is not a date"):
        call_command("export_audit", "--from", "monday", "--to", today(), str(path))
