"""Login throttling (django-axes): a French lockout page after repeated failures."""

import pytest
from django.urls import reverse

from ancrage.accounts.validators import DEMO_PASSWORD


@pytest.fixture
def axes_on(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3


def _attempt(client, email, password, address="203.0.113.7"):
    return client.post(
        reverse("accounts:login"), {"username": email, "password": password}, REMOTE_ADDR=address
    )


def test_lockout_after_repeated_failures_even_with_the_right_password(client, demo, axes_on):
    email = "animateur@demo.ancrage.fr"
    for _ in range(2):
        assert _attempt(client, email, "mauvais").status_code == 200
    response = _attempt(client, email, "mauvais")
    assert response.status_code == 429
    html = response.content.decode()
    assert "Connexion temporairement bloquée" in html
    assert "réessayez dans 15 minutes" in html
    # Locked out: the right password does not open the account either.
    assert _attempt(client, email, DEMO_PASSWORD).status_code == 429
    # Case does not get around the count.
    assert _attempt(client, email.upper(), DEMO_PASSWORD).status_code == 429


def test_lockout_is_per_address_and_account(client, demo, axes_on):
    for _ in range(3):
        _attempt(client, "animateur@demo.ancrage.fr", "mauvais")
    # The same person from another address, and another person from the same address, may log in.
    assert (
        _attempt(client, "animateur@demo.ancrage.fr", DEMO_PASSWORD, address="198.51.100.2").status_code
        == 302
    )
    client.logout()
    assert _attempt(client, "responsable@demo.ancrage.fr", DEMO_PASSWORD).status_code == 302


def test_a_success_resets_the_count(client, demo, axes_on):
    email = "animateur@demo.ancrage.fr"
    _attempt(client, email, "mauvais")
    _attempt(client, email, "mauvais")
    assert _attempt(client, email, DEMO_PASSWORD).status_code == 302
    client.logout()
    _attempt(client, email, "mauvais")
    _attempt(client, email, "mauvais")
    assert _attempt(client, email, DEMO_PASSWORD).status_code == 302
