"""
Settings for OneTime, read from the environment (see .env.example and README).

A malformed value stops start-up with ImproperlyConfigured naming the variable.
With DEBUG off the service refuses to start without SECRET_KEY and
ONETIME_ENCRYPTION_KEYS, unless ONETIME_LOCAL_KEYS is on (`make run`, `make dev`, and
DEBUG on): keys are then generated once into .local/dev-keys.json so that restarts keep
old secrets readable.
"""

import base64
import binascii
import json
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from onetime.env import env_bool, env_int, env_list, env_rate, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
# make run's embedded database and generated keys.
LOCAL_DIR = Path(env_str("ONETIME_LOCAL_DIR").strip() or BASE_DIR / ".local")

DEBUG = env_bool("DEBUG", False)
# Generate keys into LOCAL_DIR when none are given: for one machine, never for a deployment
# whose processes must share them (the image and compose do not set it).
ONETIME_LOCAL_KEYS = env_bool("ONETIME_LOCAL_KEYS", DEBUG)


def _dev_keys() -> dict[str, str]:
    """Return development keys from .local/dev-keys.json, creating the file once."""
    path = LOCAL_DIR / "dev-keys.json"
    if path.exists():
        return dict(json.loads(path.read_text()))
    keys = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ONETIME_ENCRYPTION_KEYS": base64.urlsafe_b64encode(os.urandom(32)).decode(),
    }
    LOCAL_DIR.mkdir(exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(keys, f, indent=2)
    return keys


def _required_key(name: str) -> str:
    value = env_str(name).strip()
    if value:
        return value
    if ONETIME_LOCAL_KEYS:
        return _dev_keys()[name]
    raise ImproperlyConfigured(
        f"{name} is required (see .env.example for how to generate one; `make run` "
        f"generates local keys by itself)"
    )


def _encryption_keys(raw: str) -> list[bytes]:
    keys = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            key = base64.urlsafe_b64decode(item + "=" * (-len(item) % 4))
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != 32:
            raise ImproperlyConfigured(
                "ONETIME_ENCRYPTION_KEYS must be a comma-separated list of base64-encoded "
                "32-byte keys"
            )
        keys.append(key)
    if not keys:
        raise ImproperlyConfigured("ONETIME_ENCRYPTION_KEYS holds no key")
    return keys


def _base_url(raw: str) -> str:
    raw = raw.strip().rstrip("/")
    if not raw:
        return ""
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query:
        raise ImproperlyConfigured(
            f"ONETIME_BASE_URL must be an absolute http(s) URL such as "
            f"https://onetime.example.com, got {raw!r}"
        )
    return raw


SECRET_KEY = _required_key("SECRET_KEY")
ONETIME_ENCRYPTION_KEYS = _encryption_keys(_required_key("ONETIME_ENCRYPTION_KEYS"))
ONETIME_BASE_URL = _base_url(env_str("ONETIME_BASE_URL"))

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
if ONETIME_BASE_URL and ONETIME_BASE_URL not in CSRF_TRUSTED_ORIGINS:
    CSRF_TRUSTED_ORIGINS.append(ONETIME_BASE_URL)

# --- Secrets -------------------------------------------------------------------------------
ONETIME_MIN_TTL = 60
ONETIME_MAX_TTL = env_int(
    "ONETIME_MAX_TTL", 7 * 86400, min_value=ONETIME_MIN_TTL, max_value=365 * 86400
)
ONETIME_DEFAULT_TTL = env_int("ONETIME_DEFAULT_TTL", 86400, min_value=ONETIME_MIN_TTL)
if ONETIME_DEFAULT_TTL > ONETIME_MAX_TTL:
    raise ImproperlyConfigured(
        f"ONETIME_DEFAULT_TTL ({ONETIME_DEFAULT_TTL}) must not exceed ONETIME_MAX_TTL "
        f"({ONETIME_MAX_TTL})"
    )
ONETIME_MAX_SECRET_BYTES = env_int(
    "ONETIME_MAX_SECRET_BYTES", 65536, min_value=1, max_value=10 * 1024 * 1024
)
ONETIME_PASSPHRASE_ATTEMPTS = env_int("ONETIME_PASSPHRASE_ATTEMPTS", 5, min_value=1, max_value=100)
ONETIME_TOMBSTONE_DAYS = env_int("ONETIME_TOMBSTONE_DAYS", 30, min_value=1, max_value=3650)

# --- Abuse limits (per client IP, counted in the database; see onetime/core/ratelimit.py) ---
ONETIME_RATE_CREATE = env_rate("ONETIME_RATE_CREATE", "30/m")
ONETIME_RATE_REVEAL = env_rate("ONETIME_RATE_REVEAL", "60/m")
# Metadata, recipient page, receipt and burn: look-ups by id or token. Not a guessing limit
# (ids and tokens carry 122 and 190 random bits) but a cap on one client's load; twice the
# reveal rate, since a recipient's page and a sender's reloads come before a reveal.
ONETIME_RATE_LOOKUP = env_rate("ONETIME_RATE_LOOKUP", "120/m")
# How many reverse proxies in front of the app append to X-Forwarded-For; 0 trusts none.
ONETIME_PROXY_COUNT = env_int("ONETIME_PROXY_COUNT", 0, min_value=0)

# --- Compatibility APIs (PRODUCT.md §2.8, docs/compatibility.md), each on unless off -----
# Password Pusher's JSON API (v1 /p.json…, v2 /api/v2/…) and its /p/<token> links.
ONETIME_PWPUSH_API = env_bool("ONETIME_PWPUSH_API", True)
# OneTimeSecret's API v1 (/api/v1/share…) and its /secret/<key>, /receipt/<key> links.
ONETIME_OTS_API = env_bool("ONETIME_OTS_API", True)

# --- Telegram bot and codes --------------------------------------------------------------
TELEGRAM_BOT_TOKEN = env_str("TELEGRAM_BOT_TOKEN").strip()
TELEGRAM_API_BASE_URL = (
    env_str("TELEGRAM_API_BASE_URL").strip() or "https://api.telegram.org"
).rstrip("/")
if urlsplit(TELEGRAM_API_BASE_URL).scheme not in {"http", "https"}:
    raise ImproperlyConfigured(
        f"TELEGRAM_API_BASE_URL must be an http(s) URL, got {TELEGRAM_API_BASE_URL!r}"
    )
# The bot's @username for links to it; by default what getMe reports (stored by the bot and
# the scheduler at start).
TELEGRAM_BOT_USERNAME = env_str("TELEGRAM_BOT_USERNAME").strip().lstrip("@")
# Checked against X-Telegram-Bot-Api-Secret-Token; the webhook route answers 404 without it.
TELEGRAM_WEBHOOK_SECRET = env_str("TELEGRAM_WEBHOOK_SECRET").strip()
TELEGRAM_CODE_EXPIRATION_MINUTES = env_int(
    "TELEGRAM_CODE_EXPIRATION_MINUTES", 5, min_value=1, max_value=1440
)
# Bearer token for POST /api/v1/codes/verify; the route answers 404 without it.
CODES_VERIFY_TOKEN = env_str("CODES_VERIFY_TOKEN").strip()
CLEANUP_INTERVAL_SECONDS = env_int("CLEANUP_INTERVAL_SECONDS", 300, min_value=1, max_value=86400)
# Optional bearer token for /metrics.
METRICS_TOKEN = env_str("METRICS_TOKEN").strip()

# --- The HTTP server (python -m onetime.serve; onetime/asgi.py) ----------------------------
HOST = env_str("HOST").strip() or "127.0.0.1"
PORT = env_int("PORT", 8000, min_value=1, max_value=65535)

# cgroup v2, as a container's --cpus sets it: "<quota> <period>", or "max <period>".
_cgroup_cpu_max = Path("/sys/fs/cgroup/cpu.max")


def _cpus() -> int:
    """Return the CPUs this process may use: its affinity, capped by a cgroup CPU quota."""
    count = len(os.sched_getaffinity(0))
    try:
        quota, period = _cgroup_cpu_max.read_text().split()
        return max(1, min(count, -(-int(quota) // int(period))))
    except (OSError, ValueError):  # no cgroup v2, or no quota ("max")
        return count


# Worker processes; each runs WEB_THREADS requests at once and holds up to that many
# database connections: WEB_CONCURRENCY × WEB_THREADS in all.
WEB_CONCURRENCY = env_int("WEB_CONCURRENCY", _cpus(), min_value=1)
WEB_THREADS = env_int("WEB_THREADS", 4, min_value=1, max_value=256)
# Seconds a client has to send a request's headers, and then its body.
WEB_HEADER_TIMEOUT = env_int("WEB_HEADER_TIMEOUT", 10, min_value=1, max_value=60)
WEB_BODY_TIMEOUT = env_int("WEB_BODY_TIMEOUT", 10, min_value=1, max_value=600)
# One line per request; off when a proxy in front logs requests already.
WEB_ACCESS_LOG = env_bool("WEB_ACCESS_LOG", True)

# --- Django --------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "onetime.core",
    "onetime.vault",
    "onetime.codes",
    "onetime.notices",
    "onetime.bot",
    "onetime.cleanup",
    "onetime.pwpush",
    "onetime.ots",
]

MIDDLEWARE = [
    # Outermost, so that every answer gets the headers, even a 500 raised by the metrics.
    "onetime.core.middleware.SecurityHeadersMiddleware",
    "onetime.core.metrics.MetricsMiddleware",
    "onetime.core.middleware.MethodNotAllowedMiddleware",
    "onetime.core.middleware.CollapseSlashesMiddleware",
    "onetime.core.middleware.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "onetime.core.middleware.LanguageSwitchMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "onetime.core.middleware.RequestSizeMiddleware",
    "django.middleware.common.CommonMiddleware",
    "onetime.core.csrf.SameOriginCsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "onetime.core.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "onetime.urls"
WSGI_APPLICATION = "onetime.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

_sqlite_path = LOCAL_DIR / "db.sqlite3"
try:
    DATABASES = {
        "default": dj_database_url.parse(
            env_str("DATABASE_URL") or f"sqlite:///{_sqlite_path}",
            conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, min_value=0),
            conn_health_checks=True,
        )
    }
except ValueError:
    # The message could echo the password; say only what is wrong.
    raise ImproperlyConfigured(
        "DATABASE_URL is not a valid URL (percent-encode special characters such as / # @ "
        "in the password)"
    ) from None
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend with a health check that needs no round trip (onetime/core/postgresql).
    _db["ENGINE"] = "onetime.core.postgresql"
    _db.setdefault("OPTIONS", {}).update(
        {
            # Values travel apart from the SQL text ($1, $2 …), so a failed statement that
            # PostgreSQL logs never carries a code or a ciphertext.
            "server_side_binding": True,
            "connect_timeout": env_int("DATABASE_CONNECT_TIMEOUT", 5, min_value=1),
            # A statement run 5 times on a connection is prepared (psycopg's default; Django
            # turns it off for poolers that cannot keep prepared statements): PostgreSQL
            # then skips parsing and planning it, a third of its CPU per create+reveal.
            "prepare_threshold": 5 if env_bool("DATABASE_PREPARED_STATEMENTS", True) else None,
        }
    )
    _statement_timeout = env_int("DATABASE_STATEMENT_TIMEOUT_MS", 5000, min_value=0)
    if _statement_timeout:
        # 0 sends nothing: PgBouncer refuses this start-up parameter (set it on the role).
        _db["OPTIONS"]["options"] = f"-c statement_timeout={_statement_timeout}"
elif _db["ENGINE"] == "django.db.backends.sqlite3":
    if _db["NAME"] == str(_sqlite_path):
        LOCAL_DIR.mkdir(exist_ok=True)
    # IMMEDIATE takes the write lock when a transaction begins, so concurrent reveals queue
    # up the way SELECT ... FOR UPDATE makes them queue on PostgreSQL.
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not pytest-django's shared in-memory database, so that tests see real locking.
    _sqlite_file = Path(_db["NAME"])
    _db["TEST"] = {"NAME": str(_sqlite_file.with_name(f"test-{_sqlite_file.name}"))}
else:
    raise ImproperlyConfigured("DATABASE_URL must be a postgres:// or sqlite:// URL")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "ru"
LANGUAGES = [("ru", _("Russian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "onetime" / "locale"]
LANGUAGE_COOKIE_NAME = "lang"
LANGUAGE_COOKIE_AGE = 365 * 86400
LANGUAGE_COOKIE_SAMESITE = "Lax"
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the app folders too, so a checkout runs without collectstatic.
WHITENOISE_USE_FINDERS = True

# A JSON body may escape every character (\uXXXX: 6 bytes for one), so allow that much
# before Django refuses to read it; the secret's own limit is checked in UTF-8 bytes.
DATA_UPLOAD_MAX_MEMORY_SIZE = ONETIME_MAX_SECRET_BYTES * 6 + 16384

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "no-referrer"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "onetime.core.views.csrf_failure"
DEFAULT_EXCEPTION_REPORTER_FILTER = "onetime.core.logfilters.NoSecretsExceptionReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "onetime.core.logfilters.NoSecretsExceptionReporter"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Strict"
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (see README, deployment).
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Served over HTTPS (ONETIME_BASE_URL says so): secure cookies, HSTS, redirect plain HTTP.
_HTTPS = ONETIME_BASE_URL.startswith("https://")
CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = _HTTPS
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _HTTPS)
# Health checks and scrapes come over plain HTTP from inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if _HTTPS else 0, min_value=0)
# Both affect every host of the operator's domain, so they are opt-in; the deployment
# checks that would insist on them are silenced for that reason.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = [
    "security.W005",
    "security.W021",
    # W003 looks for Django's CsrfViewMiddleware by name; core/csrf.py subclasses it.
    "security.W003",
    # W038: SQLite ignores the deferred username constraint (codes/models.py); it needs none,
    # its writers never run at the same time.
    "models.W038",
]

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["onetime.core.parsers.SafeJSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "onetime.core.errors.api_exception_handler",
    # No OPTIONS discovery (it would describe the views' internals, and the docs view's
    # HTML renderer cannot render it): OPTIONS answers 405 like any method a view lacks.
    "DEFAULT_METADATA_CLASS": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "OneTime API",
    "DESCRIPTION": (
        "One-time secrets: create a secret, share its link, reveal it exactly once. "
        "Temporary Telegram codes: verify a code the OneTime bot gave a user (server to "
        "server, with a bearer token). "
        "Errors are JSON with a stable `status` field and a human `detail` in the "
        "request's language (Accept-Language: ru or en)."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "APPEND_COMPONENTS": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
    "PREPROCESSING_HOOKS": ["onetime.core.openapi.switched_on_endpoints"],
}

LOG_LEVEL = (env_str("LOG_LEVEL").strip() or "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {LOG_LEVEL}")
LOG_FORMAT = (env_str("LOG_FORMAT").strip() or "plain").lower()
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, got {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "onetime.core.logfilters.RedactCapabilitiesFilter"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
        "client_error": {"()": "onetime.core.logfilters.ClientErrorFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "onetime.core.logfilters.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["redact"],
        },
        # Django's error mail to ADMINS, with the subject ("… at /s/<id>") redacted too.
        "mail_admins": {
            "level": "ERROR",
            "class": "django.utils.log.AdminEmailHandler",
            "filters": ["require_debug_false", "redact"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Replaces Django's default handlers for "django" (its unredacted mail_admins).
        "django": {"handlers": ["mail_admins"], "level": "INFO"},
        # Django logs every 4xx as a WARNING: a wrong code or passphrase, a reloaded link, a
        # browser's /favicon.ico. They are the clients' doing and the access log has them;
        # only a 5xx (ERROR) is worth an operator's attention.
        "django.request": {"level": "ERROR"},
        # runserver's access log: through the redacting handler, not Django's own.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # A malformed request (400) is the client's fault: one WARNING line, no traceback.
        **{
            f"django.security.{name}": {"filters": ["client_error"]}
            for name in (
                "DisallowedHost",
                "RequestDataTooBig",
                "TooManyFieldsSent",
                "TooManyFilesSent",
                "SuspiciousMultipartForm",
            )
        },
        # Never log SQL: parameters would include ciphertext and receipt hashes.
        "django.db.backends": {"level": "WARNING"},
        # At DEBUG, a failed variable lookup logs the whole template context: plaintexts,
        # receipt tokens. Never below INFO.
        "django.template": {"level": "INFO" if LOG_LEVEL == "DEBUG" else LOG_LEVEL},
        # python-telegram-bot logs request parameters (codes among them) at DEBUG.
        "telegram": {"level": "INFO" if LOG_LEVEL == "DEBUG" else LOG_LEVEL},
        # The HTTP server's own log and its access log (onetime/serve.py), redacted like ours.
        "_granian": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "granian.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # httpx logs every request URL at INFO, and Bot API URLs carry the bot token.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}
