"""The second factor (TOTP, django-otp): who must use one, and the enrolment QR code.

After their password, the people who examine, sign or oversee (référents, élus, coordinateurs)
and superusers must enter a code from an authenticator app, or enrol one first, before any other
page (``ancrage.accounts.middleware.SecondFactorMiddleware``). ``ANCRAGE_REQUIRE_TOTP`` turns this
on; production always has it on.
"""

import base64
import io
from binascii import unhexlify

import qrcode
import qrcode.image.svg
from django.conf import settings
from django_otp.plugins.otp_totp.models import TOTPDevice

from ancrage.organisations.permissions import SECOND_FACTOR_ROLES
from ancrage.organisations.scoping import scope_for

TOTP_ROLES = SECOND_FACTOR_ROLES

# The demo accounts of those roles are enrolled with this public key (README), so that a demo run
# with ANCRAGE_REQUIRE_TOTP=1 works with any authenticator app. In base32, as apps want it:
DEMO_TOTP_KEY_BASE32 = "MFXGG4TBM5SS2ZDFNVXS2YLOMNZGCZ3F"  # "ancrage-demo-ancrage" encoded
DEMO_TOTP_KEY_HEX = base64.b32decode(DEMO_TOTP_KEY_BASE32).hex()


def second_factor_required(user) -> bool:
    if not settings.ANCRAGE_REQUIRE_TOTP or user is None or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return bool(scope_for(user).roles & TOTP_ROLES)


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


def key_base32(device: TOTPDevice) -> str:
    return base64.b32encode(unhexlify(device.key)).decode()


def qr_code_data_uri(device: TOTPDevice) -> str:
    """The otpauth:// URL as an SVG QR code, in a data: URI (the CSP allows data: images only)."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=12)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()
