"""Logging demo accounts in through the real forms, second factor included."""

import time

from django.urls import reverse
from django_otp.oath import totp

from ancrage.accounts.second_factor import DEMO_TOTP_KEY_HEX
from ancrage.accounts.validators import DEMO_PASSWORD


def demo_code(offset_steps: int = 0) -> str:
    """The current code of the demo key, as an authenticator app would show it."""
    return f"{totp(bytes.fromhex(DEMO_TOTP_KEY_HEX), t0=0, step=30, digits=6, drift=offset_steps):06d}"


def code_for(device) -> str:
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift)
    return f"{code:06d}"


def login_with_second_factor(client, email: str):
    """Password, then the demo TOTP code: what a référent does with the demo."""
    response = client.post(
        reverse("accounts:login"), {"username": email, "password": DEMO_PASSWORD}, follow=True
    )
    if response.redirect_chain and reverse("accounts:second-factor") in response.redirect_chain[-1][0]:
        response = client.post(
            response.redirect_chain[-1][0], {"token": demo_code(), "next": reverse("home:index")}, follow=True
        )
    return response


def wait_next_step():
    """TOTP refuses a code already used in the same 30-second step."""
    time.sleep(30 - time.time() % 30 + 0.1)
