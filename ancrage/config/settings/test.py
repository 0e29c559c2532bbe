"""Test suite: fast hashing, in-memory e-mail. PostgreSQL when ``DATABASE_URL`` says so."""

from ancrage.config.settings.base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ANCRAGE_DEMO = False
# Static files from the apps: the suite runs without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
