"""Production: debug off, HTTPS only, strict cookies, and no demo password."""

from ancrage.config.settings.base import *  # noqa: F403
from ancrage.config.settings.base import AUTH_PASSWORD_VALIDATORS, env

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

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

ANCRAGE_DEMO = False
ANCRAGE_ALLOW_DEMO_ACCOUNTS = False
ANCRAGE_ALLOW_DEV_CERTIFICATE = False
AUTH_PASSWORD_VALIDATORS = [
    *AUTH_PASSWORD_VALIDATORS,
    {"NAME": "ancrage.accounts.validators.RefuseDemoPasswordValidator"},
]
