"""One settings module, driven by the environment (django-environ).

Every value has a safe default for a laptop demo; production sets DATABASE_URL, REDIS_URL,
SECRET_KEY, DEBUG=False and ALLOWED_HOSTS. A malformed value stops the process at start-up
instead of being half-understood.
"""

from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _decimal(name: str, default: str) -> Decimal:
    raw = env.str(name, default=default)
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise ImproperlyConfigured(f"{name} must be a decimal number, got {raw!r}") from exc
    if not value.is_finite() or value <= 0:
        raise ImproperlyConfigured(f"{name} must be a positive number, got {raw!r}")
    return value


def _rate(name: str, default: str) -> str:
    """A rate in DRF's syntax: a positive count, a slash, a period (second, minute, hour, day)."""
    raw = env.str(name, default=default).strip()
    number, _, period = raw.partition("/")
    if not number.isdigit() or int(number) < 1 or period[:1] not in ("s", "m", "h", "d"):
        raise ImproperlyConfigured(f"{name} must be a rate like 100/second or 600/minute, got {raw!r}")
    return raw


DEBUG = env.bool("DEBUG", default=False)

_DEV_SECRET = "insecure-development-key-only-for-debug-mode-never-in-production"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
if not DEBUG and (SECRET_KEY == _DEV_SECRET or len(SECRET_KEY) < 32):
    raise ImproperlyConfigured("SECRET_KEY must be a unique value of 32+ characters when DEBUG is off")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # The back office's theme (django-unfold): before django.contrib.admin, whose templates it
    # overrides; its app replaces the default admin site with its own.
    "unfold",
    "unfold.contrib.filters",
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
    "django_celery_beat",
    "import_export",
    "axes",
    "events",
    "stores",
    "members",
    "tiers",
    "rewards",
    "feedback",
    "messaging",
    "campaigns",
    "jobs",
    "portal",
    "analytics",
    "imports",
    "demo",
    # Staff accounts, roles, approvals and the audit trail (staff/). pgtrigger and pghistory write
    # the audit rows from database triggers; django_otp gives staff users TOTP devices.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "pgtrigger",
    "pghistory",
    "staff",
    "webhooks",
    # Last: its admin.py re-registers the admins of auth, axes and celery-beat in unfold's style.
    "loyalty",
]

# Metrics and the per-request log line can be switched off (the benchmark measures their cost).
METRICS_ENABLED = env.bool("METRICS_ENABLED", default=True)
LOG_REQUESTS = env.bool("LOG_REQUESTS", default=True)
MIDDLEWARE = [
    # First: /healthz, /readyz and /metrics answer before host validation (see loyalty/health.py).
    "loyalty.health.OperationsEndpointsMiddleware",
    *(["loyalty.metrics.MetricsMiddleware"] if METRICS_ENABLED else []),
    *(["loyalty.logs.RequestContextMiddleware"] if LOG_REQUESTS else []),
    # Then: refuses NUL in paths and queries before anything reads them, and gives every answer
    # under /api/ the JSON error shape, whichever layer produced it.
    "loyalty.middleware.RequestGuardMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Writes the Content-Security-Policy a view asks for (the portal's, see portal/security.py).
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions (it reads the language a member chose) and before CommonMiddleware.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Back office only (staff/middleware.py): the session timeout, the second factor, and who made
    # a change, for the audit triggers.
    "django_otp.middleware.OTPMiddleware",
    "staff.middleware.StaffSessionMiddleware",
    "staff.middleware.StaffHistoryMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: it turns locked-out logins into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "loyalty.urls"
WSGI_APPLICATION = "loyalty.wsgi.application"

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
                "core.i18n.language_switcher",
            ],
            # loyalty/ is the project package, not an app: its template filters are named here.
            "libraries": {"loyalty_format": "loyalty.templatetags.loyalty_format"},
        },
    },
]


def _database_url() -> str:
    """DATABASE_URL, else the embedded PostgreSQL of `make run` when it is running (its own
    postmaster.pid names the socket), so `manage.py` commands reach the demo's database as they are."""
    url = env.str("DATABASE_URL", default="")
    if url:
        return url
    pid_file = Path(env.str("EMBEDDED_PGDATA", default=str(BASE_DIR / ".pgdata"))) / "postmaster.pid"
    try:
        socket_dir = pid_file.read_text().splitlines()[4]
    except (OSError, IndexError):
        raise ImproperlyConfigured(
            "DATABASE_URL is not set (postgres://user:password@host:5432/name), "
            "and the embedded PostgreSQL of `make run` is not running"
        ) from None
    return f"postgres://postgres@/loyalty?host={socket_dir}"


# PostgreSQL only: the ledger's append-only trigger, the locks, the set-based jobs and the POS
# path's statements are written for it, and one engine everywhere is where breakage can't hide.
DATABASES = {"default": env.db_url_config(_database_url())}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured(
        "DATABASE_URL must name a PostgreSQL database (postgres://...): no other engine is supported"
    )
if not DATABASES["default"]["HOST"] and DATABASES["default"].get("OPTIONS", {}).get("host"):
    # A Unix socket given as ?host=/dir: Django and the tools that read HOST expect it there.
    DATABASES["default"]["HOST"] = DATABASES["default"]["OPTIONS"].pop("host")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
# Reused connections are checked before a request uses them, so the first request on each worker
# after a database restart or failover gets a new connection instead of a 500. Costs one cheap
# round trip per request that reuses a connection.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
# JIT compilation pays off for long analytic queries, not for ours: compiling the nightly jobs'
# chunk queries took longer than running them (BENCHMARKS.md, nightly jobs).
DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
# The dashboard and the analytics API read a replica when one is named (analytics/routing.py);
# tests mirror it onto the default database.
if env.str("ANALYTICS_DATABASE_URL", default=""):
    DATABASES["analytics"] = env.db_url_config(env.str("ANALYTICS_DATABASE_URL"))
    DATABASES["analytics"]["TEST"] = {"MIRROR": "default"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.int("AXES_COOLOFF_HOURS", default=1)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_VERBOSE = False

# Staff accounts and roles (staff/). Administrators must confirm a TOTP code after signing in to the
# back office when STAFF_2FA_REQUIRED_FOR_ADMINS is on (the default in production); anyone else may
# add a device and is then asked for it too.
STAFF_2FA_REQUIRED_FOR_ADMINS = env.bool("STAFF_2FA_REQUIRED_FOR_ADMINS", default=not DEBUG)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Loyalty back office")
# A back-office session ends after this many minutes without a request.
STAFF_SESSION_MINUTES = env.int("STAFF_SESSION_MINUTES", default=30)
if STAFF_SESSION_MINUTES < 1:
    raise ImproperlyConfigured("STAFF_SESSION_MINUTES must be at least 1")
# Four-eyes: a points adjustment of more points than this (either sign), and the launch of a
# campaign that may grant more points than CAMPAIGN_APPROVAL_POINTS (or has no points budget),
# wait for a second staff user's approval.
STAFF_ADJUSTMENT_LIMIT = env.int("STAFF_ADJUSTMENT_LIMIT", default=1000)
CAMPAIGN_APPROVAL_POINTS = env.int("CAMPAIGN_APPROVAL_POINTS", default=100000)
if STAFF_ADJUSTMENT_LIMIT < 0 or CAMPAIGN_APPROVAL_POINTS < 0:
    raise ImproperlyConfigured("STAFF_ADJUSTMENT_LIMIT and CAMPAIGN_APPROVAL_POINTS must not be negative")
# The audit triggers are installed after every migrate instead of through each app's migrations,
# so the tracked apps' migrations stay theirs (staff/audit.py says what is tracked).
PGTRIGGER_MIGRATIONS = False
PGTRIGGER_INSTALL_ON_MIGRATE = True
# Changes made in the back office carry who and where; the API and the portal set no context.
PGHISTORY_MIDDLEWARE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
try:
    ZoneInfo(TIME_ZONE)
except (ZoneInfoNotFoundError, ValueError) as exc:
    raise ImproperlyConfigured(f"TIME_ZONE {TIME_ZONE!r} is not a known time zone") from exc
USE_I18N = True
# The languages of the back office, the portal, the API's error messages and messages to members.
# A person's choice (the switcher posts to Django's set_language, which keeps it in a cookie for a
# year) wins, else the browser's Accept-Language (LocaleMiddleware), else LANGUAGE_CODE. No database
# read: the POS API pays nothing for it. Messages to a member use the member's `language`.
LANGUAGES = [("zh-hans", "简体中文"), ("zh-hant", "繁體中文"), ("en", "English")]
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="zh-hans")
if LANGUAGE_CODE not in dict(LANGUAGES):
    raise ImproperlyConfigured(f"LANGUAGE_CODE {LANGUAGE_CODE!r} is not one of {', '.join(dict(LANGUAGES))}")
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["loyalty.formats"]
USE_TZ = True

# The business's own currency: purchases in any other currency are refused, since points are
# earned per unit of this one.
DEFAULT_CURRENCY = env.str("DEFAULT_CURRENCY", default="CNY").upper()
if len(DEFAULT_CURRENCY) != 3 or not DEFAULT_CURRENCY.isalpha():
    raise ImproperlyConfigured("DEFAULT_CURRENCY must be an ISO 4217 code such as CNY")
# Region used to read phone numbers written without a country code.
PHONE_REGION = env.str("PHONE_REGION", default="CN").upper()
# Largest purchase total the API accepts; anything above is a typo or an attack.
MAX_PURCHASE_TOTAL = _decimal("MAX_PURCHASE_TOTAL", "1000000")
# How far ahead of the server's clock a purchase time may be (a till's clock running fast);
# later purchases are refused.
PURCHASE_CLOCK_SKEW_MINUTES = env.int("PURCHASE_CLOCK_SKEW_MINUTES", default=10)
if PURCHASE_CLOCK_SKEW_MINUTES < 0:
    raise ImproperlyConfigured("PURCHASE_CLOCK_SKEW_MINUTES must not be negative")
# Where members reach the site: links in messages (survey answers, unsubscribe) start with it.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="loyalty@example.com")
# Dotted path of the SMS gateway adapter; the default only logs (see messaging/backends.py).
SMS_BACKEND = env.str("SMS_BACKEND", default="messaging.backends.LoggingSmsBackend")
# Member portal: how long a member stays signed in on a device (until "sign out everywhere").
PORTAL_SESSION_DAYS = env.int("PORTAL_SESSION_DAYS", default=30)
if PORTAL_SESSION_DAYS < 1:
    raise ImproperlyConfigured("PORTAL_SESSION_DAYS must be at least 1")
# The request header that carries the client's address when a proxy sits in front (e.g.
# HTTP_X_REAL_IP); empty means REMOTE_ADDR. Without it behind a proxy every member would share
# the proxy's address, and so its hourly limit of sign-in codes.
PORTAL_CLIENT_IP_HEADER = env.str("PORTAL_CLIENT_IP_HEADER", default="")
# How long a POS idempotency key is remembered.
IDEMPOTENCY_TTL_HOURS = env.int("IDEMPOTENCY_TTL_HOURS", default=72)
# API rate limits (stores/throttling.py), per key. A flagship store's tills together stay far
# below them; they bound what a leaked key can do. Lookups (by phone or card, and enrolment, which
# tells whether a phone is enrolled) are the scraping target and get a fifth of the read rate:
# a till looks a member up about once per checkout, so even 40 busy tills on one key make ~2/s.
API_RATE_READ = _rate("API_RATE_READ", "100/second")
API_RATE_WRITE = _rate("API_RATE_WRITE", "50/second")
API_RATE_LOOKUP = _rate("API_RATE_LOOKUP", "20/second")
# Per client address, for requests without a key this process knows to be valid.
API_RATE_ANON = _rate("API_RATE_ANON", "20/second")
# Whether anyone may read the OpenAPI schema (/api/schema/); otherwise staff sessions and valid
# API keys only. The Swagger UI page (/api/docs/) is a static viewer of that schema.
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=DEBUG)

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve app static files straight from their finders, so a checkout works without collectstatic.
WHITENOISE_USE_FINDERS = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["stores.authentication.StoreApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["stores.authentication.IsStore"],
    "DEFAULT_THROTTLE_CLASSES": ["stores.throttling.ApiRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exceptions.exception_handler",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "core.api.negotiation.SingleRendererNegotiation",
    "UNAUTHENTICATED_USER": None,
    "COERCE_DECIMAL_TO_STRING": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Loyalty POS API",
    "DESCRIPTION": (
        "The API that store POS systems call at checkout: look up or enrol a member, earn points, "
        "pay with points, take back points on a return. Authenticate with "
        "`Authorization: Api-Key <key>`; writes need an `Idempotency-Key` header."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.say_what_validation_enforces",
        # What the platform sends, as `x-webhooks` (see webhooks/schema.py for why not `webhooks`).
        "webhooks.schema.add_webhooks",
    ],
}

# The back office (django-unfold): navigation by task (loyalty/admin_navigation.py), the dashboard
# (loyalty/dashboard.py).
UNFOLD = {
    "SITE_TITLE": _("Loyalty back office"),
    "SITE_HEADER": _("Loyalty back office"),
    "SITE_SYMBOL": "loyalty",
    "SITE_URL": "/",
    "SHOW_HISTORY": True,
    "SHOW_VIEW_ON_SITE": False,
    "DASHBOARD_CALLBACK": "loyalty.dashboard.dashboard_callback",
    "SIDEBAR": {
        "show_search": False,
        "show_all_applications": False,
        "navigation": "loyalty.admin_navigation.sidebar_navigation",
    },
}

# Celery: without REDIS_URL tasks run eagerly in-process, so the demo needs no broker.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=600)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=900)
# Must exceed the longest task, or Redis hands an unacknowledged task to a second worker.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 300}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Members per chunk of a batch job: small enough for a chunk to finish in seconds, so several
# workers share a run and a redelivered chunk costs little.
JOB_CHUNK_SIZE = env.int("JOB_CHUNK_SIZE", default=20000)
# A campaign chunk holds the members it credits locked until it commits, while tills trade: small
# enough that a till waits at most ~100 ms on one (BENCHMARKS.md, "Campaign lock slices").
CAMPAIGN_CHUNK_SIZE = env.int("CAMPAIGN_CHUNK_SIZE", default=500)
# A chunk claimed this long ago whose worker holds no lock on it any more (the worker died) is
# queued again by `jobs.requeue_stale_chunks`, which beat runs every minute: a dead worker's
# chunk runs again within this plus a minute.
JOB_CHUNK_STALE_AFTER = env.int("JOB_CHUNK_STALE_AFTER", default=60)
# A chunk that raises is tried again after JOB_CHUNK_RETRY_DELAY seconds, doubling each time, up
# to JOB_CHUNK_MAX_RETRIES times; then it is marked failed and the run finishes with failures.
JOB_CHUNK_MAX_RETRIES = env.int("JOB_CHUNK_MAX_RETRIES", default=3)
JOB_CHUNK_RETRY_DELAY = env.int("JOB_CHUNK_RETRY_DELAY", default=30)
CELERY_TIMEZONE = TIME_ZONE

# Security: strict by default whenever DEBUG is off (manage.py check --deploy is clean).
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
# No page script reads either cookie (forms carry the CSRF token in a hidden field).
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", default=False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The client address the per-address rate limit counts: the proxy's last X-Forwarded-For hop
# behind the proxy, the socket's peer otherwise (a client could write any X-Forwarded-For).
REST_FRAMEWORK["NUM_PROXIES"] = 1 if BEHIND_TLS_PROXY else 0
# TLS is terminated and enforced by the edge proxy in front of gunicorn; in-store POS terminals
# may also reach the app over the private network. Redirecting here would break those, so the
# redirect is opt-in and its deploy warning is silenced only while it is off.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_SSL_REDIRECT else ["security.W008"]

# Logging: JSON lines (loyalty/logs.py) in production, plain lines for a developer's console.
# Celery keeps its hands off the root logger, so the worker and beat log the same way as the web.
LOG_FORMAT = env.str("LOG_FORMAT", default="") or ("plain" if DEBUG else "json")
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, got {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "loyalty.logs.ContextFilter"}},
    "formatters": {
        "json": {"()": "loyalty.logs.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Metrics: Prometheus scrapes /metrics with `Authorization: Bearer <METRICS_TOKEN>`; without a
# token the endpoint does not exist. Several processes (gunicorn workers, the Celery pool) share
# their counts through PROMETHEUS_MULTIPROC_DIR, which bin/web and bin/worker empty on start.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# Error reporting: only with SENTRY_DSN set, and with personal data scrubbed (loyalty/sentry.py).
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from loyalty.sentry import sentry_init

    sentry_init(dsn=SENTRY_DSN, environment=env.str("SENTRY_ENVIRONMENT", default="production"))

# Webhooks (docs/architecture.md, "Webhooks").
# http:// endpoints only for local testing; production endpoints must use https.
WEBHOOK_ALLOW_HTTP = env.bool("WEBHOOK_ALLOW_HTTP", default=DEBUG)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5.0)
# A claimed delivery whose worker died is claimed again after this long.
WEBHOOK_LEASE_SECONDS = env.int("WEBHOOK_LEASE_SECONDS", default=60)
WEBHOOK_RETRY_BASE_SECONDS = env.int("WEBHOOK_RETRY_BASE_SECONDS", default=10)
WEBHOOK_RETRY_CAP_SECONDS = env.int("WEBHOOK_RETRY_CAP_SECONDS", default=6 * 3600)
WEBHOOK_RETRY_FOR_HOURS = env.int("WEBHOOK_RETRY_FOR_HOURS", default=72)
WEBHOOK_PAUSE_AFTER_HOURS = env.int("WEBHOOK_PAUSE_AFTER_HOURS", default=24)
WEBHOOK_SECRET_OVERLAP_HOURS = env.int("WEBHOOK_SECRET_OVERLAP_HOURS", default=24)
WEBHOOK_SEND_THREADS = env.int("WEBHOOK_SEND_THREADS", default=16)
# points.expiring_soon is recorded this many days before a lot expires.
POINTS_EXPIRING_SOON_DAYS = env.int("POINTS_EXPIRING_SOON_DAYS", default=30)
