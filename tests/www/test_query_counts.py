"""The number of SQL queries of the main pages, kept in a snapshot (``query_counts.json``).

A page that starts querying once per row (an N+1) changes its count and fails here, naming the
page, before anyone notices it slowing down. When a change is meant (a page shows more), refresh
the snapshot on purpose, and say why in the commit:

    ANCRAGE_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/www/test_query_counts.py

The suite itself never writes the snapshot.
"""

import json
import os
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ancrage.accounts.models import User
from ancrage.actions.models import Action
from ancrage.conventions.models import Convention
from ancrage.demo.actions import SENIORS
from ancrage.demo.conventions import SIGNEE
from ancrage.diagnostic.models import Diagnostic
from ancrage.dossiers.models import Dossier
from ancrage.organisations.models import Structure

SNAPSHOT = Path(__file__).with_name("query_counts.json")
UPDATE = os.environ.get("ANCRAGE_UPDATE_SNAPSHOTS") == "1"

# (page, account, URL name, how to find the URL's object, or its kwargs)
PAGES = [
    ("accueil animateur", "animateur", "home:index", None),
    ("accueil référente", "referent", "home:index", None),
    ("accueil partenaire", "partenaire", "home:index", None),
    ("accueil coordinatrice", "coordinateur", "home:index", None),
    ("actions", "animateur", "actions:list", None),
    ("action", "animateur", "actions:detail", lambda: Action.objects.get(titre=SENIORS)),
    ("conventions", "animateur", "conventions:list", None),
    ("convention", "animateur", "conventions:detail", lambda: Convention.objects.get(titre=SIGNEE)),
    ("dossiers", "referent", "dossiers:list", None),
    ("dossier", "referent", "dossiers:detail", lambda: Dossier.objects.order_by("pk").first()),
    (
        "diagnostic du lieu",
        "animateur",
        "diagnostic:epn",
        lambda: {"structure_id": Structure.objects.get(nom="EPN du Blosne (démo)").pk},
    ),
    (
        "diagnostic enregistré",
        "animateur",
        "diagnostic:detail",
        lambda: Diagnostic.objects.get(titre__startswith="Diagnostic 2024 de l’EPN du Blosne"),
    ),
    ("partenaires", "animateur", "partenaires:list", None),
    ("suivi", "animateur", "suivi:index", None),
    ("structures", "coordinateur", "structures:list", None),
    (
        "structure",
        "coordinateur",
        "structures:detail",
        lambda: Structure.objects.get(nom="EPN du Blosne (démo)"),
    ),
    ("journal", "responsable", "journal:list", None),
    # Each EPN's figures through its own pages' selectors: a fixed number of queries per EPN.
    ("tableau du réseau", "coordinateur", "reseau:tableau", None),
]


def _count(client, account, name, target) -> int:
    client.force_login(User.objects.get(email=f"{account}@demo.ancrage.fr"))
    found = target() if target else {}
    url = reverse(name, kwargs=found if isinstance(found, dict) else {"pk": found.pk})
    client.get(url)  # caches (menus, rendered results) warm, as for a person's second visit
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    return len(queries)


@pytest.fixture(scope="module")
def snapshot():
    expected = json.loads(SNAPSHOT.read_text(encoding="utf-8")) if SNAPSHOT.exists() else {}
    measured = {}
    yield expected, measured
    if UPDATE:
        SNAPSHOT.write_text(
            json.dumps(dict(sorted(measured.items())), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )


@pytest.mark.parametrize(("page", "account", "name", "target"), PAGES, ids=[p[0] for p in PAGES])
def test_query_count_of_main_pages(client, demo, snapshot, page, account, name, target):
    expected, measured = snapshot
    measured[page] = _count(client, account, name, target)
    if UPDATE:
        return
    assert page in expected, f"« {page} » n'a pas de nombre de requêtes : voir la docstring du module"
    assert measured[page] == expected[page], (
        f"« {page} » fait {measured[page]} requêtes SQL, le relevé en attend {expected[page]} "
        "(une requête par ligne ?). Si le changement est voulu, voir la docstring du module."
    )


def test_the_snapshot_lists_exactly_the_pages():
    assert sorted(json.loads(SNAPSHOT.read_text(encoding="utf-8"))) == sorted(p[0] for p in PAGES)
