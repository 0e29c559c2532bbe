from pathlib import Path

import pytest
from django.core.management import call_command

from ancrage.accounts.models import User
from ancrage.demo.loader import DEMO_ACCOUNTS, load_demo
from ancrage.organisations.models import Collectivite, Structure

README = Path(__file__).resolve().parents[2] / "README.md"


def test_loading_twice_changes_nothing(db):
    assert load_demo() is True
    counts = (User.objects.count(), Structure.objects.count(), Collectivite.objects.count())
    assert load_demo() is False
    assert (User.objects.count(), Structure.objects.count(), Collectivite.objects.count()) == counts


def test_demo_has_four_epns_in_three_collectivites_and_real_communes(db):
    load_demo()
    epns = Structure.objects.filter(kind="epn")
    # Rennes and Cesson-Sévigné (both Rennes Métropole's), Vitré, and Villeurbanne for the map.
    assert epns.count() == 4
    assert epns.values("collectivite").distinct().count() == 3
    rennes_metropole = Collectivite.objects.get(code="243500139")
    assert rennes_metropole.nom == "Rennes Métropole"
    assert len(rennes_metropole.communes()) == 43
    # Made-up records say so in their name.
    assert all("(démo)" in s.nom for s in Structure.objects.all())


def test_every_demo_account_is_in_the_readme(db):
    readme = README.read_text(encoding="utf-8")
    for email, _ in DEMO_ACCOUNTS:
        assert email in readme


def test_demo_command_without_serving_prints_the_accounts(db, capsys):
    call_command("demo", "--no-serve")
    out = capsys.readouterr().out
    assert "demo-ancrage" in out
    for email, _ in DEMO_ACCOUNTS:
        assert email in out


def test_demo_command_is_refused_in_production(db, settings):
    from django.core.management.base import CommandError

    settings.ANCRAGE_ALLOW_DEMO_ACCOUNTS = False
    with pytest.raises(CommandError, match="production"):
        call_command("demo", "--no-serve")
