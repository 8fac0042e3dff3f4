"""Golden-ID resolution over REST under gunicorn with production settings, on PostgreSQL, beside pgbench -S.

Loads N golden customers through the ingest service, starts gunicorn on loopback (MDM_ENV=production, the throttle's
counters in Redis as in docker-compose), then measures, on the same cores in the same run:
- single-key GET /api/v1/resolve/ with wrk (Debian's `wrk`; 10 keep-alive connections, random existing keys):
  requests/s and latency percentiles;
- PostgreSQL's own ceiling for one-row primary-key selects: `pgbench -S` with 10 clients, and the ratio;
- one 1,000-key POST /api/v1/resolve/batch/: p50/p95 over repeated calls.

    .venv/bin/python bench/resolve_api.py [--customers 100000] [--seconds 20] [--workers 4]
"""

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _db import ROOT, fresh_database, setup_django, summary

PORT = 8765


def load_customers(count: int) -> None:
    from mdm.ingest import ingest
    from mdm.models import System

    system = System.objects.get(code="salesforce")
    started = time.perf_counter()
    for start in range(0, count, 1000):
        records = [
            {
                "source_id": f"001B{index:09d}",
                "legal_name": f"Benchmark Company {index} Ltd",
                "legal_address": {"country": "GB"},
            }
            for index in range(start, min(start + 1000, count))
        ]
        ingest(system=system, entity_type="customer", records=records, actor=system.service_user)
    print(f"loaded {count:,} customers in {time.perf_counter() - started:.1f} s")


def wait_for_server(timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
            connection.request("GET", "/health/", headers={"X-Forwarded-Proto": "https"})
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("gunicorn did not come up")


WRK_SCRIPT = """
math.randomseed(os.time())
local customers = %d
wrk.headers["Authorization"] = "Api-Key %s"
wrk.headers["X-Forwarded-Proto"] = "https"
request = function()
  local path = string.format("/api/v1/resolve/?system=salesforce&entity_type=customer&source_id=001B%%09d",
    math.random(0, customers - 1))
  return wrk.format("GET", path)
end
done = function(summary, latency, requests)
  io.write(string.format("WRK %%d %%d %%d %%.1f %%.1f %%.1f %%.1f\\n", summary.requests, summary.duration,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""


def single_key_load(key: str, customers: int, connections: int, seconds: float) -> float:
    """wrk against the single-key endpoint; returns requests/s."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % (customers, key))
    done = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds:.0f}s", "-s", script.name, f"http://127.0.0.1:{PORT}"],
        capture_output=True,
        text=True,
        check=True,
    )
    os.unlink(script.name)
    line = next(line for line in done.stdout.splitlines() if line.startswith("WRK "))
    requests, duration_us, errors, p50, p95, p99, worst = (float(value) for value in line.split()[1:])
    rate = requests / (duration_us / 1e6)
    print(
        f"single-key resolve (wrk, {connections} connections, {duration_us / 1e6:.0f} s): {rate:,.0f} requests/s, "
        f"p50 {p50 / 1000:.1f} ms, p95 {p95 / 1000:.1f} ms, p99 {p99 / 1000:.1f} ms, max {worst / 1000:.1f} ms, "
        f"errors {errors:.0f}"
    )
    return rate


def pgbench_select_only(clients: int, seconds: float) -> float:
    """pgbench -S (one-row primary-key selects) on a scale-10 database of its own; returns transactions/s."""
    import psycopg
    from _db import PG_ADMIN_URL

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
        connection.execute('DROP DATABASE IF EXISTS "mdm_bench_pgbench" WITH (FORCE)')
        connection.execute('CREATE DATABASE "mdm_bench_pgbench"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/mdm_bench_pgbench"
    subprocess.run(["pgbench", "-i", "-q", "-s", "10", url], check=True, capture_output=True)
    done = subprocess.run(
        ["pgbench", "-S", "-c", str(clients), "-j", "2", "-T", f"{seconds:.0f}", url],
        check=True,
        capture_output=True,
        text=True,
    )
    tps = float(re.search(r"tps = ([0-9.]+)", done.stdout).group(1))
    print(f"pgbench -S, {clients} clients, {seconds:.0f} s: {tps:,.0f} selects/s")
    return tps


def batch_load(key: str, customers: int, rounds: int) -> None:
    rng = random.Random(7)
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    timings = []
    for _ in range(rounds):
        keys = [
            {"system": "salesforce", "entity_type": "customer", "source_id": f"001B{rng.randrange(customers):09d}"}
            for _ in range(1000)
        ]
        body = json.dumps({"keys": keys})
        began = time.perf_counter()
        connection.request(
            "POST",
            "/api/v1/resolve/batch/",
            body=body,
            headers={
                "Authorization": f"Api-Key {key}",
                "Content-Type": "application/json",
                "X-Forwarded-Proto": "https",
            },
        )
        response = connection.getresponse()
        payload = json.loads(response.read())
        timings.append(time.perf_counter() - began)
        assert response.status == 200 and all(row["status"] == "active" for row in payload["results"]), response.status
    mean, worst = statistics.mean(timings) * 1000, max(timings) * 1000
    print(f"1,000-key batch resolve, {rounds} calls: {summary(timings)}, mean {mean:.1f} ms, max {worst:.1f} ms")


def _loaded_database(customers: int) -> str | None:
    """The URL of an earlier run's database if it holds exactly these customers, else None."""
    import psycopg
    from _db import PG_ADMIN_URL

    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/mdm_bench_resolve"
    try:
        with psycopg.connect(url) as connection:
            held = connection.execute("SELECT count(*) FROM mdm_goldenrecord").fetchone()[0]
    except psycopg.Error:
        return None
    return url if held == customers else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--batch-rounds", type=int, default=30)
    parser.add_argument(
        "--reuse", action="store_true", help="keep the database of an earlier run if it holds --customers records"
    )
    args = parser.parse_args()

    url = _loaded_database(args.customers) if args.reuse else None
    if url is None:
        url = fresh_database("mdm_bench_resolve")
        setup_django(url)
        load_customers(args.customers)
        from django.db import connection

        with connection.cursor() as cursor:  # what autovacuum does after a load: the planner needs the statistics
            cursor.execute("ANALYZE")
    else:
        setup_django(url)
        print(f"reusing mdm_bench_resolve ({args.customers:,} customers)")
    from mdm.services import api_key_create

    # The key's own rate, far above the load: the throttle runs on every request but never refuses one.
    _, key = api_key_create(name="bench", created_by=None, rate="100000000/min")
    env = {
        **os.environ,
        "MDM_ENV": "production",
        "DJANGO_SECRET_KEY": "bench-" + "x" * 60,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        "REDIS_CACHE_URL": "redis://127.0.0.1:6379/1",
        "MDM_CREDENTIALS_KEYS": "ZXhhbXBsZS1vbmx5LXJlcGxhY2UtbWUtMDAwMDAwMDA=",
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "config.wsgi",
            *(["-c", "config/gunicorn.py"] if (ROOT / "config/gunicorn.py").exists() else []),
            "-b",
            f"127.0.0.1:{PORT}",
            "-w",
            str(args.workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,  # the access log is written, as in production, but not kept
    )
    try:
        wait_for_server()
        single_key_load(key, args.customers, 2, 3)  # warm every worker's connection and caches
        rate = single_key_load(key, args.customers, args.connections, args.seconds)
        batch_load(key, args.customers, args.batch_rounds)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    tps = pgbench_select_only(args.connections, args.seconds)
    print(f"resolve / pgbench -S: {rate / tps:.3f} (the hub answers one request per {tps / rate:.0f} selects)")


if __name__ == "__main__":
    main()
