"""gunicorn's settings for the hub's web process (the image's command and docker-compose's `web`).

Threaded workers keep connections alive: integrating systems resolve golden IDs over keep-alive connections, and
gunicorn's default sync worker closes every connection after one response, so each lookup would pay a new TCP
connection and a worker's accept. One thread per worker by default: on two cores, four workers of one thread served
617 lookups/s, four of four threads 485 (they contend for the interpreter lock), sync workers 559
(bench/resolve_api.py). Tune with GUNICORN_WORKERS and GUNICORN_THREADS; the bind address is given on the command
line.
"""

import multiprocessing

from mdm.env import env_int, env_str

# Read with the settings' typed helpers: a bad value stops gunicorn with the variable's name, not a traceback.
workers = env_int("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2, minimum=1, maximum=64)
worker_class = "gthread"
threads = env_int("GUNICORN_THREADS", 1, minimum=1, maximum=64)
keepalive = env_int("GUNICORN_KEEPALIVE", 5, minimum=0, maximum=300)
# A request is never this slow by design: a stuck worker is restarted rather than waited for.
timeout = env_int("GUNICORN_TIMEOUT", 60, minimum=1, maximum=3600)
accesslog = env_str("GUNICORN_ACCESS_LOG", "-") or None
