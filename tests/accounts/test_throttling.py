"""Login throttling (django-axes): a French lockout page after repeated failures, per account from
any address and per address on any account; password reset requests are throttled too."""

import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from ancrage.organisations.enums import Role
from tests.organisations.factories import MembershipFactory, StructureFactory, UserFactory

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


def test_an_account_is_locked_from_every_address(client, team, axes_on):
    for n in range(3):
        _attempt(client, ANIMATEUR, "mauvais", address=f"198.51.100.{n + 1}")
    # Guessing from several addresses does not get around the count of the account…
    assert _attempt(client, ANIMATEUR, PASSWORD, address="192.0.2.9").status_code == 429
    # …while another person, from another address, still logs in.
    assert _attempt(client, RESPONSABLE, PASSWORD, address="192.0.2.10").status_code == 302


def test_password_spraying_from_one_address_is_blocked(client, team, settings):
    """100 failures over 25 accounts from one address: blocked long before the 30th, at the limit
    of production (not the tests' lower one)."""
    settings.AXES_ENABLED = True
    assert settings.AXES_FAILURE_LIMIT == 5
    accounts = [user.email for user in UserFactory.create_batch(25)]
    blocked_at = None
    for n in range(100):
        response = _attempt(client, accounts[n % 25], "mauvais")
        if response.status_code == 429:
            blocked_at = blocked_at or n + 1
        else:
            assert blocked_at is None, "a blocked address was let through again"
    assert blocked_at is not None and blocked_at < 30, blocked_at
    # Even the right password of an account no one guessed is refused from that address…
    assert _attempt(client, ANIMATEUR, PASSWORD).status_code == 429
    # …while a person on another address still logs in, with an account the spray tried too.
    assert _attempt(client, accounts[0], PASSWORD, address="198.51.100.2").status_code == 302


def test_a_success_does_not_reset_the_count_of_the_address(client, team, axes_on):
    # With one valid account, an attacker could otherwise wipe the count between rounds of guesses.
    _attempt(client, RESPONSABLE, "mauvais")
    _attempt(client, "personne@exemple.fr", "mauvais")
    assert _attempt(client, ANIMATEUR, PASSWORD).status_code == 302
    client.logout()
    assert _attempt(client, "autre@exemple.fr", "mauvais").status_code == 429
    assert _attempt(client, ANIMATEUR, PASSWORD, address="198.51.100.2").status_code == 302


def test_failures_below_the_limit_let_the_person_in(client, team, axes_on):
    email = ANIMATEUR
    _attempt(client, email, "mauvais")
    _attempt(client, email, "mauvais")
    assert _attempt(client, email, PASSWORD).status_code == 302


# --- Password reset ---------------------------------------------------------------------------


@pytest.fixture
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def _reset(client, email, address="203.0.113.7"):
    return client.post(reverse("accounts:password-reset"), {"email": email}, REMOTE_ADDR=address)


@pytest.mark.parametrize("spread", ["same address", "same e-mail"])
def test_fifteen_reset_requests_send_at_most_five_messages(client, team, fresh_cache, spread):
    statuses = []
    for n in range(15):
        if spread == "same address":
            email = (ANIMATEUR, RESPONSABLE)[n] if n < 2 else f"inconnu{n}@exemple.fr"
            statuses.append(_reset(client, email).status_code)
        else:
            statuses.append(_reset(client, ANIMATEUR, address=f"198.51.100.{n + 1}").status_code)
    assert statuses[:5] == [302] * 5 and set(statuses[5:]) == {429}
    assert 1 <= len(mail.outbox) <= 5
    # Another person, from elsewhere, still receives their link.
    other = RESPONSABLE if spread == "same e-mail" else UserFactory().email
    mail.outbox.clear()
    assert _reset(client, other, address="192.0.2.50").status_code == 302
    assert len(mail.outbox) == 1


def test_the_refusal_does_not_tell_whether_the_account_exists(client, team, fresh_cache):
    pages = []
    for email in (ANIMATEUR, "personne@exemple.fr"):
        for n in range(6):
            response = _reset(client, email, address=f"198.51.100.{n + 1}")
        assert response.status_code == 429
        page = response.content.decode().replace(email, "ADRESSE")
        pages.append(re.sub(r'(name="csrfmiddlewaretoken" value=|csp-nonce|nonce=)"[^"]*"', "", page))
    assert "Trop de demandes de nouveau mot de passe" in pages[0]
    assert "Si un compte correspond à cette adresse" in pages[0]
    assert pages[0] == pages[1]
