"""Production settings: debug off, HTTPS, CSP, and the demo password refused."""

import json
import os
import subprocess
import sys

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from ancrage.accounts.validators import DEMO_PASSWORD, RefuseDemoPasswordValidator
from ancrage.conventions.signature import create_dev_certificate
from ancrage.www.checks import template_static_names
from tests.organisations.factories import UserFactory

PROD_ENV = {
    **os.environ,
    "DJANGO_SETTINGS_MODULE": "ancrage.config.settings.prod",
    "SECRET_KEY": "x" * 60 + "-prod-check-0123456789",
    "ALLOWED_HOSTS": "ancrage.example.org",
    "ANCRAGE_SITE_URL": "https://ancrage.example.org",
}


def test_check_deploy_passes_with_production_settings(tmp_path):
    # The documented certificate variables, and the manifest `collectstatic` writes (here its
    # entries only: scripts/ci-production runs the real collectstatic).
    certificate = create_dev_certificate(tmp_path / "certificat", password="pilote", key_size=2048)
    static = tmp_path / "static"
    static.mkdir()
    paths = {name: name for name in template_static_names()}
    (static / "staticfiles.json").write_text(json.dumps({"paths": paths, "version": "1.1"}))
    result = subprocess.run(
        [sys.executable, "-m", "ancrage.cli", "check", "--deploy", "--fail-level", "WARNING"],
        env={
            **PROD_ENV,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
            "ANCRAGE_SIGNATURE_PKCS12": str(certificate.pkcs12_path),
            "ANCRAGE_SIGNATURE_PKCS12_PASSWORD": "pilote",
            "ANCRAGE_SIGNATURE_CERT": str(certificate.cert_path),
            "STATIC_ROOT": str(static),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_are_strict():
    code = (
        "from django.conf import settings as s;"
        "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS > 0,"
        " s.ANCRAGE_ALLOW_DEMO_ACCOUNTS, 'default-src' in s.CONTENT_SECURITY_POLICY['DIRECTIVES'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env=PROD_ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.split() == ["False", "True", "True", "True", "False", "True"], result.stderr


def test_production_refuses_the_demo_password_for_new_passwords():
    with pytest.raises(ValidationError, match="refusé en production"):
        RefuseDemoPasswordValidator().validate(DEMO_PASSWORD)
    RefuseDemoPasswordValidator().validate("une-autre-phrase-de-passe")


def test_production_never_logs_in_with_the_demo_password(db, settings):
    UserFactory(email="ancien@demo.ancrage.fr", password=DEMO_PASSWORD)
    assert authenticate(username="ancien@demo.ancrage.fr", password=DEMO_PASSWORD) is not None
    settings.ANCRAGE_ALLOW_DEMO_ACCOUNTS = False
    assert authenticate(username="ancien@demo.ancrage.fr", password=DEMO_PASSWORD) is None


def test_passwords_are_hashed_with_argon2_outside_tests():
    from ancrage.config.settings import base

    assert base.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def test_short_passwords_are_refused(db):
    with pytest.raises(ValidationError):
        validate_password("court")


def test_production_requires_the_second_factor_and_throttles_logins():
    code = (
        "from django.conf import settings as s;"
        "print(s.ANCRAGE_REQUIRE_TOTP, s.AXES_ENABLED, s.SESSION_COOKIE_NAME.startswith('__Host-'),"
        " 'unsafe-inline' in str(s.CONTENT_SECURITY_POLICY))"
    )
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env={**PROD_ENV, "ANCRAGE_REQUIRE_TOTP": "0", "AXES_ENABLED": "0"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.split() == ["True", "True", "True", "False"], result.stderr
