"""Settings of the billing service, read from environment variables.

Every variable is documented in README.md and .env.example. Unset variables
fall back to values that work for local development (`make run` fills
DATABASE_URL / REDIS_URL with embedded servers before Django starts).
"""

import re
from datetime import timedelta
from pathlib import Path

import dj_database_url

from billing_project.env import env_amounts, env_bool, env_int, env_list, env_str
from billing_project.storage_config import default_storage_config

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = env_str("SECRET_KEY", "dev-insecure-secret-key-change-me-in-production-0123456789")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["*"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Tenant portals live on <slug>.<BASE_DOMAIN>; *.localhost resolves to loopback in browsers.
BASE_DOMAIN = env_str("BASE_DOMAIN", "localhost")
PORTAL_SCHEME = env_str("PORTAL_SCHEME", "http")
PORTAL_PORT = env_str("PORTAL_PORT", "8000")
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", f"http://localhost:{PORTAL_PORT}")

# --- applications -----------------------------------------------------------------------------

SHARED_APPS = [
    # Before django_tenants, whose admin index and app list would replace Django's: they grey out
    # every tenant app in the public admin ("Not available for global schema"), while the usage,
    # notifications and webhooks pages do work there, one tenant at a time (?tenant=<slug>).
    "django.contrib.admin",
    "django_tenants",  # before the project's apps, as its docs ask (its `migrate` is migrate_schemas)
    "tenants",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    # Swagger UI and ReDoc served from the project's static files, not a CDN (issue 16).
    "drf_spectacular_sidecar",
    "django_prometheus",
    "django_celery_beat",
    "anymail",
    "billing_details",  # the buyer's legal details per tenant and the seller's invoice block
    "portal",  # the customer portal on tenant hosts: login, pages, their translations
    "djstripe",
    "subscriptions",
    "coupons",
    "credits",  # prepaid credits: wallets, grants, ledger (public schema, per tenant)
    "commitments",  # minimum commitments and progressive billing (public schema, per tenant)
    "entitlements",  # the catalog of boolean plan features (public schema)
    "budgets",  # spend budgets: amount, alerts sent per period, hard cap (public schema, per tenant)
    "notifications.platform",  # the platform Slack channel settings (public schema)
    "policies",  # platform-wide billing policy (dunning, refunds, overdue), edited in the admin
    # Finance facts (MRR movements, invoices, refunds) across tenants for the platform's staff;
    # after subscriptions and invoicing so its webhook handlers run after theirs.
    "analytics",
]

TENANT_APPS = [
    "django.contrib.contenttypes",
    "usage",
    "invoicing",
    "notifications",
    "webhooks",  # outbound webhooks (Standard Webhooks): endpoints, event log, deliveries (issue 17)
]

INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
# New tenants are cloned from this schema instead of running every migration (see tenants.services).
TENANT_BASE_SCHEMA = "tenant_template"
# Clones of the template kept ready by a task, so provisioning a tenant renames one instead of
# cloning while the caller waits (tenants/services/spares.py). 0 = clone inline.
TENANT_SPARE_SCHEMAS = env_int("TENANT_SPARE_SCHEMAS", 2)
TENANT_CREATION_FAKES_MIGRATIONS = True
TENANT_MULTIPROCESSING_MAX_PROCESSES = env_int("TENANT_MIGRATION_PROCESSES", 4)
TENANT_MULTIPROCESSING_CHUNKS = 50
# Skips up-to-date schemas before migrating the rest in parallel (billing_project.tenant_migrations).
GET_EXECUTOR_FUNCTION = "billing_project.tenant_migrations.get_executor"
# Hosts that are not a tenant's domain (localhost, the container name, a load balancer's IP)
# serve the public schema: the API, admin and docs.
SHOW_PUBLIC_IF_NO_TENANT_FOUND = True
# Reads inside billing_project.replica.replica() go to DATABASE_REPLICA_URL when set (the first router).
DATABASE_ROUTERS = (
    "billing_project.replica.ReplicaRouter",
    "django_tenants.routers.TenantSyncRouter",
)

AUTH_USER_MODEL = "tenants.User"

MIDDLEWARE = [
    # Static files (admin and portal CSS) with DEBUG off too, before any tenant or database work
    # (issue 14: `make run` serves through gunicorn; nginx serves them first in docker compose).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "billing_project.middleware.OpsEndpointsMiddleware",
    # Database / Redis / broker unreachable -> 503 with Retry-After, JSON under /api (issue 14).
    "billing_project.middleware.InfrastructureErrorMiddleware",
    "billing_project.middleware.TenantMiddleware",
    "billing_project.middleware.RestoreTenantMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Django's session, CSRF, auth and messages middleware, skipped under /api/ (DRF views with
    # credential authentication use none of them; issue 21).
    "billing_project.portal_only.SessionMiddleware",
    "billing_project.portal_only.LocaleMiddleware",
    "portal.middleware.TenantLanguageMiddleware",  # tenant locale as the default language
    "django.middleware.common.CommonMiddleware",
    "billing_project.portal_only.CsrfViewMiddleware",
    "billing_project.portal_only.AuthenticationMiddleware",
    "billing_project.portal_only.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # The request series of /metrics, written once (billing_project/metrics.py).
    "billing_project.metrics.RequestMetricsMiddleware",
]

# Tenant hosts get the portal; the public host (and unknown hosts) get API, admin and docs.
ROOT_URLCONF = "billing_project.urls_tenant"
PUBLIC_SCHEMA_URLCONF = "billing_project.urls"

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

WSGI_APPLICATION = "billing_project.wsgi.application"

# --- database ---------------------------------------------------------------------------------


# DATABASE_URL points at a PgBouncer in `pool_mode = transaction` (README, "PgBouncer").
DB_TRANSACTION_POOLING = env_bool("DB_TRANSACTION_POOLING", False)


def _database_from_url(url: str) -> dj_database_url.DBConfig:
    # The seed writes SQLAlchemy-style URLs (postgresql+asyncpg://); the driver suffix means
    # nothing to Django, so it is dropped rather than rejected.
    url = re.sub(r"^postgres(ql)?\+\w+://", "postgresql://", url)
    config = dj_database_url.parse(url, conn_max_age=0)
    # django-tenants' backend, setting the search path only when it changes (issue 21).
    config["ENGINE"] = "billing_project.db_backend"
    # postgresql://user@/db?host=/path/to/socket-dir (the embedded server listens on a socket only)
    if not config.get("HOST") and config.get("OPTIONS", {}).get("host"):
        config["HOST"] = config["OPTIONS"].pop("host")
    pool_size = env_int("DB_POOL_SIZE", 0)
    if pool_size > 0:
        # psycopg's pool (Django >= 5.1): DB_POOL_SIZE connections kept, DB_MAX_OVERFLOW more on demand.
        config["OPTIONS"] = {
            **config.get("OPTIONS", {}),
            "pool": {"min_size": pool_size, "max_size": pool_size + env_int("DB_MAX_OVERFLOW", 0)},
        }
    else:
        config["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 60)
        config["CONN_HEALTH_CHECKS"] = True
    config.setdefault("OPTIONS", {})["connect_timeout"] = env_int("DB_CONNECT_TIMEOUT", 5)
    if DB_TRANSACTION_POOLING:
        # Behind PgBouncer's transaction pooling a cursor declared in one transaction is gone in
        # the next (Django's documented setting for it); the search path: billing_project/db_backend.
        config["DISABLE_SERVER_SIDE_CURSORS"] = True
    config["TEST"] = {"NAME": env_str("TEST_DATABASE_NAME", "test_billing")}
    return config


DATABASE_URL = env_str("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/billing")
DATABASES = {"default": _database_from_url(DATABASE_URL)}
# A streaming replica of the primary: reports, CSV exports and analytics read there
# (billing_project/replica.py); writes and read-your-writes paths stay on the primary.
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = _database_from_url(DATABASE_REPLICA_URL)
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache (Redis) ------------------------------------------------------------------------------

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
# Host -> tenant and API key lookups are cached per process for this long; a change of a tenant,
# domain or key is seen by every worker on its next request anyway (tenants/cache.py). 0 = off.
CREDENTIAL_CACHE_SECONDS = env_int("CREDENTIAL_CACHE_SECONDS", 60)
# Every key of ours in Redis starts with this. The workers of a parallel test run (pytest-xdist's
# `-n`) share one Redis database as they share one server: each adds its id (gw0, gw1, ...), as
# pytest-django adds it to the test database's name, so no worker reads another's counters.
CACHE_KEY_PREFIX = env_str("CACHE_KEY_PREFIX", "billing") + env_str("PYTEST_XDIST_WORKER", "")
CACHES = {
    # Tenant data: keys carry the schema so two tenants never read each other's entries.
    "default": {
        "BACKEND": "billing_project.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": CACHE_KEY_PREFIX,
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    },
    # Platform-wide data (plan catalog, throttles): one entry for everybody, whatever the schema.
    "shared": {
        "BACKEND": "billing_project.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": CACHE_KEY_PREFIX + ":shared",
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    },
}
SESSION_ENGINE = "django.contrib.sessions.backends.db"
# Host-only cookies (no Domain attribute): a portal session on acme.<BASE_DOMAIN> is never sent to
# globex.<BASE_DOMAIN>. The portal also binds each session to its tenant (portal.access).
SESSION_COOKIE_DOMAIN = None
CSRF_COOKIE_DOMAIN = None
LANGUAGE_COOKIE_DOMAIN = None

# --- auth ---------------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_FAILURES_PER_EMAIL = env_int("LOGIN_FAILURES_PER_EMAIL", 5)
LOGIN_FAILURES_PER_IP = env_int("LOGIN_FAILURES_PER_IP", 50)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60)
# Client IP (issue 14, billing_project/client_ip.py): X-Forwarded-For / X-Real-IP are believed only
# from these proxies (IPs or CIDRs, comma-separated); empty = trust none, REMOTE_ADDR is the client.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env_int("JWT_ACCESS_TTL", 15 * 60)),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=env_int("JWT_REFRESH_TTL", 7 * 24 * 3600)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env_str("JWT_SIGNING_KEY", SECRET_KEY),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "billing_project.api.authentication.CredentialAuthentication"
    ],
    "DEFAULT_PERMISSION_CLASSES": ["billing_project.api.permissions.RolePermission"],
    "DEFAULT_PAGINATION_CLASS": "billing_project.api.pagination.LinkCursorPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Bad input (issue 14): JSON bodies with NUL, lone surrogates or deep nesting are a 400 here.
    "DEFAULT_PARSER_CLASSES": ["billing_project.api.parsers.StorableJSONParser"],
    # DRF's JSON, encoded by orjson (issue 21: encoding was a visible share of small requests).
    "DEFAULT_RENDERER_CLASSES": ["billing_project.api.renderers.FastJSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "billing_project.api.negotiation.FastContentNegotiation",
    "EXCEPTION_HANDLER": "billing_project.api.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
    # isoformat-based (UTC as "Z"): strftime's %Y drops the zero padding of years < 1000 on Linux.
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Billing Service API",
    "DESCRIPTION": (
        "Multi-tenant billing through Stripe. Authenticate with `Authorization: Bearer <JWT or API key>` "
        'or `X-API-Key`. Errors are always `{"error": {"code", "message", "detail"}}`; lists are bare '
        'arrays paged with `limit`/`cursor` and a `Link: <...>; rel="next"` header. No text anywhere (body, '
        "query, path, headers) may contain NUL (`\\u0000`): it is refused with 400 `invalid_request`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Isolation (issue 14): the schema and Swagger UI are public and read no credential; with the API's
    # authentication, a bad token or a foreign X-Tenant-ID made /docs a 500 (raised while rendering).
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # /docs and /redoc load their JavaScript and CSS from drf-spectacular-sidecar's static files:
    # the API docs work offline and behind a content policy that forbids CDNs (issue 16).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ApiKeyRoleEnum": "tenants.models.API_KEY_ROLE_CHOICES",
        "TenantApiKeyRoleEnum": "tenants.models.TENANT_API_KEY_ROLE_CHOICES",
        "LocaleEnum": "tenants.models.LOCALE_CHOICES",
        "TenantStatusEnum": "tenants.models.TENANT_STATUS_CHOICES",
        "UsageStatusEnum": "usage.api.serializers.USAGE_STATUS_CHOICES",
        "UsageBatchStatusEnum": "usage.api.serializers.BATCH_STATUS_CHOICES",
        # One name for the tenant channels (each notification kind lists them in the preferences body).
        "TenantChannelEnum": "notifications.models.TENANT_CHANNELS",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "billing_project.api.openapi.add_error_responses",
    ],
}

# --- Stripe -------------------------------------------------------------------------------------

STRIPE_API_KEY = env_str("STRIPE_API_KEY")
STRIPE_PUBLIC_KEY = env_str("STRIPE_PUBLIC_KEY")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
# Empty means api.stripe.com; `make run` points it at the bundled emulator when no key is set.
STRIPE_API_BASE = env_str("STRIPE_API_BASE")
# Stripe fault tolerance (issue 14): seconds one Stripe HTTP attempt may take (stripe-python's default
# is 80). With the client's 2 network retries a hung Stripe costs at most 3 x 8 s + ~1.5 s backoff,
# under gunicorn's 30 s worker timeout, so the caller gets a JSON 503, never a killed worker.
STRIPE_TIMEOUT_SECONDS = float(env_str("STRIPE_TIMEOUT_SECONDS", "8"))
STRIPE_LIVE_MODE = False
STRIPE_TEST_SECRET_KEY = STRIPE_API_KEY
DJSTRIPE_SUBSCRIBER_MODEL = "tenants.Tenant"
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
DJSTRIPE_USE_NATIVE_JSONFIELD = True
DJSTRIPE_WEBHOOK_VALIDATION = "verify_signature"
# Subscriptions (issue 6): each new tenant's customer lives on its own test clock when the API base
# is not Stripe's own (the bundled emulator); set STRIPE_TEST_CLOCKS=1 to use them with Stripe test mode.
STRIPE_TEST_CLOCKS = env_bool("STRIPE_TEST_CLOCKS", bool(STRIPE_API_BASE))
# A past_due subscription keeps its plan's entitlements this many days, then falls back to free.
SUBSCRIPTION_GRACE_DAYS = env_int("SUBSCRIPTION_GRACE_DAYS", 7)
SUBSCRIPTION_FREE_PLAN = env_str("SUBSCRIPTION_FREE_PLAN", "free")

# --- Celery -------------------------------------------------------------------------------------

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = (
    "billing_project.beat:BillingBeatScheduler"  # tenant-aware, plus public-only entries
)
# Beat (issue 14, soak test only): every periodic entry, the re-sync from the database and the save
# of last-run times every this many seconds instead of their own schedules. 0 = the real schedules.
BEAT_EVERY_SECONDS = env_int("BEAT_EVERY_SECONDS", 0)
# Several beat processes (a rolling deploy, one per node): only the holder of this Redis lease sends
# (billing_project/leader.py); a leader that dies is replaced after this many seconds at most.
BEAT_LEADER_LEASE_SECONDS = env_int("BEAT_LEADER_LEASE_SECONDS", 30)
# The queue beat sends to and the worker reads; a test run gets its own, away from any other run's.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "celery")
# No result backend, so no `celery.backend_cleanup` beat entry: the tenant-aware scheduler would
# register it once per schema and refuse the duplicate name.
CELERY_RESULT_EXPIRES = None

# --- email --------------------------------------------------------------------------------------

SMTP_HOST = env_str("SMTP_HOST")
SMTP_PORT = env_int("SMTP_PORT", 587)
SMTP_USERNAME = env_str("SMTP_USERNAME")
SMTP_PASSWORD = env_str("SMTP_PASSWORD")
SMTP_FROM_EMAIL = env_str("SMTP_FROM_EMAIL", "billing@platform.local")
DEFAULT_FROM_EMAIL = SMTP_FROM_EMAIL
# ANYMAIL_ESP picks an anymail backend (e.g. "postmark", "sendgrid", "mailgun"); without one,
# SMTP when SMTP_HOST is set, the console otherwise (dev).
ANYMAIL_ESP = env_str("ANYMAIL_ESP")
if ANYMAIL_ESP:
    EMAIL_BACKEND = f"anymail.backends.{ANYMAIL_ESP}.EmailBackend"
    ANYMAIL = {f"{ANYMAIL_ESP.upper()}_API_KEY": env_str("ANYMAIL_API_KEY")}
elif SMTP_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
else:
    # Whole messages (HTML included) on the console only with LOG_LEVEL=DEBUG; otherwise one line
    # per message at INFO (issue 14: the console buried `make run`'s banner).
    EMAIL_BACKEND = env_str(
        "EMAIL_BACKEND",
        "django.core.mail.backends.console.EmailBackend"
        if env_str("LOG_LEVEL", "INFO").upper() == "DEBUG"
        else "billing_project.mail.SummaryEmailBackend",
    )
EMAIL_HOST = SMTP_HOST
EMAIL_PORT = SMTP_PORT
EMAIL_HOST_USER = SMTP_USERNAME
EMAIL_HOST_PASSWORD = SMTP_PASSWORD
EMAIL_USE_TLS = env_bool("SMTP_USE_TLS", SMTP_PORT == 587)
EMAIL_TIMEOUT = 10

# --- notifications (issue 9) ------------------------------------------------------------------

# Secrets stored in the database (Slack webhook URLs) are encrypted with a key derived from this;
# to rotate, set a new key and list the old ones in FIELD_ENCRYPTION_OLD_KEYS, then run
# `manage.py notifications_reencrypt`.
FIELD_ENCRYPTION_KEY = env_str("FIELD_ENCRYPTION_KEY", SECRET_KEY)
FIELD_ENCRYPTION_OLD_KEYS = env_list("FIELD_ENCRYPTION_OLD_KEYS", [])
# The finance team's Slack channel when none is configured in the admin.
NOTIFICATIONS_PLATFORM_SLACK_URL = env_str("NOTIFICATIONS_PLATFORM_SLACK_URL")
# Refunds from this amount (minor units of the invoice's currency) also go to the platform channel.
NOTIFICATIONS_LARGE_REFUND_AMOUNT = env_int("NOTIFICATIONS_LARGE_REFUND_AMOUNT", 50_000)
# A delivery is tried this many times, waiting BACKOFF * 2^(attempt-1) seconds between tries.
NOTIFICATIONS_MAX_ATTEMPTS = env_int("NOTIFICATIONS_MAX_ATTEMPTS", 5)
NOTIFICATIONS_RETRY_BACKOFF_SECONDS = env_int("NOTIFICATIONS_RETRY_BACKOFF_SECONDS", 30)
NOTIFICATIONS_SLACK_TIMEOUT_SECONDS = env_int("NOTIFICATIONS_SLACK_TIMEOUT_SECONDS", 10)
NOTIFICATIONS_TRIAL_ENDING_DAYS = env_int("NOTIFICATIONS_TRIAL_ENDING_DAYS", 3)
NOTIFICATIONS_CARD_EXPIRING_DAYS = env_int("NOTIFICATIONS_CARD_EXPIRING_DAYS", 30)

# --- outbound URL policy (issue 14: SSRF; billing_project/outbound.py) --------------------------------

# URLs called on a tenant's behalf (Slack webhooks, the tenants' collectors) must be https:// and reach
# public addresses only (the platform's NETBOX_API_URL / ODOO_API_URL below are exempt: operator config).
OUTBOUND_ALLOW_HTTP = env_bool("OUTBOUND_ALLOW_HTTP", False)
# Private addresses let through anyway, for tests and local sinks only: "host:port" or CIDR entries.
OUTBOUND_ALLOW_PRIVATE_HOSTS = env_list("OUTBOUND_ALLOW_PRIVATE_HOSTS", [])
# Named internal targets the operator trusts (comma-separated host names or CIDRs, any port).
OUTBOUND_URL_ALLOWLIST = env_list("OUTBOUND_URL_ALLOWLIST", [])
# `make run` sets it: plain http to this machine's loopback only (private/link-local/metadata refused).
OUTBOUND_DEV_LOOPBACK = env_bool("OUTBOUND_DEV_LOOPBACK", False)

# --- outbound webhooks (issue 17: webhooks/) ---------------------------------------------------------

# One attempt waits this long for an answer (connect and read each); Svix's schedule retries the rest.
WEBHOOKS_TIMEOUT_SECONDS = env_int("WEBHOOKS_TIMEOUT_SECONDS", 10)
# An endpoint whose every attempt failed for this many days is disabled and the owners are told.
WEBHOOKS_DISABLE_AFTER_DAYS = env_int("WEBHOOKS_DISABLE_AFTER_DAYS", 5)
# After a secret rotation the old secret keeps signing beside the new one this long.
WEBHOOKS_SECRET_OVERLAP_HOURS = env_int("WEBHOOKS_SECRET_OVERLAP_HOURS", 24)
# Each worker process sends on a pool of its own threads (webhooks.dispatcher), never on a Celery slot:
# at most ENDPOINT_CONCURRENCY of them on one endpoint (a slow endpoint never holds more); a drain
# sends for FLUSH_BUDGET seconds, then goes to the back of the pool's queue if more is due.
WEBHOOKS_WORKER_THREADS = env_int("WEBHOOKS_WORKER_THREADS", 8)
WEBHOOKS_ENDPOINT_CONCURRENCY = env_int("WEBHOOKS_ENDPOINT_CONCURRENCY", 2)
WEBHOOKS_FLUSH_BUDGET_SECONDS = env_int("WEBHOOKS_FLUSH_BUDGET_SECONDS", 2)
WEBHOOKS_CLAIM_BATCH = env_int("WEBHOOKS_CLAIM_BATCH", 10)
WEBHOOKS_MAX_ENDPOINTS = env_int("WEBHOOKS_MAX_ENDPOINTS", 20)
# GET /api/v1/events keeps at least this many days of events.
WEBHOOKS_EVENT_RETENTION_DAYS = env_int("WEBHOOKS_EVENT_RETENTION_DAYS", 30)

# --- outside systems (used by the usage collectors) ----------------------------------------------

NETBOX_API_URL = env_str("NETBOX_API_URL")
NETBOX_API_TOKEN = env_str("NETBOX_API_TOKEN")
ODOO_API_URL = env_str("ODOO_API_URL")
ODOO_API_KEY = env_str("ODOO_API_KEY")
# Platform-wide collectors (issue 15, usage/services/collectors.py): with the URL and secret above set,
# every tenant gets a NetBox and/or an Odoo collector besides its own. A NetBox object belongs to the
# tenant whose slug is its NetBox tenant's slug; an Odoo record to the tenant whose slug is the `ref`
# (Reference) of the partner ODOO_TENANT_FIELD leads to. Odoo's JSON-RPC login also needs the database
# and the login of the API key's user.
NETBOX_ENDPOINT = env_str("NETBOX_ENDPOINT", "dcim/devices")
NETBOX_RESOURCE_TYPE = env_str("NETBOX_RESOURCE_TYPE", "devices")
ODOO_DATABASE = env_str("ODOO_DATABASE")
ODOO_LOGIN = env_str("ODOO_LOGIN")
ODOO_MODEL = env_str("ODOO_MODEL", "res.users")
ODOO_TENANT_FIELD = env_str("ODOO_TENANT_FIELD", "partner_id.commercial_partner_id.ref")
ODOO_RESOURCE_TYPE = env_str("ODOO_RESOURCE_TYPE", "users")
PLATFORM_COLLECTOR_INTERVAL_MINUTES = env_int("PLATFORM_COLLECTOR_INTERVAL_MINUTES", 60)

# --- invoicing (issue 7) --------------------------------------------------------------------------

# Defaults of the billing policy row (policies app); finance changes them in the admin afterwards.
DUNNING_RETRY_DAYS = [int(day) for day in env_list("DUNNING_RETRY_DAYS", ["1", "3", "5", "7"])]
DUNNING_END_STATE = env_str("DUNNING_END_STATE", "canceled")  # or "unpaid"
DUNNING_HARD_DECLINE_CODES = env_list(
    "DUNNING_HARD_DECLINE_CODES",
    [
        "do_not_honor",
        "lost_card",
        "stolen_card",
        "pickup_card",
        "fraudulent",
        "restricted_card",
        "revocation_of_authorization",
        "revocation_of_all_authorizations",
        "stop_payment_order",
        "transaction_not_allowed",
        "invalid_account",
        "expired_card",
        "incorrect_number",
        "card_not_supported",
    ],
)
# Refunds above this amount (minor units of the invoice's currency) wait for a second finance user;
# REFUND_APPROVAL_THRESHOLDS gives currencies their own ("jpy:75000,kwd:150000"): one number of minor
# units is 500 dollars, but 50,000 yen and 50 Kuwaiti dinars.
REFUND_APPROVAL_THRESHOLD = env_int("REFUND_APPROVAL_THRESHOLD", 50_000)
REFUND_APPROVAL_THRESHOLDS = env_amounts("REFUND_APPROVAL_THRESHOLDS")
INVOICE_AUTO_CHARGE_DUE_DAYS = env_int("INVOICE_AUTO_CHARGE_DUE_DAYS", 7)
INVOICE_OVERDUE_GRACE_DAYS = env_int("INVOICE_OVERDUE_GRACE_DAYS", 0)
# Platform branding of the invoice PDFs.
INVOICE_BRAND_NAME = env_str("INVOICE_BRAND_NAME", "Billing Platform")
INVOICE_BRAND_COLOR = env_str("INVOICE_BRAND_COLOR", "#1f4e79")
INVOICE_LOGO_PATH = env_str("INVOICE_LOGO_PATH")  # a PNG/SVG file; empty prints the brand name
INVOICE_LEGAL_FOOTER = env_str(
    "INVOICE_LEGAL_FOOTER",
    "Billing Platform Inc. · 1 Example Street, Springfield · VAT EX123456789",
)
INVOICE_PAYMENT_INSTRUCTIONS_URL = env_str("INVOICE_PAYMENT_INSTRUCTIONS_URL", "")

# --- i18n, static, media --------------------------------------------------------------------------

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("pt-br", "Português (Brasil)"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / ".data" / "staticfiles")))
# Whitenoise also finds the files in the apps' static folders, so `make run` and the tests serve
# them without a collectstatic run (the image collects them into STATIC_ROOT anyway).
WHITENOISE_USE_FINDERS = True
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / ".data" / "media")))
# Invoice PDFs and uploads: local disk (MEDIA_ROOT) by default; an S3-compatible bucket shared by every
# node when STORAGE_S3_BUCKET is set (billing_project/storage_config.py, django-storages).
STORAGE_S3_BUCKET = env_str("STORAGE_S3_BUCKET")
STORAGES = {
    "default": default_storage_config(
        bucket=STORAGE_S3_BUCKET,
        endpoint_url=env_str("STORAGE_S3_ENDPOINT_URL"),
        access_key=env_str("STORAGE_S3_ACCESS_KEY_ID"),
        secret_key=env_str("STORAGE_S3_SECRET_ACCESS_KEY"),
        region=env_str("STORAGE_S3_REGION"),
        prefix=env_str("STORAGE_S3_PREFIX"),
        addressing_style=env_str("STORAGE_S3_ADDRESSING_STYLE"),
    ),
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Idempotency keys of the API are kept at least this long (API.md says 24 hours).
IDEMPOTENCY_KEY_TTL_HOURS = env_int("IDEMPOTENCY_KEY_TTL_HOURS", 48)
# A key still "in progress" after this long belongs to a process that died: a retry takes it over.
IDEMPOTENCY_IN_PROGRESS_SECONDS = env_int("IDEMPOTENCY_IN_PROGRESS_SECONDS", 120)

# --- logging ------------------------------------------------------------------------------------

# LOG_LEVEL is the level of our own loggers (`make run` sets WARNING unless given). Per-request
# lines (django.request's 4xx warnings, runserver's access lines) and the Stripe client's two INFO
# lines per call appear only with LOG_LEVEL=DEBUG; server errors (5xx) are always logged.
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
_CHATTY_LEVEL = "DEBUG" if LOG_LEVEL == "DEBUG" else "ERROR"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"level": _CHATTY_LEVEL},
        "django.server": {"level": _CHATTY_LEVEL},
        "stripe": {"level": "DEBUG" if LOG_LEVEL == "DEBUG" else "WARNING"},
    },
}
