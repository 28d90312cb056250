"""Settings for TrustStram Readiness, read from the environment.

Production is the default: DEBUG is off unless set, SECRET_KEY is then required, cookies are
secure and HTTPS is enforced. `make run` sets DEBUG=1 for the local demo. Importing this module
has no side effects beyond reading the environment.
"""

import os
import tempfile
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def database_from_url(url: str) -> dict:
    """Turn `postgresql://user:pass@host:port/name?host=/socket/dir` into a DATABASES entry."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise ImproperlyConfigured("DATABASE_URL must be a postgresql:// URL")
    options = dict(parse_qsl(parts.query))
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")) or "truststream",
        "USER": unquote(parts.username or "postgres"),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": options.pop("host", parts.hostname or ""),
        "PORT": str(parts.port or ""),
        "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 60),
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": options,
    }


# STORAGE_URL's query keys, and the S3Storage option each one sets.
S3_URL_OPTIONS = {
    "endpoint_url": "endpoint_url",
    "region": "region_name",
    "addressing_style": "addressing_style",
}
S3_URL_FORM = "s3://BUCKET/OPTIONAL/PREFIX?endpoint_url=https://HOST:PORT&region=REGION"


def s3_storage(
    *,
    bucket: str,
    location: str = "",
    endpoint_url: str = "",
    region_name: str = "",
    addressing_style: str = "",
) -> dict:
    """A STORAGES entry for an S3-compatible bucket (django-storages' S3Storage).

    Credentials are never part of it: boto3 finds them as it always does (AWS_ACCESS_KEY_ID and
    AWS_SECRET_ACCESS_KEY, a profile, or the instance's role)."""
    if endpoint_url and urlsplit(endpoint_url).scheme not in {"http", "https"}:
        raise ImproperlyConfigured(
            f"The S3 endpoint must be an http:// or https:// URL, not {endpoint_url!r}"
        )
    if addressing_style not in {"", "auto", "path", "virtual"}:
        raise ImproperlyConfigured(
            f"The S3 addressing style is auto, path or virtual, not {addressing_style!r}"
        )
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "location": location.strip("/"),
            "endpoint_url": endpoint_url or None,
            "region_name": region_name or None,
            "addressing_style": addressing_style or None,
            # Objects stay private (the bucket's own policy); downloads go through the app's
            # access check, never through a public URL.
            "default_acl": None,
            "querystring_auth": True,
            # As on the local disk, a name already taken gets a fresh one: a second render of the
            # same packet must not replace the file the first one recorded.
            "file_overwrite": False,
            # A file read through the app (a download, a packet checked on the verify page) is
            # held in memory up to this size and spills to a temporary file beyond it.
            "max_memory_size": 2 * 1024 * 1024,
        },
    }


def storage_from_url(url: str) -> dict:
    """Turn STORAGE_URL (`s3://bucket/prefix?endpoint_url=...&region=...`) into a STORAGES entry."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ImproperlyConfigured(f"STORAGE_URL must look like {S3_URL_FORM}")
    if "@" in parts.netloc:
        raise ImproperlyConfigured(
            "STORAGE_URL carries no credentials: set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY (or give the machine a role) instead"
        )
    query = parse_qsl(parts.query, keep_blank_values=True)
    unknown = sorted({key for key, _ in query} - set(S3_URL_OPTIONS))
    if unknown:
        known = ", ".join(S3_URL_OPTIONS)
        raise ImproperlyConfigured(
            f"STORAGE_URL has unknown options ({', '.join(unknown)}); it takes {known}"
        )
    options = {S3_URL_OPTIONS[key]: value for key, value in query}
    return s3_storage(bucket=parts.netloc, location=unquote(parts.path), **options)


def default_storage_from_environment() -> dict:
    """Evidence and packets: an S3-compatible bucket when STORAGE_URL or
    AWS_STORAGE_BUCKET_NAME says so, else the local folder MEDIA_ROOT."""
    url = env_str("STORAGE_URL")
    bucket = env_str("AWS_STORAGE_BUCKET_NAME")
    if url and bucket:
        raise ImproperlyConfigured("Set STORAGE_URL or AWS_STORAGE_BUCKET_NAME, not both")
    if url:
        return storage_from_url(url)
    if bucket:
        return s3_storage(
            bucket=bucket,
            location=env_str("AWS_LOCATION"),
            endpoint_url=env_str("AWS_S3_ENDPOINT_URL"),
            region_name=env_str("AWS_S3_REGION_NAME"),
            addressing_style=env_str("AWS_S3_ADDRESSING_STYLE"),
        )
    return {"BACKEND": "django.core.files.storage.FileSystemStorage"}


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-local-development-key-only-used-with-debug"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "guardian",
    "pgtrigger",
    "pghistory",
    "pghistory.admin",
    "django_htmx",
    "csp",
    "truststream",
    "planning",
    "checklists",
    "signoffs",
    "reports",
    "gates",
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
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # SIGNOFF_REQUIRE_MFA: role-holders set up a second factor before anything else.
    "signoffs.middleware.RoleHoldersEnrollMfa",
    # After authentication, so that every audit event carries the acting user and the URL.
    "truststream.audit.history.AuditMiddleware",
]

ROOT_URLCONF = "truststream.urls"
WSGI_APPLICATION = "truststream.wsgi.application"

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
                "truststream.views.notifications_unread",
                "truststream.views.single_sign_on",
            ],
        },
    }
]

DATABASE_URL = env_str("DATABASE_URL")
if not DATABASE_URL:
    raise ImproperlyConfigured(
        "DATABASE_URL is not set. Use `make run` or `make test`, which start the embedded "
        "Postgres when it is unset, or point it at a server."
    )
DATABASES = {"default": database_from_url(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if not REDIS_URL:
    raise ImproperlyConfigured(
        "REDIS_URL is not set. Use `make run` or `make test`, which start the embedded Redis "
        "when it is unset, or point it at a server."
    )
# Redis is a cache here, never the only copy: the cache reads as empty while Redis is away
# (truststream.cache), so pages keep answering from Postgres.
REDIS_TIMEOUTS = {"socket_connect_timeout": 1, "socket_timeout": 2}
CACHES = {
    "default": {
        "BACKEND": "truststream.cache.DegradingRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "truststream"),
        "OPTIONS": REDIS_TIMEOUTS,
    }
}
# Sessions are written to Postgres and cached in Redis: a sign-in outlives Redis.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# Celery. Three queues by kind of work, each with its own workers (docs/operations.md):
#   packets  render and sign PDFs: long, CPU-heavy, one at a time per worker process
#   mail     email
#   default  everything else (the periodic sweeps, plan_changed, notifications)
# `celery -A truststream worker -Q packets --prefetch-multiplier=1` and
# `celery -A truststream worker -Q default,mail`, and one `celery -A truststream beat`.
CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_DEFAULT_QUEUE = "default"
# A worker started without -Q takes all three (the test suite's does).
CELERY_TASK_QUEUES = [Queue("packets"), Queue("mail"), Queue("default")]
CELERY_TASK_ROUTES = {
    "signoffs.tasks.packet_render": {"queue": "packets"},
    "truststream.tasks.notification_email": {"queue": "mail"},
    "truststream.tasks.tokens_revoked_email": {"queue": "mail"},
    "truststream.tasks.outbox_email_send": {"queue": "mail"},
    "planning.tasks.membership_added_notify": {"queue": "mail"},
    "planning.tasks.invitation_send": {"queue": "mail"},
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing while Redis is away gives up after about a second instead of holding the request;
# what was not queued is found again in Postgres by the sweeps (packets) or is re-checked by
# them (plan_changed).
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.3,
    "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# A message a worker took but never acknowledged (the worker died) goes back to the queue after
# this many seconds. It must exceed the longest task (PACKET_RENDER_SECONDS) or a slow render
# would be started twice. Packets do not wait for it: their lease runs out first (see
# PACKET_LEASE_SECONDS). `global_keyprefix` puts every key of the broker under one prefix, so
# that a test run or a second instance shares a Redis database without sharing queues.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 900),
    "global_keyprefix": env_str("CELERY_KEY_PREFIX"),
    **REDIS_TIMEOUTS,
}
# Beat runs as its own process, once (`celery -A truststream beat`). Its state file holds only
# when each entry last ran, so it lives on the local disk of the beat's machine; a lost file
# means the interval entries run once more at start, which their locks make harmless.
CELERY_BEAT_SCHEDULE_FILENAME = env_str(
    "CELERY_BEAT_SCHEDULE_FILENAME",
    str(Path(tempfile.gettempdir()) / "truststream-celerybeat-schedule"),
)
# Each entry's task takes a lock for its run (truststream.locks), so that two beats started by
# mistake still sweep and send digests once.
CELERY_BEAT_SCHEDULE = {
    "signatures-sweep": {
        "task": "signoffs.tasks.signatures_sweep",
        "schedule": env_int("SIGNOFF_SWEEP_SECONDS", 300),
    },
    "packets-requeue": {
        "task": "signoffs.tasks.packets_requeue",
        "schedule": env_int("PACKET_SWEEP_SECONDS", 30),
    },
    # Seals whose timestamp token could not be had when they were taken (the TSA was away).
    "seals-timestamp": {"task": "truststream.tasks.seals_timestamp", "schedule": 600},
    # Emails that were not sent (Redis away when they were queued, the mail server refusing),
    # immediate notifications' and the outbox's (invitations, "you were added", tokens
    # revoked), are queued again, for NOTIFICATION_EMAIL_GIVE_UP_HOURS.
    "notification-emails-requeue": {
        "task": "truststream.tasks.notification_emails_requeue",
        "schedule": env_int("NOTIFICATION_EMAIL_SWEEP_SECONDS", 300),
    },
    # Gated deployments whose decision could not be delivered to GitHub or GitLab.
    "gate-deployments-retry": {
        "task": "gates.tasks.deployments_retry",
        "schedule": env_int("GATE_UNDELIVERED_SWEEP_SECONDS", 600),
    },
    "notifications-digest": {
        "task": "truststream.tasks.notifications_digest",
        "schedule": crontab(hour=env_int("NOTIFICATION_DIGEST_HOUR", 7), minute=0),
    },
    # An hour before the digest, so that the day's overdue notices are in it.
    "tasks-overdue": {
        "task": "planning.tasks.overdue_notify",
        "schedule": crontab(hour=(env_int("NOTIFICATION_DIGEST_HOUR", 7) - 1) % 24, minute=0),
    },
}

# An email (immediate notification or outbox) still unsent this long after it was (last) queued
# is queued again by the sweep above; one still unsent this many hours after it was made is
# given up and logged (a notification stays under the bell).
NOTIFICATION_EMAIL_RETRY_SECONDS = env_int("NOTIFICATION_EMAIL_RETRY_SECONDS", 300)
NOTIFICATION_EMAIL_GIVE_UP_HOURS = env_int("NOTIFICATION_EMAIL_GIVE_UP_HOURS", 24)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# Nobody anonymous holds object permissions here; plans are private to their members.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "planning:plan_list"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = "username"
ACCOUNT_EMAIL_VERIFICATION = env_str("ACCOUNT_EMAIL_VERIFICATION", "mandatory")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[TrustStram] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
ACCOUNT_ADAPTER = "truststream.adapters.AccountAdapter"
# allauth keeps its rate-limit counters in the default cache, which is Redis.
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "confirm_email": "1/3m/key",
    "change_password": "5/m/user",
}

# Single sign-on through an OpenID Connect provider (docs/single-sign-on.md). Off unless the
# issuer, client id and secret are all set; the code flow always uses PKCE (S256).
OIDC_ISSUER = env_str("OIDC_ISSUER")
OIDC_CLIENT_ID = env_str("OIDC_CLIENT_ID")
OIDC_CLIENT_SECRET = env_str("OIDC_CLIENT_SECRET")
OIDC_BUTTON_LABEL = env_str("OIDC_BUTTON_LABEL", "Sign in with single sign-on")
# The scopes asked for; add the one under which the provider releases the group claim.
OIDC_SCOPES = env_list("OIDC_SCOPES", ["openid", "profile", "email"])
# The claim that lists the person's groups; a team whose "SSO group" is one of them gets the
# person as a member at each sign-in (and loses them when the claim stops naming it).
OIDC_GROUPS_CLAIM = env_str("OIDC_GROUPS_CLAIM", "groups")
# Password sign-in for superusers only: everybody else signs in through the provider.
SSO_ONLY = env_bool("SSO_ONLY", False)


def oidc_origin(issuer: str) -> list[str]:
    """The identity provider's origin, where its sign-in pages are, as a CSP source."""
    parts = urlsplit(issuer)
    return [f"{parts.scheme}://{parts.netloc}"] if parts.scheme and parts.netloc else []


def oidc_providers(issuer: str, client_id: str, secret: str, label: str, scopes) -> dict:
    """allauth's provider settings for one OpenID Connect app, or none when unconfigured."""
    if not (issuer and client_id and secret):
        return {}
    app = {
        "provider_id": "sso",
        "name": label,
        "client_id": client_id,
        "secret": secret,
        "settings": {"server_url": issuer, "oauth_pkce_enabled": True, "scope": list(scopes)},
    }
    return {"openid_connect": {"OAUTH_PKCE_ENABLED": True, "APPS": [app]}}


SOCIALACCOUNT_PROVIDERS = oidc_providers(
    OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_BUTTON_LABEL, OIDC_SCOPES
)
SOCIALACCOUNT_ADAPTER = "truststream.adapters.SocialAccountAdapter"
# The provider is the organisation's own: an address it says it verified signs in to the
# account with that address (the adapter refuses an address it has not verified).
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_EMAIL_REQUIRED = True
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_STORE_TOKENS = False
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
# When on, only a role-holder with a second factor (an authenticator app) may sign.
SIGNOFF_REQUIRE_MFA = env_bool("SIGNOFF_REQUIRE_MFA", False)
MFA_TOTP_ISSUER = "TrustStram Readiness"
# Calls one API token may make in a minute; past it the API answers 429 with Retry-After.
API_RATE_PER_MINUTE = env_int("API_RATE_PER_MINUTE", 120)

# Outgoing webhooks (gates): each attempt waits at most WEBHOOK_TIMEOUT_SECONDS; a failed one
# is tried again after WEBHOOK_RETRY_SECONDS, then twice, four times... as long, up to
# WEBHOOK_MAX_ATTEMPTS in all. Addresses inside private or reserved networks are refused
# unless WEBHOOK_ALLOW_PRIVATE is on (an instance whose receivers are on its own network).
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10)
WEBHOOK_RETRY_SECONDS = env_int("WEBHOOK_RETRY_SECONDS", 30)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 6)
WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE", False)

EMAIL_HOST = env_str("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", EMAIL_PORT == 587)
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
elif env_str("EMAIL_FILE_PATH"):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH")
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "TrustStram Readiness <readiness@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "var" / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
MEDIA_URL = "media/"
STORAGES = {
    # Everything users upload or download (evidence, packets). Web processes and workers
    # share only this; nothing is read from another process's local disk.
    "default": default_storage_from_environment(),
    # Static files stay with the application (whitenoise), wherever the media go.
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATIC_MANIFEST", not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = False
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts, styles and everything else from this origin
# only, and nothing inline, so that text that slipped past escaping still cannot run. Pages
# keep their JavaScript in static/js (app.js wires behaviour to data- attributes) and their
# styles in static/css. data: images are allowed for the TOTP QR code allauth draws.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        # The sign-in form through the identity provider is answered by a redirect to it,
        # which Chromium holds to form-action as well.
        "form-action": ["'self'", *oidc_origin(OIDC_ISSUER if SOCIALACCOUNT_PROVIDERS else "")],
    }
}
SILENCED_SYSTEM_CHECKS = ["security.W021"]  # HSTS preload is an operator's decision.

# Audit tables refuse UPDATE and DELETE (triggers installed by django-pghistory).
PGHISTORY_APPEND_ONLY = True

PLANS_PER_PAGE = 20
# How long what a plan page cached under the plan's version stays in Redis. A change makes
# it unreachable at once (planning.reads.cached); this only gives the memory back.
PLAN_CACHE_SECONDS = env_int("PLAN_CACHE_SECONDS", 24 * 3600)
# The playbook new plans are made from unless their creator chooses another.
DEFAULT_PLAYBOOK_PATH = BASE_DIR / "planning" / "playbooks" / "truststram-v4.4.yaml"
DEFAULT_PLAYBOOK_KEY = "truststram"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # WeasyPrint reports each step of every render at INFO.
    "loggers": {"weasyprint.progress": {"level": "WARNING"}},
}
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# Form templates in templates/django/forms/ override Django's (labels without a colon).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"
# Evidence files: at most this size (bytes); the types accepted are in checklists.services.
EVIDENCE_MAX_BYTES = env_int("EVIDENCE_MAX_BYTES", 20 * 1024 * 1024)
# The model whose audit trail is sealed and verified as a whole (see truststream.audit).
AUDIT_PLAN_MODEL = "planning.DeploymentPlan"

# Readiness packets (signoffs.packets). A render that takes longer, a plan whose packet
# contents are larger, or a PDF that comes out larger than these fails with the reason.
PACKET_RENDER_SECONDS = env_int("PACKET_RENDER_SECONDS", 300)
PACKET_MAX_SNAPSHOT_BYTES = env_int("PACKET_MAX_SNAPSHOT_BYTES", 8 * 1024 * 1024)
PACKET_MAX_BYTES = env_int("PACKET_MAX_BYTES", 50 * 1024 * 1024)
# A packet whose render killed the worker this many times fails instead of being tried again.
PACKET_MAX_ATTEMPTS = 3
# A rendering packet holds a lease that its worker renews every third of this; a packet whose
# lease ran out (its worker died) or that stayed queued this long (its message was lost) is
# queued again by the sweep that beat runs every PACKET_SWEEP_SECONDS.
PACKET_LEASE_SECONDS = env_int("PACKET_LEASE_SECONDS", 30)
PACKET_QUEUED_SECONDS = env_int("PACKET_QUEUED_SECONDS", 60)
# The audit appendix lists at most this many of the plan's latest events; the seal covers all.
PACKET_AUDIT_EVENTS = env_int("PACKET_AUDIT_EVENTS", 2000)
# The verify page refuses uploads over this size before storing them (truststream.uploads),
# checks a signature for at most PACKET_VERIFY_SECONDS, and lets each person verify at most
# PACKET_VERIFY_PER_MINUTE files or digests a minute.
PACKET_VERIFY_MAX_BYTES = env_int("PACKET_VERIFY_MAX_BYTES", 25 * 1024 * 1024)
# Checking a tagged B-LTA packet costs about a second of CPU, most of it the checking process
# importing pyHanko (docs/benchmarks.md); on two cores shared by a dozen busy processes that
# was 9 to 12 s of wall time, hence the margin. A crafted file is still stopped.
PACKET_VERIFY_SECONDS = env_int("PACKET_VERIFY_SECONDS", 20)
PACKET_VERIFY_PER_MINUTE = env_int("PACKET_VERIFY_PER_MINUTE", 10)
# The key, certificate and CA chain packets are signed with: each as PEM text in the variable
# itself, or as the path of a file (a mounted secret) in its _FILE twin. With no key and no
# certificate configured, a key and a self-signed certificate are made on first use under
# PACKET_SIGNING_DIR (`check --deploy` warns); a process never makes one when either is set.
PACKET_SIGNING_KEY = env_str("PACKET_SIGNING_KEY")
PACKET_SIGNING_KEY_FILE = env_str("PACKET_SIGNING_KEY_FILE")
PACKET_SIGNING_CERT = env_str("PACKET_SIGNING_CERT")
PACKET_SIGNING_CERT_FILE = env_str("PACKET_SIGNING_CERT_FILE")
# The issuing CA's certificates up to and including its root: packets validate to that root.
PACKET_SIGNING_CHAIN = env_str("PACKET_SIGNING_CHAIN")
PACKET_SIGNING_CHAIN_FILE = env_str("PACKET_SIGNING_CHAIN_FILE")
PACKET_SIGNING_DIR = Path(env_str("PACKET_SIGNING_DIR", str(BASE_DIR / "var" / "signing")))
# An RFC 3161 timestamp authority: packets get trusted time (PAdES B-T and up) and every audit
# seal gets a token over its digest. Without one, packets are PAdES B-B whatever the profile.
PACKET_TSA_URL = env_str("PACKET_TSA_URL")
PACKET_TSA_SECONDS = env_int("PACKET_TSA_SECONDS", 10)
# The roots a timestamp authority's certificate must chain to (PEM text, or a file); unset: the
# operating system's trusted roots.
PACKET_TSA_TRUST = env_str("PACKET_TSA_TRUST")
PACKET_TSA_TRUST_FILE = env_str("PACKET_TSA_TRUST_FILE")
PACKET_SIGNATURE_PROFILES = ("B-B", "B-T", "B-LT", "B-LTA")
PACKET_SIGNATURE_PROFILE = env_str(
    "PACKET_SIGNATURE_PROFILE", "B-LTA" if PACKET_TSA_URL else "B-B"
).upper()
if PACKET_SIGNATURE_PROFILE not in PACKET_SIGNATURE_PROFILES:
    raise ImproperlyConfigured(
        f"PACKET_SIGNATURE_PROFILE must be one of {', '.join(PACKET_SIGNATURE_PROFILES)}."
    )
PACKET_SIGNER_NAME = env_str("PACKET_SIGNER_NAME", "TrustStram Readiness")

# Deploy gates (gates/, docs/gates.md). A plan passes the gate at or above this readiness
# total, or its own sign-off threshold when an owner set it higher: by default the guide's
# "ready with minor adjustments" (80).
GATE_READINESS_THRESHOLD = env_int("GATE_READINESS_THRESHOLD", 80)


def secret_from_environment(name: str) -> str:
    """A secret given as the variable itself or, in its _FILE twin, as the path of a file (a
    mounted secret)."""
    path = env_str(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ImproperlyConfigured(f"{name}_FILE cannot be read: {error}") from error
    return env_str(name)


# GitHub: the instance is a GitHub App's webhook for custom deployment protection rules. The
# app's id, private key (PEM) and webhook secret; GITHUB_API_URL for GitHub Enterprise Server
# ("https://github.example.com/api/v3").
GITHUB_APP_ID = env_str("GITHUB_APP_ID")
GITHUB_APP_PRIVATE_KEY = secret_from_environment("GITHUB_APP_PRIVATE_KEY")
GITHUB_WEBHOOK_SECRET = secret_from_environment("GITHUB_WEBHOOK_SECRET")
GITHUB_API_URL = env_str("GITHUB_API_URL", "https://api.github.com").rstrip("/")
# GitLab: the deployment events webhook's secret token, and an access token allowed to approve
# deployments of the protected environments, on GITLAB_API_URL (".../api/v4").
GITLAB_WEBHOOK_TOKEN = secret_from_environment("GITLAB_WEBHOOK_TOKEN")
GITLAB_TOKEN = secret_from_environment("GITLAB_TOKEN")
GITLAB_API_URL = env_str("GITLAB_API_URL", "https://gitlab.com/api/v4").rstrip("/")
# Each call to GitHub or GitLab: tried this many times on a 5xx answer or a network error,
# waiting GATE_RETRY_SECONDS, then twice that, and so on, between tries; each try gives up
# after GATE_HTTP_TIMEOUT seconds.
GATE_HTTP_ATTEMPTS = env_int("GATE_HTTP_ATTEMPTS", 4)
GATE_RETRY_SECONDS = float(env_str("GATE_RETRY_SECONDS", "1"))
# A decision still undelivered after those tries is tried again by beat's sweep
# ("gate-deployments-retry", every GATE_UNDELIVERED_SWEEP_SECONDS), for this many hours after
# the first failure; then it is given up, logged and shown so on the Deploy gates tab.
GATE_UNDELIVERED_RETRY_HOURS = env_int("GATE_UNDELIVERED_RETRY_HOURS", 24)
GATE_HTTP_TIMEOUT = env_int("GATE_HTTP_TIMEOUT", 10)
# The largest webhook body accepted; GitHub's deliveries are capped at 25 MB, but a deployment
# protection rule's is a few kilobytes.
GATE_WEBHOOK_MAX_BYTES = env_int("GATE_WEBHOOK_MAX_BYTES", 1024 * 1024)
