"""Candor's settings: embedded defaults (SQLite, filesystem queue, files under var/), production by environment."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from .env import env_bool, env_int, env_list, env_secret, env_str
from .log_redaction import redacting_record_factory_install

# What any Candor process writes (database, mail outbox, keys, videos, queue, cache, logs) is its user's alone: files
# 0600, folders 0700. Set here because every process (web, worker, manage.py commands, tests) loads the settings
# before it writes anything; the launcher sets it too, for the children it starts.
PRIVATE_UMASK = 0o077
os.umask(PRIVATE_UMASK)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("CANDOR_DATA_DIR", str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
if DATA_DIR.stat().st_uid == os.getuid():
    # A data directory made before this rule (or by hand): closing it closes everything below, whatever its mode.
    DATA_DIR.chmod(0o700)

DEBUG = env_bool("DEBUG", False)


def _secret_key() -> str:
    configured = env_secret("SECRET_KEY")
    if configured:
        return configured
    # Embedded mode: a random key made once and kept beside the data, never in the repo.
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
CANDOR_PUBLIC_URL = env_str("CANDOR_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "studio",
    "consent",
    "provenance",
    "verifier",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.middleware.DatabaseUnavailableMiddleware",
    "config.middleware.TokenGuessLimitMiddleware",
]

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
            ]
        },
    }
]

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'candor.sqlite3'}")
# A PostgreSQL connection costs the server a process: web threads keep theirs (health-checked) instead of one per
# request.
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0 if DATABASE_URL.startswith("sqlite") else 60)
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web and worker write at once: WAL and a busy timeout instead of 'database is locked'.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database that is down answers fast (the API then says 503) instead of hanging a web process.
    DATABASES["default"]["OPTIONS"] = {"connect_timeout": env_int("DB_CONNECT_TIMEOUT_S", 5)}
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
CANDOR_DB_RETRY_AFTER_S = env_int("CANDOR_DB_RETRY_AFTER_S", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Failed logins lock out the account, and (more of them) the address, for the window; see studio/signin.py.
AUTHENTICATION_BACKENDS = ["studio.signin.LimitedModelBackend"]
CANDOR_LOGIN_FAILURES_PER_ACCOUNT = env_int("CANDOR_LOGIN_FAILURES_PER_ACCOUNT", 5)
CANDOR_LOGIN_FAILURES_PER_ADDRESS = env_int("CANDOR_LOGIN_FAILURES_PER_ADDRESS", 20)
CANDOR_LOGIN_LOCKOUT_S = env_int("CANDOR_LOGIN_LOCKOUT_S", 900)
# Link tokens that lead nowhere and refused API tokens, per address (config.middleware.TokenGuessLimitMiddleware).
CANDOR_TOKEN_FAILURES_PER_ADDRESS = env_int("CANDOR_TOKEN_FAILURES_PER_ADDRESS", 20)
CANDOR_TOKEN_LOCKOUT_S = env_int("CANDOR_TOKEN_LOCKOUT_S", 900)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = DATA_DIR / "media"
# Media on local disk by default; CANDOR_S3_BUCKET switches to S3-compatible storage (pip install "candor[s3]").
CANDOR_S3_BUCKET = env_str("CANDOR_S3_BUCKET", "")
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if CANDOR_S3_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": CANDOR_S3_BUCKET,
            "endpoint_url": env_str("CANDOR_S3_ENDPOINT_URL", "") or None,
            "region_name": env_str("CANDOR_S3_REGION", "") or None,
            "access_key": env_secret("CANDOR_S3_ACCESS_KEY_ID"),
            "secret_key": env_secret("CANDOR_S3_SECRET_ACCESS_KEY"),
            "location": env_str("CANDOR_S3_PREFIX", ""),
            # Media is private: served only through the API after the consent check, never by public URL.
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
KEYS_DIR = Path(env_str("CANDOR_KEYS_DIR", str(DATA_DIR / "keys")))

# Uploads: checked by content in services; these caps stop oversized bodies early.
CANDOR_MAX_IMAGE_BYTES = env_int("CANDOR_MAX_IMAGE_BYTES", 15 * 1024 * 1024)
CANDOR_MAX_AUDIO_BYTES = env_int("CANDOR_MAX_AUDIO_BYTES", 50 * 1024 * 1024)
CANDOR_MAX_VIDEO_BYTES = env_int("CANDOR_MAX_VIDEO_BYTES", 200 * 1024 * 1024)
# One-second previews a consent allows (beside its renders): joined, they make at most this many seconds of video.
CANDOR_MAX_PREVIEWS_PER_CONSENT = env_int("CANDOR_MAX_PREVIEWS_PER_CONSENT", 5)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = DATA_DIR / "mail"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Candor <no-reply@candor.localhost>")

CANDOR_VERIFY_RATE = env_str("CANDOR_VERIFY_RATE", "30/minute")
# Verifications the web processes of one machine run at once; more are refused with 429 and Retry-After, so light
# requests never wait behind them.
CANDOR_VERIFY_CONCURRENCY = env_int("CANDOR_VERIFY_CONCURRENCY", 1)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "studio.accounts.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.SafeJSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.errors.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {"consent_subject": "60/minute"},
    # Who a client is for every limit: its own address, or the one the TLS proxy in front saw (never a header it could
    # forge).
    "NUM_PROXIES": 1 if env_bool("BEHIND_TLS_PROXY", False) else 0,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Candor API",
    "DESCRIPTION": "Consent-gated talking portraits with provenance.",
    "VERSION": "1",
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "core.schema.error_component"],
}

# Throttling and login counters live in the cache: the embedded default keeps it in files under the data directory,
# so that every web process counts the same attempts; production shares Redis.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(DATA_DIR / "cache")}
}
if env_str("CACHE_URL", ""):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": env_str("CACHE_URL", "")}
    }

# Celery: the embedded default needs no server (filesystem transport under var/queue).
QUEUE_DIR = DATA_DIR / "queue"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for folder in ("in", "processed", "control"):
        (QUEUE_DIR / folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(QUEUE_DIR / "in"),
        "data_folder_out": str(QUEUE_DIR / "in"),
        "processed_folder": str(QUEUE_DIR / "processed"),
        # Broadcast (remote control) exchanges: under the queue, not in the working directory.
        "control_folder": str(QUEUE_DIR / "control"),
        "store_processed": False,
        "polling_interval": 0.2,
    }
# A render may not run longer than this: Celery raises in the task at the soft limit and kills it 30 s later.
CANDOR_RENDER_TIME_LIMIT_S = env_int("CANDOR_RENDER_TIME_LIMIT_S", 900)
# Memory of the render process (models included), checked between frames; 0 turns the check off.
CANDOR_RENDER_MEMORY_LIMIT_MB = env_int("CANDOR_RENDER_MEMORY_LIMIT_MB", 4096)
# Renders run at this much lower CPU priority (Unix nice) than the web server, so that pages and status calls stay
# quick on a machine that also renders; 0 keeps them equal.
CANDOR_RENDER_NICENESS = env_int("CANDOR_RENDER_NICENESS", 10)
# A render whose worker process died this often (SIGKILL, OOM killer) is failed instead of re-delivered again.
CANDOR_RENDER_MAX_ATTEMPTS = env_int("CANDOR_RENDER_MAX_ATTEMPTS", 3)
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # A message taken by a worker that then vanished whole (not just its pool child) comes back after this long;
    # longer than any render, so a render still running is never handed out twice.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CANDOR_BROKER_VISIBILITY_TIMEOUT_S", 2 * CANDOR_RENDER_TIME_LIMIT_S + 60),
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The broker restarting must not stop a render: its late ack fails and the message comes back to a no-op.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 5, "interval_start": 0.5, "interval_step": 1, "interval_max": 3}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ROUTES = {"studio.tasks.render_run_task": {"queue": "render"}}
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "consents-expire": {"task": "consent.tasks.consents_expire_task", "schedule": 300.0},
    "uploads-abandoned-delete": {"task": "studio.tasks.uploads_abandoned_delete_task", "schedule": 3600.0},
    "renders-undispatched-dispatch": {"task": "studio.tasks.renders_undispatched_dispatch_task", "schedule": 60.0},
    "consent-links-expire": {"task": "consent.tasks.consent_links_expire_task", "schedule": 900.0},
    "consent-reviews-expire": {"task": "consent.tasks.consent_reviews_expire_task", "schedule": 3600.0},
}
CANDOR_ABANDONED_UPLOAD_HOURS = env_int("CANDOR_ABANDONED_UPLOAD_HOURS", 24)

CANDOR_RENDER_FPS = 25
# An operator's own ONNX mouth model (inference/neural.py describes what it must provide); empty: the weight-free
# engine.
# Where frames are warped is the engine's own setting, CANDOR_ENGINE_DEVICE (auto, cpu, cuda, torch-cpu).
CANDOR_NEURAL_MODEL = env_str("CANDOR_NEURAL_MODEL", "")
CANDOR_RENDER_MAX_SIDE = env_int("CANDOR_RENDER_MAX_SIDE", 512)
CANDOR_CONSENT_LINK_DAYS = env_int("CANDOR_CONSENT_LINK_DAYS", 7)
CANDOR_CONSENT_MAX_ATTEMPTS = 5
# Consent requests send mail from Candor's address to whoever the creator names: at most this many per creator per
# hour, and per address asked per day, whoever asks (consent/services/requests.py).
CANDOR_CONSENT_REQUESTS_PER_CREATOR_HOUR = env_int("CANDOR_CONSENT_REQUESTS_PER_CREATOR_HOUR", 20)
CANDOR_CONSENT_REQUESTS_PER_ADDRESS_DAY = env_int("CANDOR_CONSENT_REQUESTS_PER_ADDRESS_DAY", 5)
# Failed live captures (docs/consent.md): a link shows one challenge at a time, at most this many, each for 2 minutes...
CANDOR_CONSENT_CHALLENGES_PER_LINK = 3
CANDOR_CONSENT_CHALLENGE_S = 120
# ...a portrait with this many failed captures, over all its links, takes no new request until a person reviews it...
CANDOR_PORTRAIT_MAX_FAILED_CAPTURES = 5
# ...and a creator whose requests drew this many failed captures within 24 hours sends no new request for a day.
CANDOR_CREATOR_MAX_FAILED_CAPTURES = 10
# Which approvals wait for a staff decision before the consent is active (docs/consent.md, "Human review"): none
# (`off`), those near a threshold, after recent failures or sent as a file (`risky`), or every one (`all`).
CANDOR_CONSENT_REVIEW_MODES = ("off", "risky", "all")
CANDOR_CONSENT_REVIEW = env_str("CANDOR_CONSENT_REVIEW", "risky")
if CANDOR_CONSENT_REVIEW not in CANDOR_CONSENT_REVIEW_MODES:
    raise ImproperlyConfigured(
        f"CANDOR_CONSENT_REVIEW must be one of {', '.join(CANDOR_CONSENT_REVIEW_MODES)}, not {CANDOR_CONSENT_REVIEW!r}"
    )
# What analysing one live capture may use, in a child process (docs/consent.md has the figures measured).
CANDOR_CAPTURE_CPU_S = env_int("CANDOR_CAPTURE_CPU_S", 10)
CANDOR_CAPTURE_MEMORY_MB = env_int("CANDOR_CAPTURE_MEMORY_MB", 400)
CANDOR_CAPTURE_WALL_S = env_int("CANDOR_CAPTURE_WALL_S", 120)
# Live captures one address may send (consent decisions, registry captures and removals; API and pages together).
CANDOR_CAPTURE_RATE = env_str("CANDOR_CAPTURE_RATE", "10/minute")

# With DEBUG off the secure settings follow (manage.py check --deploy is clean).
# CANDOR_LOCAL_HTTP=1 (set by `make run`) serves plain HTTP on loopback without weakening anything else.
LOCAL_HTTP = env_bool("CANDOR_LOCAL_HTTP", False)
_HTTPS_ONLY = not DEBUG and not LOCAL_HTTP
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", _HTTPS_ONLY)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", _HTTPS_ONLY)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _HTTPS_ONLY)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if _HTTPS_ONLY else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _HTTPS_ONLY
SECURE_HSTS_PRELOAD = _HTTPS_ONLY
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

if not DEBUG and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters when DEBUG is off")

# Link tokens and credentials never reach a log (config/log_redaction.py), whichever logger or handler writes it.
redacting_record_factory_install()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
