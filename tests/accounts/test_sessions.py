"""Sessions end after SESSION_COOKIE_AGE and after a period of inactivity."""

from django.urls import reverse

from ancrage.accounts.middleware import LAST_SEEN_KEY
from tests.organisations.factories import UserFactory


def test_idle_session_is_logged_out(client, db, settings):
    settings.ANCRAGE_SESSION_IDLE_TIMEOUT = 600
    client.force_login(UserFactory())
    assert client.get(reverse("home:index")).status_code == 200
    session = client.session
    session[LAST_SEEN_KEY] -= 601
    session.save()
    response = client.get(reverse("structures:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert "expiré" in client.get(response["Location"]).content.decode()
    assert client.get(reverse("home:index")).status_code == 302


def test_active_session_stays(client, db, settings):
    settings.ANCRAGE_SESSION_IDLE_TIMEOUT = 600
    client.force_login(UserFactory())
    client.get(reverse("home:index"))
    session = client.session
    session[LAST_SEEN_KEY] -= 500
    session.save()
    assert client.get(reverse("home:index")).status_code == 200


def test_session_settings():
    from django.conf import settings

    assert settings.SESSION_COOKIE_AGE <= 8 * 3600
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
    assert 0 < settings.ANCRAGE_SESSION_IDLE_TIMEOUT <= 3600
