"""Memory of a big file import: `manage.py import_records` on a generated file, its RSS sampled as it runs.

Generates --lines customer records (default 1,000,000) as CSV or JSONL, runs the import command in a
child process against PostgreSQL, reads the child's VmRSS from /proc every --interval seconds along
with how far it has read the file (/proc/<pid>/fdinfo), and prints the RSS at 10%, 50% and 90% of the
file, the peak (the kernel's maxrss for the child), the elapsed time and the import's own summary.
A flat RSS from 10% to 90% is the point: memory must not grow with the file.

The database is chosen as in ingest_throughput.py, with `mdm_bench_import` as the default name;
it must be empty unless --reset.

    .venv/bin/python bench/import_memory.py --lines 200000 --reset
    .venv/bin/python bench/import_memory.py --format jsonl --reset     # the full million
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench scripts import each other by name

from generate_customers import write_file
from ingest_throughput import ROOT, prepare_database, refuse_if_not_empty, setup_django

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/mdm_bench_import"
MARKS = (0.1, 0.5, 0.9)


def rss_kib(pid: int) -> int | None:
    """The process's resident set size in KiB, or None once it has gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def read_position(pid: int, path: Path) -> int | None:
    """How far the process has read into `path`: the offset of its open descriptor on that file."""
    target = str(path.resolve())
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") != target:
                    continue
                with open(f"/proc/{pid}/fdinfo/{fd}") as info:
                    return int(info.readline().split()[1])
            except OSError:
                continue
    except OSError:
        return None
    return None


def import_started(sequence_sql: str) -> bool:
    """Whether the import has written its first record (it reads the whole file once beforehand, to check
    the encoding, so file offsets before that are the check's, not the import's)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sequence_sql)
        row = cursor.fetchone()
    return bool(row and row[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000, help="records to generate (default 1,000,000)")
    parser.add_argument("--format", dest="fmt", choices=("csv", "jsonl"), default="csv")
    parser.add_argument("--file", type=Path, help="import this file instead of generating one")
    parser.add_argument("--keep-file", action="store_true", help="keep the generated file")
    parser.add_argument("--system", default="netsuite")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between RSS samples")
    parser.add_argument("--database-url", help=f"default: DATABASE_URL, else {DEFAULT_URL}")
    parser.add_argument("--reset", action="store_true", help="drop and re-create the (bench) database first")
    args = parser.parse_args()

    url = prepare_database(args.database_url, reset=args.reset, default_url=DEFAULT_URL)
    setup_django(url)
    refuse_if_not_empty("pass --reset to drop and re-create it")

    workdir = Path(tempfile.mkdtemp(prefix="mdm-import-bench-"))
    if args.file:
        path = args.file
    else:
        path = workdir / f"customers.{args.fmt}"
        started = time.monotonic()
        write_file(path, args.lines, args.fmt)
        print(f"generated {args.lines:,} records in {time.monotonic() - started:.0f} s: {path}")
    size = path.stat().st_size
    print(f"file: {size / 2**20:,.0f} MiB; database {url.rsplit('/', 1)[-1]}")

    errors = workdir / "errors.csv"
    command = [
        sys.executable,
        "manage.py",
        "import_records",
        "--system",
        args.system,
        "--entity",
        "customer",
        str(path),
        "--quiet",
        "--errors",
        str(errors),
    ]
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_DEBUG": "0", "LOG_LEVEL": "WARNING"}
    sequence_sql = "SELECT is_called FROM mdm_sourcerecord_id_seq"
    started = time.monotonic()
    child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    samples: list[tuple[float, float, int]] = []  # (seconds, fraction of the file imported, RSS KiB)
    importing = False
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        rss = rss_kib(child.pid)
        position = read_position(child.pid, path)
        importing = importing or import_started(sequence_sql)
        if rss is not None:
            fraction = position / size if importing and position is not None else 0.0
            samples.append((time.monotonic() - started, fraction, rss))
        time.sleep(args.interval)
    elapsed = time.monotonic() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    out, err = child.communicate()

    print(f"\nimport_records exited {child.returncode} after {elapsed:.1f} s")
    print(out.strip())
    if err.strip():
        print(err.strip()[-2000:])
    print(f"peak RSS (maxrss): {usage.ru_maxrss / 1024:,.0f} MiB; {len(samples)} samples every {args.interval} s")
    for mark in MARKS:
        sample = next((s for s in samples if s[1] >= mark), None)
        if sample:
            print(f"RSS at {mark:.0%} of the file: {sample[2] / 1024:,.0f} MiB (t={sample[0]:.0f} s)")
    during = [rss for _, fraction, rss in samples if MARKS[0] <= fraction <= MARKS[-1]]
    if during:
        print(f"RSS between 10% and 90%: min {min(during) / 1024:,.0f} MiB, max {max(during) / 1024:,.0f} MiB")
    if errors.exists():
        with errors.open() as stream:
            print(f"error rows written: {sum(1 for _ in stream) - 1:,} ({errors})")
    if not args.file and not args.keep_file:
        path.unlink()
    sys.exit(child.returncode)


if __name__ == "__main__":
    main()
