"""Ancrage's own French error pages, debug off unless asked for, and a CSP nonce that holds."""

import os
import re
import subprocess
import sys

import pytest
from django.test import RequestFactory
from django.views.defaults import server_error

from ancrage.dossiers.models import Dossier
from tests.demo_accounts import login

pytestmark = pytest.mark.demo(conventions=False)


def test_a_missing_page_answers_the_french_404(client):
    response = client.get("/cette-page-n-existe-pas/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "<h1>Page introuvable</h1>" in html
    assert "Erreur 404" in html
    assert "Revenir au tableau de bord" in html
    assert "URLconf" not in html and "Page not found" not in html


def test_a_partner_opening_a_dossier_it_may_not_see_gets_the_french_page(demo, client):
    dossier = Dossier.objects.get(titre__contains="Vitré")
    login(client, "partenaire")
    response = client.get(f"/dossiers/{dossier.pk}/")
    assert response.status_code in (403, 404)
    html = response.content.decode()
    assert re.search(r"<h1>(Page introuvable|Accès refusé)</h1>", html), html[:500]
    assert "Traceback" not in html and "URLconf" not in html


def test_the_500_page_is_french_and_needs_no_request_context():
    # No database here (the test asks for none: a query would raise), no user, no session:
    # Django renders 500.html with an empty context, and it must stand on its own.
    request = RequestFactory().get("/une-page/")
    response = server_error(request)
    assert response.status_code == 500
    html = response.content.decode()
    assert "<h1>Erreur inattendue</h1>" in html
    assert "/static/dsfr/dist/dsfr/dsfr.min.css" in html


def test_the_csp_carries_the_nonce_of_the_page_s_scripts(client):
    response = client.get("/compte/connexion/")
    policy = response["Content-Security-Policy"]
    script_src = next(d for d in policy.split(";") if d.strip().startswith("script-src"))
    assert "'nonce'" not in script_src
    nonce = re.search(r"'nonce-([A-Za-z0-9+/=]+)'", script_src)
    assert nonce, policy
    scripts = re.findall(r"<script\b[^>]*>", response.content.decode())
    assert scripts
    for script in scripts:
        assert f'nonce="{nonce[1]}"' in script, script


@pytest.mark.parametrize(("environment", "expected"), [({}, "False"), ({"ANCRAGE_DEBUG": "1"}, "True")])
def test_the_demo_runs_with_debug_off_unless_a_developer_asks(environment, expected, tmp_path):
    # A DEBUG variable left in a shell does not turn it on: only ANCRAGE_DEBUG does.
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "ANCRAGE_DEBUG")}
    env |= {"DJANGO_SETTINGS_MODULE": "ancrage.config.settings.dev", "DEBUG": "1", **environment}
    env["ANCRAGE_VAR_DIR"] = str(tmp_path)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings as s; print(s.DEBUG)",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected
