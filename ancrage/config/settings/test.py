"""Test suite: fast hashing, in-memory e-mail. PostgreSQL when ``DATABASE_URL`` says so."""

from ancrage.config.settings.base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ANCRAGE_DEMO = False
# Static files from the apps: the suite runs without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Django's test client logs in without a request, which django-axes refuses: throttling is
# switched on by the tests that exercise it (tests/accounts/test_throttling.py).
AXES_ENABLED = False
# Off by default so that tests of other pages log demo accounts in with client.login(); the
# enforcement is tested with it on (tests/accounts/test_second_factor.py, the permission matrix).
ANCRAGE_REQUIRE_TOTP = False
ANCRAGE_JOBS_SYNC = True  # imports run inline: tests see the finished job
# Tasks run as they are enqueued (after the commit that enqueues them): tests see their e-mails.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
ANCRAGE_SITE_URL = "https://ancrage.test"
