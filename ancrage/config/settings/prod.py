"""Production: debug off, HTTPS only, strict cookies, and no demo password."""

from django.core.exceptions import ImproperlyConfigured

from ancrage.config.settings.base import *  # noqa: F403
from ancrage.config.settings.base import AUTH_PASSWORD_VALIDATORS, EMAIL_BACKEND, env

DEBUG = False
SECRET_KEY = env.str("SECRET_KEY")  # required: no default in production
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# The __Host- prefix makes browsers refuse these cookies unless secure, host-only and on "/".
SESSION_COOKIE_NAME = "__Host-ancrage-session"
CSRF_COOKIE_NAME = "__Host-ancrage-csrf"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

ANCRAGE_DEMO = False
ANCRAGE_ALLOW_DEMO_ACCOUNTS = False
ANCRAGE_ALLOW_DEV_CERTIFICATE = False
# Not read from the environment: production always asks référents, élus, coordinateurs and
# superusers for their second factor.
ANCRAGE_REQUIRE_TOTP = True
AXES_ENABLED = True
AUTH_PASSWORD_VALIDATORS = [
    *AUTH_PASSWORD_VALIDATORS,
    {"NAME": "ancrage.accounts.validators.RefuseDemoPasswordValidator"},
]

# The demo's backend keeps every message (one-time codes, reset links) for a page anyone reads.
if EMAIL_BACKEND.startswith("ancrage.demo."):
    raise ImproperlyConfigured(
        f"EMAIL_BACKEND={EMAIL_BACKEND} est réservé à la démonstration : configurez un serveur SMTP."
    )
# Links in e-mails sent outside a request (reminders, alerts) need the public address.
ANCRAGE_SITE_URL = env.str("ANCRAGE_SITE_URL").rstrip("/")
