"""Salesflow settings: one module, configured only by environment variables.

Every default is safe for a laptop (SQLite file, embedded Celery broker, console e-mail); production sets
DATABASE_URL, CELERY_BROKER_URL/REDIS_URL, SECRET_KEY, DEBUG=0 and ALLOWED_HOSTS.
"""

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _


def env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env("SALESFLOW_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env("SECRET_KEY", "dev-only-insecure-key-change-me" if DEBUG else "")
if not SECRET_KEY:
    raise RuntimeError("SECRET_KEY must be set when DEBUG is off")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_fsm",
    "django_fsm_log",
    "djmoney",
    "django_htmx",
    "csp",
    "django_celery_beat",
    "django_celery_results",
    "crm",
    "leads",
    "opportunities",
    "quotes",
    "orders",
    "invoices",
    # REST API (crm/api/, <app>/api.py)
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "crm.middleware.RequestLogContextMiddleware",
    "crm.middleware.SessionRenewalMiddleware",
    "crm.middleware.TwoFactorEnforcementMiddleware",
    "crm.middleware.CSPRelaxationMiddleware",
    "crm.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "crm.jobs.PendingWorkMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "crm.middleware.ActorMiddleware",
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "crm.context_processors.navigation",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'salesflow.sqlite3'}"), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The dev server, the embedded worker and beat write to one file: wait for a lock instead of
    # failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "crm.User"
# Django's ModelBackend, but permissions are read together with roles and teams (one query per request).
AUTHENTICATION_BACKENDS = ["crm.permissions.AccessBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "crm:home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Internationalisation: English first, German proves the machinery.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("de", _("German"))]
FORMAT_MODULE_PATH = ["crm.formats"]  # English times without a trailing full stop (crm/formats/en)
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = env("TIME_ZONE", "Europe/Berlin")

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request when it is missing
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Money: every amount carries its currency; the company currency is the default for new documents.
CURRENCIES = env_list("CURRENCIES", "EUR,USD,GBP,CHF")
DEFAULT_CURRENCY = env("DEFAULT_CURRENCY", "EUR")
CURRENCY_CHOICES = [(c, c) for c in CURRENCIES]

# Sellers see their own records and, when this is on, their teams' records too.
SALESFLOW_SELLERS_SEE_TEAM = env_bool("SALESFLOW_SELLERS_SEE_TEAM", True)
SALESFLOW_COMPANY_NAME = env("SALESFLOW_COMPANY_NAME", "Salesflow Demo GmbH")
SALESFLOW_PAYMENT_TERMS_DAYS = int(env("SALESFLOW_PAYMENT_TERMS_DAYS", "14"))
SALESFLOW_QUOTE_VALIDITY_DAYS = int(env("SALESFLOW_QUOTE_VALIDITY_DAYS", "30"))
# Absolute address of the site, for links in e-mails (the customer's quote page).
SALESFLOW_BASE_URL = env("SALESFLOW_BASE_URL", "http://localhost:8000")

# Celery: embedded SQLite broker by default so the two-command start needs no server.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", env("REDIS_URL", f"sqla+sqlite:///{VAR_DIR / 'celery-broker.sqlite3'}"))
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", "django-db")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A web request publishing a task must not hang when the broker is down: give up within about a second
# (crm/jobs.py then keeps the task as pending and tells the user).
CELERY_BROKER_CONNECTION_TIMEOUT = float(env("CELERY_BROKER_CONNECTION_TIMEOUT", "2"))
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.4}
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Only for Redis: the sqla transport hands every option to create_engine, which rejects these.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT, "socket_timeout": 5}

EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "sales@salesflow.invalid")

# REST API: token per user (scripts) and the session (browsable docs); same scoping as the pages.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "crm.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "crm.api.pagination.CreatedCursorPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "crm.api.errors.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Salesflow API",
    "DESCRIPTION": "Leads, opportunities, quotes, orders, invoices and payments. Authenticate with "
    "`Authorization: Token <key>` (get your key under your user menu → API token).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ActivityKindEnum": "crm.models.ActivityKind",
        "LineKindEnum": "quotes.models.LineKind",
        "InvoiceKindEnum": "invoices.models.InvoiceKind",
    },
}

MESSAGE_TAGS = {40: "danger"}  # bootstrap's name for the error level

# --- Security ----------------------------------------------------------------------------------------
# Production (DEBUG=0) sits behind a TLS-terminating proxy that sets X-Forwarded-Proto; every knob can be
# turned by environment so a staging box without HSTS preload does not need a code change.
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
# The preload flag only states consent; submitting the domain to browsers' preload list is a manual step.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Sessions end after SESSION_COOKIE_AGE idle seconds (8 h, a working day). crm.middleware.SessionRenewalMiddleware
# renews an active session every few minutes; SESSION_SAVE_EVERY_REQUEST would write it on every request.
SESSION_COOKIE_AGE = int(env("SESSION_COOKIE_AGE", str(8 * 60 * 60)))
SALESFLOW_SESSION_RENEW_SECONDS = 5 * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", False)

# Content-Security-Policy (django-csp 4): no inline script anywhere, so script-src is 'self' only. Inline
# style attributes are not allowed either; the admin and the API docs get 'unsafe-inline' styles only
# (crm.middleware.CSPRelaxationMiddleware), never scripts.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# Uploads: requests bigger than this are refused before a view reads them; files are checked by type and
# size by the form that accepts them (crm.security.validate_upload).
SALESFLOW_MAX_UPLOAD_BYTES = int(env("SALESFLOW_MAX_UPLOAD_BYTES", str(10 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # non-file fields: Django's default, 2.5 MB
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # larger files spill to a temporary file instead of memory
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000

# Login throttling (crm.security): after N failures per username (or many per address) sign-in is refused
# for a cool-off that doubles per further failure, capped, and always ends.
SALESFLOW_LOGIN_FAILURES_PER_USER = int(env("SALESFLOW_LOGIN_FAILURES_PER_USER", "5"))
SALESFLOW_LOGIN_FAILURES_PER_IP = int(env("SALESFLOW_LOGIN_FAILURES_PER_IP", "20"))
SALESFLOW_LOGIN_COOLOFF_SECONDS = int(env("SALESFLOW_LOGIN_COOLOFF_SECONDS", "60"))
SALESFLOW_LOGIN_COOLOFF_MAX_SECONDS = int(env("SALESFLOW_LOGIN_COOLOFF_MAX_SECONDS", str(15 * 60)))
# How many reverse proxies in front of gunicorn append to X-Forwarded-For (1 behind one nginx). With 0, the
# peer address is the client: behind a proxy every visitor would share the proxy's address and its throttle.
SALESFLOW_TRUSTED_PROXIES = int(env("SALESFLOW_TRUSTED_PROXIES", "0"))

# Second factor: staff, superusers and accountants must use one. On by default in production, off in the
# DEBUG laptop setup so `make run` demo users sign in with a password only (see README).
SALESFLOW_REQUIRE_2FA = env_bool("SALESFLOW_REQUIRE_2FA", not DEBUG)

# The throttle counters must be shared by every gunicorn process: Redis when configured, else the database
# cache table (`manage.py createcachetable`); the per-process memory cache is for the laptop only.
if env("CACHE_URL", env("REDIS_URL", "")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": env("CACHE_URL", env("REDIS_URL", ""))}}
elif not DEBUG:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache",
                          "LOCATION": "salesflow_cache"}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Logs: one JSON object per line in production (LOG_FORMAT=json), readable text on a laptop.
LOG_FORMAT = env("LOG_FORMAT", "text" if DEBUG else "json")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "crm.security.JsonLogFormatter"}},
    "filters": {"request_context": {"()": "crm.security.RequestContextFilter"}},
    "handlers": {"console": {
        "class": "logging.StreamHandler", "filters": ["request_context"],
        **({"formatter": "json"} if LOG_FORMAT == "json" else {}),
    }},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"weasyprint": {"level": "ERROR"}, "fontTools": {"level": "ERROR"}},
}

# The embedded SQLite database ignores the extra (INCLUDE) columns of covering indexes; PostgreSQL uses them.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
