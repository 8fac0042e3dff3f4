"""File import and xref export: CSV and JSONL through ingest, line numbers on every error, and the commands."""

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from mdm import imports
from mdm.imports import ImportFileError, LineError, csv_layout, csv_row_to_record, records_import
from mdm.ingest import ingest
from mdm.models import CrossReference, GoldenRecord, GoldenStatus, SourceRecord, System, XrefKind
from tests.records import VALID_DE_VAT, VALID_FR_VAT, customer

pytestmark = pytest.mark.django_db

HEADER = (
    "source_id,legal_name,tax_id,tax_country,legal_address.line1,legal_address.postcode,legal_address.city,"
    "legal_address.country,phones,emails\n"
)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(path: Path, records: list[Any]) -> Path:
    return write(path, "".join(json.dumps(record) + "\n" for record in records))


def import_file(path: Path, system: System, entity_type: str = "customer", **kwargs: Any) -> Any:
    errors: list[LineError] = []
    summary = records_import(path=path, system=system, entity_type=entity_type, on_error=errors.append, **kwargs)
    return summary, errors


# --- CSV ------------------------------------------------------------------------------------------------------


def test_csv_file_is_imported_in_the_contract_shape(tmp_path: Path, netsuite: System) -> None:
    path = write(
        tmp_path / "customers.csv",
        HEADER
        + f"C-1,Northwind Traders GmbH,{VALID_DE_VAT},DE,Hauptstraße 5,10115,Berlin,Germany,030 1234567; 030 7654321,"
        "info@northwind.example\n" + f"C-2,Fourth Coffee SARL,{VALID_FR_VAT},,1 rue de Rivoli,75001,Paris,FR,,\n",
    )
    summary, errors = import_file(path, netsuite)
    assert (summary.lines, summary.records, summary.created, summary.rejected) == (3, 2, 2, 0)
    assert errors == []
    payload = SourceRecord.objects.get(source_id="C-1").payload
    assert payload == {
        "source_id": "C-1",
        "legal_name": "Northwind Traders GmbH",
        "tax_ids": [{"value": VALID_DE_VAT, "country": "DE"}],
        "legal_address": {"line1": "Hauptstraße 5", "postcode": "10115", "city": "Berlin", "country": "Germany"},
        "phones": ["030 1234567", "030 7654321"],
        "emails": ["info@northwind.example"],
    }
    second = SourceRecord.objects.get(source_id="C-2").payload
    assert second["tax_ids"] == [{"value": VALID_FR_VAT}]  # an empty tax_country is omitted, not sent as ""
    assert "phones" not in second and "emails" not in second
    assert GoldenRecord.objects.count() == 2


def test_csv_row_maps_dotted_list_and_tax_columns() -> None:
    layout = csv_layout(["source_id", "billing_address.country", "emails", "tax_ids", "contract_version"], "customer")
    record, errors = csv_row_to_record(layout, ["A", " NL ", "a@x.example;;b@x.example ", "DE136695976:DE;X1", "1"])
    assert errors == []
    assert record == {
        "source_id": "A",
        "billing_address": {"country": " NL "},
        "emails": ["a@x.example", "b@x.example"],
        "tax_ids": [{"value": "DE136695976", "country": "DE"}, {"value": "X1"}],
        "contract_version": 1,
    }


def test_tax_country_without_tax_id_is_a_line_error() -> None:
    layout = csv_layout(["source_id", "tax_id", "tax_country"], "customer")
    _, errors = csv_row_to_record(layout, ["A", "", "DE"])
    assert errors == [("tax_country", "given without a tax_id")]


def test_unknown_column_is_rejected_by_the_contract_on_every_line(tmp_path: Path, netsuite: System) -> None:
    path = write(tmp_path / "c.csv", "source_id,legal_name,colour\nC-1,Acme Ltd,blue\nC-2,Beta Ltd,\n")
    summary, errors = import_file(path, netsuite)
    assert (summary.created, summary.rejected) == (1, 1)
    assert errors == [LineError(2, "C-1", "colour", "unknown field")]


def test_rejected_csv_lines_carry_their_physical_line_numbers(tmp_path: Path, netsuite: System) -> None:
    path = write(
        tmp_path / "c.csv",
        "source_id,legal_name,legal_address.line1,legal_address.country,tax_id,tax_country\n"  # line 1
        'C-1,Acme Ltd,"Unit 4\nHarbour Estate\nDock Road",GB,,\n'  # lines 2-4: one record
        "\n"  # line 5: blank
        f"C-2,Beta GmbH,Hauptstraße 1,DE,{VALID_DE_VAT},Atlantis\n"  # line 6
        ",,,,,\n"  # line 7: empty cells
        "C-3,,Rue 1,FR,,\n",  # line 8
    )
    summary, errors = import_file(path, netsuite)
    assert summary.lines == 8 and summary.records == 3
    assert [str(error) for error in errors] == [
        "line 6: tax_ids[0].country: unknown country 'Atlantis'",
        "line 8: legal_name: an organisation needs legal_name or trade_name",
    ]
    assert errors[0].source_id == "C-2"
    assert SourceRecord.objects.get().payload["legal_address"]["line1"] == "Unit 4\nHarbour Estate\nDock Road"


def test_malformed_csv_line_is_reported_and_the_next_lines_still_import(tmp_path: Path, netsuite: System) -> None:
    path = write(tmp_path / "c.csv", 'source_id,legal_name\nC-1,"Acme" Ltd\nC-2,Beta Ltd\nC-3,Gamma Ltd,extra\n')
    summary, errors = import_file(path, netsuite)
    assert (summary.created, summary.rejected) == (1, 2)
    assert [(error.line, error.field) for error in errors] == [(2, "record"), (4, "record")]
    assert "cannot be read as CSV" in errors[0].message
    assert errors[1].message == "the line has 3 cells but the header names 2 columns"


def test_csv_header_with_a_byte_order_mark_still_has_source_id(tmp_path: Path, netsuite: System) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffsource_id,legal_name\r\nC-1,Acme Ltd\r\n".encode())
    summary, _ = import_file(path, netsuite)
    assert summary.created == 1
    assert SourceRecord.objects.get().source_id == "C-1"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("id,legal_name\n", "line 1: the header has no source_id column; found: id, legal_name"),
        ("source_id;legal_name\n", "separated by ';'"),
        ("source_id,legal_name,legal_name\n", "column 'legal_name' appears twice"),
        ("source_id,legal_address,legal_address.city\n", "is also a column of its own"),
        ("", "the file is empty"),
    ],
)
def test_csv_without_a_usable_header_is_refused_before_anything_is_written(
    tmp_path: Path, netsuite: System, header: str, message: str
) -> None:
    path = write(tmp_path / "c.csv", header + "C-1,Acme Ltd,Acme\n" if header else "")
    with pytest.raises(ImportFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        import_file(path, netsuite)
    assert not SourceRecord.objects.exists()


def test_non_utf8_file_is_refused_naming_the_line_before_anything_is_written(tmp_path: Path, netsuite: System) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("source_id,legal_name\nC-1,Acme Ltd\nC-2,Müller GmbH\n".encode("latin-1"))
    with pytest.raises(ImportFileError) as raised:
        import_file(path, netsuite)
    assert raised.value.line == 3
    assert "not UTF-8" in str(raised.value) and str(raised.value).startswith("line 3:")
    assert not SourceRecord.objects.exists()


def test_bad_utf8_far_into_the_file_is_found_in_a_later_chunk(
    tmp_path: Path, netsuite: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "_SCAN_CHUNK", 16)
    path = tmp_path / "c.jsonl"
    lines = [json.dumps(customer(f"C-{n}", legal_name="Zoë Industries"), ensure_ascii=False).encode() for n in range(5)]
    lines[3] = lines[3].replace("ë".encode(), b"\xeb")
    path.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(ImportFileError) as raised:
        import_file(path, netsuite)
    assert raised.value.line == 4


# --- JSONL ----------------------------------------------------------------------------------------------------


def test_jsonl_file_is_imported(tmp_path: Path, salesforce: System) -> None:
    records = [
        customer("A-1"),
        customer("A-2", legal_name="Alpha Handel GmbH", tax_ids=[]),
        customer("A-3", legal_name="Beta Bau AG", tax_ids=[]),
    ]
    summary, errors = import_file(jsonl(tmp_path / "c.ndjson", records), salesforce)
    assert (summary.lines, summary.created, summary.rejected, errors) == (3, 3, 0, [])
    assert summary.fmt == "jsonl"
    assert GoldenRecord.objects.count() == 3  # three different companies


def test_bad_json_line_does_not_stop_the_rest(tmp_path: Path, salesforce: System) -> None:
    path = write(
        tmp_path / "c.jsonl",
        json.dumps(customer("A-1"))
        + "\n"
        + '{"source_id": "A-2", "legal_name": "Broken\n'
        + "\n"
        + '["not", "an", "object"]\n'
        + json.dumps(customer("A-4", legal_address={"country": "Atlantis"}))
        + "\n"
        + json.dumps(customer("A-5", tax_ids=[]))
        + "\n",
    )
    summary, errors = import_file(path, salesforce)
    assert (summary.lines, summary.records, summary.created, summary.rejected) == (6, 5, 2, 3)
    assert [(error.line, error.field) for error in errors] == [
        (2, "record"),
        (4, "record"),
        (5, "legal_address.country"),
    ]
    assert errors[0].message == "not valid JSON: Unterminated string starting at column 36"
    assert errors[1].message == "a record must be a JSON object, not an array"
    assert errors[2].source_id == "A-4"


def test_over_long_json_line_is_a_line_error(
    tmp_path: Path, salesforce: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "MAX_LINE_CHARS", 300)
    long = customer("A-1", industry="x" * 1000)
    path = jsonl(tmp_path / "c.jsonl", [long, customer("A-2", tax_ids=[], legal_address=None, website=None)])
    summary, errors = import_file(path, salesforce)
    assert [(error.line, error.message) for error in errors] == [(1, "the line is longer than 300 characters")]
    assert summary.created == 1 and SourceRecord.objects.get().source_id == "A-2"


# --- Batches, idempotence, provenance -------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["csv", "jsonl"])
def test_reimport_of_the_same_file_is_all_unchanged(tmp_path: Path, netsuite: System, suffix: str) -> None:
    if suffix == "csv":
        rows = "".join(f"C-{n},Company {n} Ltd,,,Road {n},SW1A 1AA,London,GB,,\n" for n in range(5))
        path = write(tmp_path / "c.csv", HEADER + rows)
    else:
        path = jsonl(tmp_path / "c.jsonl", [customer(f"C-{n}", tax_ids=[]) for n in range(5)])
    first, _ = import_file(path, netsuite, batch_size=2)
    history = SourceRecord.history.count()
    again, errors = import_file(path, netsuite, batch_size=2)
    assert first.created == 5
    assert (again.unchanged, again.created, again.updated, again.rejected, errors) == (5, 0, 0, 0, [])
    assert SourceRecord.history.count() == history


def test_file_is_sent_in_batches_of_the_ingest_limit(
    tmp_path: Path, netsuite: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes: list[int] = []

    def counting_ingest(**kwargs: Any) -> Any:
        sizes.append(len(kwargs["records"]))
        return ingest(**kwargs)

    monkeypatch.setattr(imports, "ingest", counting_ingest)
    path = jsonl(tmp_path / "c.jsonl", [customer(f"C-{n}", tax_ids=[]) for n in range(7)])
    with override_settings(MDM_INGEST_MAX_BATCH=3):
        summary, _ = import_file(path, netsuite, batch_size=50)
    assert sizes == [3, 3, 1]
    assert summary.created == 7


def test_errors_are_streamed_and_only_a_sample_is_kept(
    tmp_path: Path, netsuite: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "ERROR_SAMPLE_SIZE", 3)
    path = write(tmp_path / "c.jsonl", "not json\n" * 10)
    summary, errors = import_file(path, netsuite)
    assert len(errors) == 10 and summary.errors == 10 and summary.rejected == 10
    assert [error.line for error in summary.error_sample] == [1, 2, 3]


def test_import_is_attributed_to_the_systems_service_user_naming_the_file(tmp_path: Path, netsuite: System) -> None:
    path = jsonl(tmp_path / "erp-export.jsonl", [customer("C-1")])
    summary, _ = import_file(path, netsuite)
    row = SourceRecord.history.get()
    assert row.history_user == netsuite.service_user
    assert row.history_change_reason == "file import erp-export.jsonl"
    assert row.correlation_id == summary.correlation_id != ""


def test_progress_is_reported_in_bytes_up_to_the_file_size(tmp_path: Path, netsuite: System) -> None:
    path = jsonl(tmp_path / "c.jsonl", [customer(f"C-{n}", tax_ids=[]) for n in range(5)])
    seen: list[int] = []
    records_import(
        path=path,
        system=netsuite,
        entity_type="customer",
        batch_size=2,
        on_progress=lambda done, summary: seen.append(done),
    )
    assert seen == sorted(seen) and seen[-1] == path.stat().st_size


def test_file_with_an_unknown_extension_needs_an_explicit_format(tmp_path: Path, netsuite: System) -> None:
    path = jsonl(tmp_path / "c.txt", [customer("C-1")])
    with pytest.raises(ImportFileError, match="cannot tell the format"):
        import_file(path, netsuite)
    summary, _ = import_file(path, netsuite, fmt="jsonl")
    assert summary.created == 1


# --- import_records command ------------------------------------------------------------------------------------


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_command_prints_rejected_lines_and_a_summary(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.csv",
        HEADER + f"C-1,Acme GmbH,{VALID_DE_VAT},Atlantis,,,Berlin,DE,,\nC-2,Beta GmbH,,,,,Berlin,DE,,\n",
    )
    out, err = run("import_records", "--system", "netsuite", "--entity", "customer", str(path))
    assert "line 2: tax_ids[0].country: unknown country 'Atlantis'" in err
    assert "3 lines read, 2 netsuite customer records" in out
    assert "1 created, 0 updated, 0 unchanged, 1 rejected" in out


def test_import_command_caps_printed_errors_and_writes_all_to_the_errors_file(tmp_path: Path) -> None:
    path = write(tmp_path / "c.jsonl", "".join(f'{{"source_id": "X-{n}"}}\n' for n in range(1, 6)))
    errors_path = tmp_path / "errors.csv"
    _, err = run(
        "import_records",
        "--system=salesforce",
        "--entity=customer",
        str(path),
        "--show-errors=2",
        f"--errors={errors_path}",
    )
    assert "line 1: legal_name: an organisation needs legal_name or trade_name" in err
    assert "line 3:" not in err
    assert f"… and 3 more; see {errors_path}" in err
    with errors_path.open(newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == ["line", "source_id", "field", "message"]
    assert [row[:3] for row in rows[1:]] == [[str(n), f"X-{n}", "legal_name"] for n in range(1, 6)]


def test_quiet_import_command_prints_only_the_summary(tmp_path: Path) -> None:
    path = write(tmp_path / "c.jsonl", "nonsense\n")
    out, err = run("import_records", "--system=salesforce", "--entity=customer", str(path), "--quiet")
    assert err == ""
    assert "1 rejected" in out


def test_import_command_with_a_wrong_header_fails_and_writes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", "id,legal_name\nC-1,Acme Ltd\n")
    with pytest.raises(CommandError, match="no source_id column"):
        run("import_records", "--system=netsuite", "--entity=customer", str(path))
    assert not SourceRecord.objects.exists()


def test_import_command_with_an_unknown_system_lists_the_known_ones(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "c.jsonl", [customer()])
    with pytest.raises(CommandError, match="unknown system 'sap'; known systems: netsuite, salesforce"):
        run("import_records", "--system=sap", "--entity=customer", str(path))


def test_import_command_with_a_missing_file_fails(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no such file"):
        run("import_records", "--system=netsuite", "--entity=customer", str(tmp_path / "missing.csv"))


def test_import_command_reads_products_with_an_explicit_format(tmp_path: Path) -> None:
    path = write(tmp_path / "items.txt", "source_id,name,sku,list_price,currency\nI-1,Widget,W-1,19.90,EUR\n")
    out, _ = run("import_records", "--system=netsuite", "--entity=product", "--format=csv", str(path), "--quiet")
    assert "1 created" in out
    assert SourceRecord.objects.get().payload == {
        "source_id": "I-1",
        "name": "Widget",
        "sku": "W-1",
        "list_price": "19.90",
        "currency": "EUR",
    }


# --- export_xrefs command -------------------------------------------------------------------------------------


@pytest.fixture
def two_systems_of_records(salesforce: System, netsuite: System) -> dict[str, str]:
    """Three keys on two golden records: ACC-1 (Salesforce) and ERP-1 (NetSuite) share a tax ID."""
    first = ingest(
        system=salesforce, entity_type="customer", records=[customer("ACC-1")], actor=salesforce.service_user
    )
    ingest(system=netsuite, entity_type="customer", records=[customer("ERP-1")], actor=netsuite.service_user)
    other = ingest(
        system=netsuite,
        entity_type="customer",
        records=[customer("ERP-2", tax_ids=[{"value": VALID_FR_VAT}])],
        actor=netsuite.service_user,
    )
    return {"shared": first.outcomes[0].golden_id, "other": other.outcomes[0].golden_id}


def test_export_writes_the_exact_header_and_one_row_per_source_key(
    tmp_path: Path, two_systems_of_records: dict[str, str]
) -> None:
    path = tmp_path / "xrefs.csv"
    run("export_xrefs", str(path))
    shared, other = two_systems_of_records["shared"], two_systems_of_records["other"]
    # In key order: systems by when they were registered (Salesforce was seeded first), then source ID.
    assert path.read_text().splitlines() == [
        "system,entity_type,source_id,golden_id",
        f"salesforce,customer,ACC-1,{shared}",
        f"netsuite,customer,ERP-1,{shared}",
        f"netsuite,customer,ERP-2,{other}",
    ]


def test_export_to_stdout_filters_by_system_and_entity(two_systems_of_records: dict[str, str]) -> None:
    out, _ = run("export_xrefs", "-", "--system=netsuite", "--entity=customer")
    assert list(csv.reader(io.StringIO(out))) == [
        ["system", "entity_type", "source_id", "golden_id"],
        ["netsuite", "customer", "ERP-1", two_systems_of_records["shared"]],
        ["netsuite", "customer", "ERP-2", two_systems_of_records["other"]],
    ]
    out, _ = run("export_xrefs", "-", "--entity=product")
    assert out == "system,entity_type,source_id,golden_id\n"


def test_export_leaves_out_target_ids_unless_asked(netsuite: System, two_systems_of_records: dict[str, str]) -> None:
    golden = GoldenRecord.objects.get(golden_id=two_systems_of_records["other"])
    CrossReference.objects.create(
        golden=golden, system=netsuite, entity_type="customer", external_id="4711", kind=XrefKind.TARGET
    )
    out, _ = run("export_xrefs", "-", "--system=netsuite")
    assert "4711" not in out
    out, _ = run("export_xrefs", "-", "--system=netsuite", "--include-targets")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["system", "entity_type", "source_id", "golden_id", "kind"]
    assert ["netsuite", "customer", "4711", golden.golden_id, "target"] in rows


def test_export_gives_a_merged_records_survivor(two_systems_of_records: dict[str, str]) -> None:
    survivor = GoldenRecord.objects.get(golden_id=two_systems_of_records["shared"])
    merged = GoldenRecord.objects.get(golden_id=two_systems_of_records["other"])
    merged.status, merged.merged_into = GoldenStatus.RETIRED, survivor
    merged.save()
    out, _ = run("export_xrefs", "-", "--system=netsuite")
    assert {row[2]: row[3] for row in csv.reader(io.StringIO(out))} == {
        "source_id": "golden_id",
        "ERP-1": survivor.golden_id,
        "ERP-2": survivor.golden_id,
    }


def test_export_with_an_unknown_system_fails() -> None:
    with pytest.raises(CommandError, match="known systems: netsuite, salesforce"):
        run("export_xrefs", "-", "--system=sap")
