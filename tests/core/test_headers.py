"""Every response, static files and errors included, carries a Permissions-Policy header."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path", [reverse("accounts:login"), "/page-qui-n-existe-pas/", "/static/ancrage/ancrage.css"]
)
def test_permissions_policy_on_every_response(client, path):
    response = client.get(path)
    if response.streaming:
        # Drained, the test client closes it (and the static file it streams), as a server would.
        assert b"".join(response.streaming_content)
    policy = response.headers["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in policy
