"""Golden-ID resolution over REST under gunicorn, on PostgreSQL.

Loads N golden customers through the ingest service, starts gunicorn on loopback, then measures:
- single-key GET /api/v1/resolve/ with 10 concurrent keep-alive clients: requests/s, p50/p95;
- one 1,000-key POST /api/v1/resolve/batch/: p50/p95 over repeated calls.

    .venv/bin/python bench/resolve_api.py [--customers 100000] [--seconds 20] [--workers 4]
"""

import argparse
import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
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
            connection.request("GET", "/health/")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("gunicorn did not come up")


def single_key_load(key: str, customers: int, clients: int, seconds: float) -> None:
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    stop = time.perf_counter() + seconds
    headers = {"Authorization": f"Api-Key {key}"}

    def client(index: int) -> None:
        rng = random.Random(index)
        connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
        while time.perf_counter() < stop:
            source_id = f"001B{rng.randrange(customers):09d}"
            began = time.perf_counter()
            connection.request(
                "GET", f"/api/v1/resolve/?system=salesforce&entity_type=customer&source_id={source_id}", headers=headers
            )
            response = connection.getresponse()
            response.read()
            latencies[index].append(time.perf_counter() - began)
            if response.status != 200:
                errors[index] += 1

    threads = [threading.Thread(target=client, args=(index,)) for index in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    flat = [value for values in latencies for value in values]
    rate = len(flat) / elapsed
    print(
        f"single-key resolve, {clients} clients, {elapsed:.0f} s: {rate:,.0f} requests/s, "
        f"{summary(flat)}, errors {sum(errors)}"
    )


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
            headers={"Authorization": f"Api-Key {key}", "Content-Type": "application/json"},
        )
        response = connection.getresponse()
        payload = json.loads(response.read())
        timings.append(time.perf_counter() - began)
        assert response.status == 200 and all(row["status"] == "active" for row in payload["results"]), response.status
    mean, worst = statistics.mean(timings) * 1000, max(timings) * 1000
    print(f"1,000-key batch resolve, {rounds} calls: {summary(timings)}, mean {mean:.1f} ms, max {worst:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--batch-rounds", type=int, default=30)
    args = parser.parse_args()

    url = fresh_database("mdm_bench_resolve")
    setup_django(url)
    load_customers(args.customers)
    from mdm.services import api_key_create

    _, key = api_key_create(name="bench", created_by=None, rate="1000000/min")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "LOG_LEVEL": "WARNING",
        "DJANGO_DEBUG": "0",
        "MDM_API_KEY_RATE": "1000000/min",
    }
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "config.wsgi",
            "-b",
            f"127.0.0.1:{PORT}",
            "-w",
            str(args.workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_for_server()
        single_key_load(key, args.customers, 2, 3)  # warm every worker's connection and caches
        single_key_load(key, args.customers, args.clients, args.seconds)
        batch_load(key, args.customers, args.batch_rounds)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
