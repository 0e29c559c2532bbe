"""TOTP: référents, élus and coordinateurs enrol, then give a code after their password."""

import base64
import re

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from ancrage.accounts.second_factor import DEMO_TOTP_KEY_BASE32, DEMO_TOTP_KEY_HEX, TOTP_ROLES
from ancrage.accounts.validators import DEMO_PASSWORD
from ancrage.audit.models import AuditEntry
from ancrage.organisations.enums import Role
from tests.accounts.helpers import code_for, demo_code, login_with_second_factor
from tests.organisations.factories import CollectiviteFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.demo(conventions=False)  # the demo's conventions are not read here


@pytest.fixture
def totp_on(settings):
    settings.ANCRAGE_REQUIRE_TOTP = True


def test_the_documented_demo_key_is_the_one_used():
    assert base64.b32decode(DEMO_TOTP_KEY_BASE32).hex() == DEMO_TOTP_KEY_HEX
    assert TOTP_ROLES == {Role.REFERENT, Role.ELU, Role.COORDINATEUR}


def test_demo_loader_enrols_the_roles_that_need_it(demo):
    enrolled = set(TOTPDevice.objects.filter(confirmed=True).values_list("user__email", flat=True))
    assert enrolled == {"referent@demo.ancrage.fr", "elu@demo.ancrage.fr", "coordinateur@demo.ancrage.fr"}


@pytest.mark.parametrize(
    "email", ["referent@demo.ancrage.fr", "elu@demo.ancrage.fr", "coordinateur@demo.ancrage.fr"]
)
def test_password_alone_does_not_open_any_page(client, demo, totp_on, email):
    response = client.post(
        reverse("accounts:login"), {"username": email, "password": DEMO_PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0].startswith(reverse("accounts:second-factor"))
    for name in ("home:index", "structures:list", "journal:list", "accounts:invitations"):
        response = client.get(reverse(name))
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("accounts:second-factor")), name


@pytest.mark.parametrize(
    "email", ["referent@demo.ancrage.fr", "elu@demo.ancrage.fr", "coordinateur@demo.ancrage.fr"]
)
def test_demo_flow_with_the_demo_code_lands_on_home(client, demo, totp_on, email):
    response = login_with_second_factor(client, email)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("home:index")
    assert client.get(reverse("structures:list")).status_code == 200


def test_a_wrong_code_is_refused_in_french(client, demo, totp_on):
    client.post(reverse("accounts:login"), {"username": "elu@demo.ancrage.fr", "password": DEMO_PASSWORD})
    wrong = f"{(int(demo_code()) + 1) % 1_000_000:06d}"
    response = client.post(reverse("accounts:second-factor"), {"token": wrong})
    assert response.status_code == 200
    assert "Ce code n’est pas valide" in response.content.decode()
    assert client.get(reverse("home:index")).status_code == 302


def test_other_roles_are_not_asked(client, demo, totp_on):
    response = client.post(
        reverse("accounts:login"),
        {"username": "animateur@demo.ancrage.fr", "password": DEMO_PASSWORD},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("home:index")


def test_without_the_setting_nobody_is_asked(client, demo, settings):
    settings.ANCRAGE_REQUIRE_TOTP = False
    response = client.post(
        reverse("accounts:login"),
        {"username": "referent@demo.ancrage.fr", "password": DEMO_PASSWORD},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("home:index")


def test_a_new_referent_enrols_with_a_qr_code_drawn_locally(client, db, totp_on):
    user = UserFactory()
    MembershipFactory(user=user, role=Role.REFERENT, structure=None, collectivite=CollectiviteFactory())
    client.force_login(user)
    response = client.get(reverse("home:index"))
    assert response["Location"].startswith(reverse("accounts:second-factor-enrol"))
    page = client.get(response["Location"])
    html = page.content.decode()
    assert 'src="data:image/svg+xml;base64,' in html
    assert "<script" not in html.split("<footer")[0].split("</header>")[-1]
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    key = re.search(r'<code id="cle-totp">([A-Z2-7]+)</code>', html).group(1)
    assert base64.b32decode(key).hex() == device.key
    # Reloading the page keeps the same key: the app the person already scanned stays valid.
    client.get(reverse("accounts:second-factor-enrol"))
    assert TOTPDevice.objects.filter(user=user).count() == 1

    response = client.post(reverse("accounts:second-factor-enrol"), {"token": code_for(device), "next": "/"})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("home:index")).status_code == 200
    assert AuditEntry.objects.filter(object_type="otp_totp.totpdevice", actor=user).count() == 2


def test_enrolment_refuses_a_wrong_code(client, db, totp_on):
    user = UserFactory(is_superuser=True)
    client.force_login(user)
    client.get(reverse("accounts:second-factor-enrol"))
    device = TOTPDevice.objects.get(user=user)
    wrong = f"{(int(code_for(device)) + 1) % 1_000_000:06d}"
    response = client.post(reverse("accounts:second-factor-enrol"), {"token": wrong})
    assert "Ce code n’est pas valide" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed


def test_next_is_kept_and_outside_urls_are_ignored(client, demo, totp_on):
    client.post(reverse("accounts:login"), {"username": "elu@demo.ancrage.fr", "password": DEMO_PASSWORD})
    response = client.post(
        reverse("accounts:second-factor"), {"token": demo_code(), "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("home:index")
