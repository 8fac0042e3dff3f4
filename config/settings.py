"""Settings for the MDM hub: one module, configured by environment variables.

Unset variables give the embedded default (SQLite and a filesystem Celery broker), so a fresh
machine needs nothing but Python. Production mode (MDM_ENV=production) requires the secrets and
services to be named explicitly and turns on every `check --deploy` safeguard.
"""

from pathlib import Path

import dj_database_url

from mdm.env import env_bool, env_choice, env_int, env_list, env_required, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("MDM_VAR_DIR", str(BASE_DIR / "var")))

MDM_ENV = env_choice("MDM_ENV", "development", ("development", "production", "test"))
PRODUCTION = MDM_ENV == "production"

DEBUG = env_bool("DJANGO_DEBUG", not PRODUCTION)
if PRODUCTION:
    SECRET_KEY = env_required("DJANGO_SECRET_KEY")
    ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [])
    if not ALLOWED_HOSTS:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set in production mode")
else:
    # A development key: never used when MDM_ENV=production (the key is then required).
    SECRET_KEY = env_str("DJANGO_SECRET_KEY", "dev-only-insecure-key-3f9a1c0e5b7d4e2f8a6c1b9d0e7f3a5c")
    ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])

CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "django_celery_beat",
    "mdm",
    "mdm.publishing",
    "matching",
    "governance",
]
if not PRODUCTION:
    # Test fakes and demo data: development, tests and bin/demo only (their code is not in the production image).
    INSTALLED_APPS += ["simulators", "demo"]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "mdm.middleware.CorrelationIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

if PRODUCTION:
    # Static files straight from the web process; in development Django's runserver serves them.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
_sqlite_path = VAR_DIR / "mdm.sqlite3"
DATABASE_URL = env_str("DATABASE_URL", "")
if PRODUCTION and not DATABASE_URL:
    DATABASE_URL = env_required("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # A health check is one more round trip ("SELECT 1") at the start of every request: a quarter of a golden-ID
        # lookup's time (bench/resolve_api.py). Off by default: after a database restart each process's first request
        # fails once and the next reconnects. Turn it on where the database restarts often.
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = env_bool("DB_CONN_HEALTH_CHECKS", False)
        # Server-side parameter binding: bulk inserts (UNNEST arrays) are sent as parameters instead of
        # being quoted into the SQL text client-side, which dominated ingest time (see bench/README.md).
        DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # the embedded default keeps its database here
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(_sqlite_path),
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN, so the web process and the worker queue up
                # for it instead of failing with "database is locked" on a read-to-write upgrade.
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            "TEST": {"NAME": env_str("SQLITE_TEST_NAME", "") or None},
        }
    }
# SQLite has no covering indexes: the blocking-key index is a plain one there (PostgreSQL adds golden_id).
SILENCED_SYSTEM_CHECKS = ["models.W040"] if DATABASES["default"]["ENGINE"].endswith("sqlite3") else []
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth, i18n, static ---------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MDM_MAX_REQUEST_BYTES", 20 * 1024 * 1024, minimum=1024)

# --- Security (production) ------------------------------------------------------------------------
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"

# --- REST API ---------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "mdm.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["mdm.api.permissions.ReadScope"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["mdm.api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_key": env_str("MDM_API_KEY_RATE", "6000/min")},
    "EXCEPTION_HANDLER": "mdm.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",  # the API parses JSON only
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MDM hub API",
    "DESCRIPTION": "Golden records, golden-ID resolution, ingest and hierarchies.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",  # served from the hub itself: the docs work without internet access
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "CustomerStatusEnum": "mdm.models.golden.CustomerStatus",
        "DeliveryStateEnum": "mdm.models.publishing.DeliveryState",
        "ProductStatusEnum": "mdm.models.golden.ProductStatus",
        "ResolutionStatusEnum": ["active", "merged", "not_found"],
        "OutcomeStatusEnum": ["created", "updated", "unchanged", "rejected"],
        "CandidateStatusEnum": "matching.models.CandidateStatus",
        "ChangeKindEnum": "governance.models.ChangeKind",
        "CustomerKindEnum": "mdm.models.golden.CustomerKind",
        "SystemKindEnum": "mdm.models.systems.SystemKind",
        "ChangeStatusEnum": "governance.models.ChangeStatus",
    },
}

# --- Cache (throttling counters are shared by all web processes in production) ---------------------
REDIS_CACHE_URL = env_str("REDIS_CACHE_URL", "")
if REDIS_CACHE_URL:
    CACHES = {"default": {"BACKEND": "mdm.cache.RedisCache", "LOCATION": REDIS_CACHE_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery -------------------------------------------------------------------------------------------
_celery_dir = VAR_DIR / "celery"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if PRODUCTION and CELERY_BROKER_URL == "filesystem://":
    CELERY_BROKER_URL = env_required("CELERY_BROKER_URL")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_dir / "queue"),
        "data_folder_out": str(_celery_dir / "queue"),
        "processed_folder": str(_celery_dir / "processed"),
        "store_processed": False,
    }
else:
    # Longer than the longest task, so a slow task is not redelivered while it still runs.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE
# Installed into django-celery-beat's tables on beat's first start; edit the schedules in the admin afterwards.
CELERY_BEAT_SCHEDULE = {
    "refresh-table-statistics": {"task": "mdm.tasks.refresh_table_statistics", "schedule": 300.0},
    # The backstop of the on-commit nudge: what a lost nudge (broker down) left pending goes out within seconds.
    "publish-relay": {"task": "mdm.publishing.tasks.relay", "schedule": 5.0},
    "publish-pull": {"task": "mdm.publishing.tasks.pull_all", "schedule": 60.0},
    # The match models are learnt again from the data once an entity type has grown by a quarter.
    "train-matchers": {"task": "matching.tasks.train_matchers", "schedule": 7 * 24 * 3600.0},
}

# --- The hub ---------------------------------------------------------------------------------------------
MDM_INGEST_MAX_BATCH = env_int("MDM_INGEST_MAX_BATCH", 1000, minimum=1, maximum=10_000)
MDM_RESOLVE_MAX_BATCH = env_int("MDM_RESOLVE_MAX_BATCH", 1000, minimum=1, maximum=10_000)
# Seconds a web process keeps an API key it has read (0: read it on every request). A revoked key stops working in
# the process that revoked it at once, in the others within this time. Production keeps keys 5 s: the read was a
# fifth of a golden-ID lookup (bench/resolve_api.py).
MDM_API_KEY_CACHE_SECONDS = env_int("MDM_API_KEY_CACHE_SECONDS", 5 if PRODUCTION else 0, minimum=0, maximum=300)
# Days a review candidate or change request may wait before the steward dashboard counts it late.
MDM_STEWARD_SLA_DAYS = env_int("MDM_STEWARD_SLA_DAYS", 3, minimum=1, maximum=365)
# Rule changes touching more golden records than this are recomputed in a Celery task.
MDM_RECOMPUTE_INLINE_LIMIT = env_int("MDM_RECOMPUTE_INLINE_LIMIT", 200, minimum=0)

# --- Publishing -------------------------------------------------------------------------------------------
# Fernet keys (comma-separated; the first encrypts, all decrypt) for target credentials at rest. Outside
# production an unset value derives a key from SECRET_KEY.
MDM_CREDENTIALS_KEYS = env_required("MDM_CREDENTIALS_KEYS") if PRODUCTION else env_str("MDM_CREDENTIALS_KEYS", "")
# After each commit that writes outbox events, ask a worker to publish now (beat is the backstop).
MDM_PUBLISH_NUDGE = env_bool("MDM_PUBLISH_NUDGE", True)
# A worker delivering to a target holds it this long, renewed after every batch; a killed worker's
# target is taken over by another worker once it runs out.
MDM_PUBLISH_LEASE_SECONDS = env_int("MDM_PUBLISH_LEASE_SECONDS", 120, minimum=5, maximum=3600)
# How our writes name themselves to targets (Sforce-Call-Options: client=…), so their echo is recognised.
MDM_PUBLISH_CLIENT_NAME = env_str("MDM_PUBLISH_CLIENT_NAME", "mdm-hub")
# Webhook targets may call private or loopback addresses only when this is on (tests, an internal relay).
MDM_WEBHOOK_ALLOW_PRIVATE = env_bool("MDM_WEBHOOK_ALLOW_PRIVATE", False)
# /metrics answers only with this bearer token when set (Prometheus' bearer_token setting).
MDM_METRICS_TOKEN = env_str("MDM_METRICS_TOKEN", "")
# Inbound pulls re-read this many seconds before their watermark (a change committed during the last pull).
MDM_PULL_OVERLAP_SECONDS = env_int("MDM_PULL_OVERLAP_SECONDS", 120, minimum=0, maximum=86_400)

# --- Logging ------------------------------------------------------------------------------------------------
LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
LOG_JSON = env_bool("LOG_JSON", PRODUCTION)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"correlation": {"()": "mdm.logging.CorrelationIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(correlation_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["correlation"],
            "formatter": "json" if LOG_JSON else "text",
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
