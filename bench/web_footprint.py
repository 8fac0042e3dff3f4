"""What one web process costs before it serves a request: the time to import the WSGI application and load every
URL's view, its peak memory, and which heavy libraries it loaded (a web process needs neither pandas nor scipy).

Each figure is the median of --runs fresh interpreters (production settings, the SQLite default otherwise).

    .venv/bin/python bench/web_footprint.py --runs 7
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = r"""
import json, resource, sys, time
started = time.perf_counter()
import importlib
wsgi = importlib.import_module(sys.argv[1])
from django.urls import get_resolver
resolver = get_resolver()
def walk(patterns):
    for pattern in patterns:
        if hasattr(pattern, "url_patterns"):
            walk(pattern.url_patterns)
        else:
            pattern.callback
walk(resolver.url_patterns)
elapsed = time.perf_counter() - started
heavy = sorted(name for name in ("pandas", "scipy", "sklearn", "recordlinkage", "trustme", "simulators", "demo")
               if name in sys.modules)
print(json.dumps({"seconds": elapsed, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "modules": len(sys.modules), "heavy": heavy}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--wsgi", default="config.wsgi", help="the WSGI module (mdm.wsgi before the project moved)")
    args = parser.parse_args()
    env = {
        **os.environ,
        "MDM_ENV": "production",
        "DJANGO_SECRET_KEY": "x" * 60,
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        "MDM_CREDENTIALS_KEYS": "ZXhhbXBsZS1vbmx5LXJlcGxhY2UtbWUtMDAwMDAwMDA=",
        "DJANGO_ALLOWED_HOSTS": "localhost",
    }
    results = []
    for _ in range(args.runs):
        done = subprocess.run(
            [sys.executable, "-c", PROBE, args.wsgi], env=env, capture_output=True, text=True, check=True
        )
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"web process, {args.runs} fresh interpreters ({args.wsgi}):")
    print(f"  import + URL conf: median {statistics.median(r['seconds'] for r in results) * 1000:.0f} ms")
    print(f"  peak RSS:          median {statistics.median(r['rss_mb'] for r in results):.1f} MB")
    print(f"  modules loaded:    {results[0]['modules']}")
    print(f"  heavy libraries:   {', '.join(results[0]['heavy']) or 'none'}")


if __name__ == "__main__":
    main()
