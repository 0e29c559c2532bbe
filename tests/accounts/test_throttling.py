"""Login throttling (django-axes): a French lockout page after repeated failures."""

import pytest
from django.urls import reverse

from ancrage.organisations.enums import Role
from tests.organisations.factories import MembershipFactory, StructureFactory

PASSWORD = "mot-de-passe-de-test"  # UserFactory's
ANIMATEUR = "animatrice@exemple.fr"
RESPONSABLE = "responsable@exemple.fr"


@pytest.fixture
def team(db):
    """Two people of one EPN: all these tests need."""
    epn = StructureFactory()
    MembershipFactory(user__email=ANIMATEUR, role=Role.ANIMATEUR, structure=epn)
    MembershipFactory(user__email=RESPONSABLE, role=Role.RESPONSABLE, structure=epn)


@pytest.fixture
def axes_on(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3


def _attempt(client, email, password, address="203.0.113.7"):
    return client.post(
        reverse("accounts:login"), {"username": email, "password": password}, REMOTE_ADDR=address
    )


def test_lockout_after_repeated_failures_even_with_the_right_password(client, team, axes_on):
    email = ANIMATEUR
    for _ in range(2):
        assert _attempt(client, email, "mauvais").status_code == 200
    response = _attempt(client, email, "mauvais")
    assert response.status_code == 429
    html = response.content.decode()
    assert "Connexion temporairement bloquée" in html
    assert "réessayez dans 15 minutes" in html
    # Locked out: the right password does not open the account either.
    assert _attempt(client, email, PASSWORD).status_code == 429
    # Case does not get around the count.
    assert _attempt(client, email.upper(), PASSWORD).status_code == 429


def test_lockout_is_per_address_and_account(client, team, axes_on):
    for _ in range(3):
        _attempt(client, ANIMATEUR, "mauvais")
    # The same person from another address, and another person from the same address, may log in.
    assert _attempt(client, ANIMATEUR, PASSWORD, address="198.51.100.2").status_code == 302
    client.logout()
    assert _attempt(client, RESPONSABLE, PASSWORD).status_code == 302


def test_a_success_resets_the_count(client, team, axes_on):
    email = ANIMATEUR
    _attempt(client, email, "mauvais")
    _attempt(client, email, "mauvais")
    assert _attempt(client, email, PASSWORD).status_code == 302
    client.logout()
    _attempt(client, email, "mauvais")
    _attempt(client, email, "mauvais")
    assert _attempt(client, email, PASSWORD).status_code == 302
