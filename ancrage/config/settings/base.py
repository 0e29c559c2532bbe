"""Settings shared by every environment, read from the environment (12-factor).

``dev``, ``test`` and ``prod`` only adjust what differs. SQLite is the default database;
PostgreSQL is used through ``DATABASE_URL`` (e.g. ``postgres://user@127.0.0.1:5432/ancrage``).
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent  # the ``ancrage`` package
# Runtime files (SQLite database, uploads, generated documents) live outside the package.
VAR_DIR = Path(environ.Env().str("ANCRAGE_VAR_DIR", default=str(Path.cwd() / "var")))

env = environ.Env()

SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-change-me-in-production-0123456789")
DEBUG = env.bool("DEBUG", default=False)
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
    "ancrage.www",
    "ancrage.demo",
    "ancrage.bench",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "ancrage.audit.middleware.AuditContextMiddleware",
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
AUTHENTICATION_BACKENDS = ["ancrage.accounts.backends.EmailBackend"]
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

# Everything is served by Ancrage itself: no CDN, no external font or script.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", "'nonce'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Ancrage <ne-pas-repondre@ancrage.localhost>")

DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
