"""Settings shared by every environment, read from the environment (12-factor).

``dev``, ``test`` and ``prod`` only adjust what differs. SQLite is the default database;
PostgreSQL is used through ``DATABASE_URL`` (e.g. ``postgres://user@127.0.0.1:5432/ancrage``).
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent.parent  # the ``ancrage`` package
# Runtime files (SQLite database, uploads, generated documents) live outside the package.
VAR_DIR = Path(environ.Env().str("ANCRAGE_VAR_DIR", default=str(Path.cwd() / "var")))

env = environ.Env()

SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-change-me-in-production-0123456789")
# Off everywhere unless a developer asks for it: ANCRAGE_DEBUG=1 (never in production, prod.py).
# A plain DEBUG variable left in a shell does not turn it on.
DEBUG = env.bool("ANCRAGE_DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'ancrage.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default must work on a fresh clone, where var/ does not exist yet.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # WAL lets readers go on while an import writes; the timeout waits for the writer.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    # Keep each worker's connection between requests: opening a PostgreSQL connection
    # costs a server process and several milliseconds per page. Checked before reuse.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "widget_tweaks",
    "dsfr",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    # Deferred and periodic work: Django 6's tasks API (backport) and its database backend.
    "django_tasks",
    "django_tasks_db",
    # The REST API (/api/): listed so that its Swagger UI is served from its static files, not a CDN.
    "ninja",
    # Ancrage, one app per domain of the loop.
    "ancrage.accounts",
    "ancrage.audit",
    "ancrage.organisations",
    "ancrage.territoire",
    "ancrage.frequentation",
    "ancrage.diagnostic",
    "ancrage.partenaires",
    "ancrage.actions",
    "ancrage.conventions",
    "ancrage.dossiers",
    "ancrage.suivi",
    "ancrage.reseau",
    "ancrage.www",
    "ancrage.demo",
    "ancrage.bench",
    "ancrage.exploitation",
]

MIDDLEWARE = [
    # First: /sante/ answers load balancers before the HTTPS redirect, the host check, the session.
    "ancrage.www.sante.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Early: a response made by a middleware below (a 413, a lockout page) gets its nonce and header.
    "csp.middleware.CSPMiddleware",
    # Before WhiteNoise, so that static files carry the header too.
    "ancrage.core.headers.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Early, so that every write of the request (a logout on idle timeout too) knows where it
    # comes from.
    "ancrage.audit.middleware.AuditContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Before any view or the CSRF check reads the body: too large a body is a 413.
    "ancrage.core.uploads.BodySizeLimitMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "ancrage.accounts.middleware.IdleTimeoutMiddleware",
    "ancrage.accounts.middleware.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the French lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "ancrage.config.urls"
WSGI_APPLICATION = "ancrage.config.wsgi.application"

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
                "ancrage.www.context_processors.ancrage",
            ],
        },
    },
]

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses any attempt while the account or address is locked out.
    "axes.backends.AxesStandaloneBackend",
    "ancrage.accounts.backends.EmailBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home:index"
LOGOUT_REDIRECT_URL = "accounts:login"
# A reset link is valid one day (Django's default is three).
PASSWORD_RESET_TIMEOUT = 24 * 3600

# Login throttling (django-axes): failures are counted per e-mail whatever the address, and per
# address whatever the e-mail. After 5 failures for one account (from any address), that account is
# locked out for 15 minutes; after 5 failures from one address (on any accounts: password
# spraying), that address is. Other people, from other addresses, still log in. A success does not
# wipe the count: with one valid account, an attacker could otherwise reset its address's count
# between two rounds of guesses. Counts expire 15 minutes after the last failure. See
# docs/exploitation.md, "Limites".
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = False
# Password reset: at most 5 requests per e-mail and per address an hour send a message
# (ancrage.core.ratelimit; docs/exploitation.md, "Limites").
ANCRAGE_PASSWORD_RESET_LIMIT = env.int("ANCRAGE_PASSWORD_RESET_LIMIT", default=5)
ANCRAGE_PASSWORD_RESET_WINDOW_MINUTES = env.int("ANCRAGE_PASSWORD_RESET_WINDOW_MINUTES", default=60)
# The REST API: requests per token and per window (seconds), counted the same way.
ANCRAGE_API_RATE_LIMIT = env.int("ANCRAGE_API_RATE_LIMIT", default=120)
ANCRAGE_API_RATE_WINDOW = env.int("ANCRAGE_API_RATE_WINDOW", default=60)
AXES_LOCKOUT_CALLABLE = "ancrage.www.accounts_views.views.lockout"
# The same client address as the audit trail, which trusts only the configured proxies.
AXES_CLIENT_IP_CALLABLE = "ancrage.audit.middleware.client_ip"
AXES_USERNAME_CALLABLE = "ancrage.accounts.backends.axes_username"
# Passwords and one-time codes never reach axes' access log.
AXES_SENSITIVE_PARAMETERS = ["password", "token", "new_password1", "new_password2"]

# Second factor (TOTP, django-otp): référents, élus, coordinateurs and superusers must enrol and
# enter a code after their password. Production forces it on (prod.py); dev and the demo turn it
# off by default so that the demo accounts log in with the password alone.
ANCRAGE_REQUIRE_TOTP = env.bool("ANCRAGE_REQUIRE_TOTP", default=True)
OTP_TOTP_ISSUER = "Ancrage"

# A session ends after SESSION_COOKIE_AGE in any case, and after this much inactivity.
ANCRAGE_SESSION_IDLE_TIMEOUT = env.int("ANCRAGE_SESSION_IDLE_TIMEOUT", default=30 * 60)
# An invitation link is valid this long.
ANCRAGE_INVITATION_MAX_AGE = env.int("ANCRAGE_INVITATION_MAX_AGE", default=7 * 24 * 3600)

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français")]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media/"

SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# No page uses these browser features (ancrage.core.headers). Only features Chromium knows: an
# unknown one ("bluetooth") logs a warning on every page.
ANCRAGE_PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), "
    "hid=(), midi=(), magnetometer=(), gyroscope=(), accelerometer=(), display-capture=()"
)

# Everything is served by Ancrage itself: no CDN, no external font or script. Scripts come from
# 'self' or carry the request's nonce: django-csp writes 'nonce-<value>' in place of NONCE once a
# template has read request.csp_nonce (dsfr/base.html does, for DSFR's scripts), and drops it
# otherwise. The literal "'nonce'" is not a source: Chromium rejects it as invalid.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    },
}

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Ancrage <ne-pas-repondre@ancrage.localhost>")
# The site's address, for the links of the e-mails sent outside a request (reminders, alerts, the
# worker's notifications): scheme, host and port, without a trailing slash.
ANCRAGE_SITE_URL = env.str("ANCRAGE_SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# Deferred and periodic work (django-tasks): tasks are rows of the database, run by
# `ancrage db_worker`; `ancrage planificateur` enqueues the daily one (docs/exploitation.md).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# The daily task (reminders and échéance alerts) is enqueued at this hour, local time.
ANCRAGE_DAILY_TASK_HOUR = env.int("ANCRAGE_DAILY_TASK_HOUR", default=7)
# A person asked for a visa or a signature is reminded every this many days without an answer.
ANCRAGE_REMINDER_DAYS = env.int("ANCRAGE_REMINDER_DAYS", default=7)
# Échéance alerts and tacit-renewal notices: this many days before the end (or before the last day
# to denounce), each once per convention and term.
ANCRAGE_EXPIRY_ALERT_DAYS = [
    int(d) for d in env.list("ANCRAGE_EXPIRY_ALERT_DAYS", default=["90", "60", "30"])
]

# Upload limits. Request bodies other than files are small; an uploaded file larger than
# ANCRAGE_UPLOAD_MAX_SIZE is refused by ancrage.core.safe_files before it is parsed (importers
# pass this value), and spreadsheets are checked there against zip bombs and XML entities.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000
DATA_UPLOAD_MAX_NUMBER_FILES = 10
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_PERMISSIONS = 0o640
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o750
ANCRAGE_UPLOAD_MAX_SIZE = env.int("ANCRAGE_UPLOAD_MAX_SIZE", default=20 * 1024 * 1024)
# The whole request body, refused with 413 from its Content-Length before it is read
# (ancrage.core.uploads): one file and the other fields of its form. A file passing
# ANCRAGE_UPLOAD_MAX_SIZE as it streams is stopped before its first chunk past the limit is written.
ANCRAGE_UPLOAD_MAX_BYTES = env.int(
    "ANCRAGE_UPLOAD_MAX_BYTES", default=ANCRAGE_UPLOAD_MAX_SIZE + DATA_UPLOAD_MAX_MEMORY_SIZE
)
FILE_UPLOAD_HANDLERS = [
    "ancrage.core.uploads.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# Imports (ancrage.diagnostic.jobs): the CPU time one step (analysis or import) of a job may use,
# measured in its thread at each chunk (0: no limit), and how many imports an EPN may have waiting
# or running at once (docs/exploitation.md, "Limites").
ANCRAGE_IMPORT_CPU_SECONDS = env.float("ANCRAGE_IMPORT_CPU_SECONDS", default=180.0)
ANCRAGE_IMPORT_MAX_ACTIVE = env.int("ANCRAGE_IMPORT_MAX_ACTIVE", default=2)

# Ancrage's own settings.
ANCRAGE_DEMO = env.bool("ANCRAGE_DEMO", default=False)  # shows the "données de démonstration" banner
ANCRAGE_ALLOW_DEMO_ACCOUNTS = True  # production turns this off: the demo password is refused
ANCRAGE_TRUSTED_PROXY_COUNT = env.int("ANCRAGE_TRUSTED_PROXY_COUNT", default=0)
# The platform's sealing certificate for signed conventions (PKCS#12 + its PEM certificate).
# Without one, development creates a self-signed certificate under VAR_DIR/signature/.
ANCRAGE_SIGNATURE_PKCS12 = env.str("ANCRAGE_SIGNATURE_PKCS12", default="")
ANCRAGE_SIGNATURE_PKCS12_PASSWORD = env.str("ANCRAGE_SIGNATURE_PKCS12_PASSWORD", default="")
ANCRAGE_SIGNATURE_CERT = env.str("ANCRAGE_SIGNATURE_CERT", default="")
ANCRAGE_ALLOW_DEV_CERTIFICATE = True
# RFC 3161 timestamping authority of the seal (PAdES B-T, then B-LT): empty, the seal is B-B.
ANCRAGE_TSA_URL = env.str("ANCRAGE_TSA_URL", default="")
ANCRAGE_TSA_TIMEOUT = env.int("ANCRAGE_TSA_TIMEOUT", default=10)  # seconds
# PEM files of the TSA roots the verification trusts (the timestamp is reported "reconnu").
ANCRAGE_TSA_CERTS = env.list("ANCRAGE_TSA_CERTS", default=[])
# The public verification page (/verifier/): size of a PDF, and uploads per IP address.
ANCRAGE_VERIFIER_MAX_SIZE = env.int("ANCRAGE_VERIFIER_MAX_SIZE", default=20 * 1024 * 1024)
ANCRAGE_VERIFIER_LIMIT = env.int("ANCRAGE_VERIFIER_LIMIT", default=20)
ANCRAGE_VERIFIER_WINDOW_MINUTES = env.int("ANCRAGE_VERIFIER_WINDOW_MINUTES", default=10)
# HMAC key of the dossiers' chained history. Empty: derived from SECRET_KEY (set this to the old
# derived key before rotating SECRET_KEY, or every chain will look modified).
ANCRAGE_JOURNAL_KEY = env.str("ANCRAGE_JOURNAL_KEY", default="")
# HMAC key of the backups' manifests (`ancrage sauvegarde`). Empty: derived from the journal key.
ANCRAGE_BACKUP_KEY = env.str("ANCRAGE_BACKUP_KEY", default="")
# Imports run in a background thread; inline when true (tests, or a server that forbids threads).
ANCRAGE_JOBS_SYNC = env.bool("ANCRAGE_JOBS_SYNC", default=False)
# A running job whose heartbeat is older than this (seconds) lost its worker: it can be run again.
ANCRAGE_JOBS_TIMEOUT = env.int("ANCRAGE_JOBS_TIMEOUT", default=30 * 60)
# The worker commands touch their heartbeat file (MEDIA_ROOT/.sante/) this often (seconds).
ANCRAGE_WORKER_HEARTBEAT_SECONDS = env.float("ANCRAGE_WORKER_HEARTBEAT_SECONDS", default=10.0)
# /sante/: the workers that must be alive (diagnostic, partenaires, conventions), each with a
# heartbeat younger than ANCRAGE_SANTE_WORKER_MAX_AGE seconds. Empty: none is watched (jobs run in
# the web server's threads; docs/exploitation.md, « Supervision »).
ANCRAGE_SANTE_WORKERS = env.list("ANCRAGE_SANTE_WORKERS", default=[])
ANCRAGE_SANTE_WORKER_MAX_AGE = env.float("ANCRAGE_SANTE_WORKER_MAX_AGE", default=60.0)
# The domain of the calendars' event UIDs (séance-12@<domain>). Empty: the host the request names.
# Set it in production so that UIDs stay the same if the site's address changes.
ANCRAGE_ICAL_UID_DOMAIN = env.str("ANCRAGE_ICAL_UID_DOMAIN", default="")
# Personal data (RGPD): usagers records are kept this many months after the import that holds
# them (docs/rgpd.md explains the default), then `ancrage purger-usagers` deletes them.
ANCRAGE_RETENTION_USAGERS_MOIS = env.int("ANCRAGE_RETENTION_USAGERS_MOIS", default=36)
# Files uploaded for an import but never confirmed are emptied after this many days.
ANCRAGE_RETENTION_DEPOTS_JOURS = env.int("ANCRAGE_RETENTION_DEPOTS_JOURS", default=30)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # E-mail addresses are masked in every log line (ancrage/core/log_privacy.py).
    "filters": {"personal_data": {"()": "ancrage.core.log_privacy.MaskPersonalData"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["personal_data"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
