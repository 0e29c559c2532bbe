"""Data migration ``dossiers/0004``: the budget moves to the action, each dossier keeps its lines."""

from decimal import Decimal

from ancrage.actions.models import ChargeAction, RessourceAction
from ancrage.dossiers.models import LigneCharge, LigneRessource
from tests import migrations
from tests.dossiers.conftest import BUDGET, build_world, new_dossier

BEFORE = [("dossiers", "0003_journal_signature")]


def _old_budget(dossier, animation: str) -> None:
    """A dossier's lines as the dossier held them before the move."""
    dossier.charges.all().delete()
    dossier.ressources.all().delete()
    for i, c in enumerate(BUDGET["charges"]):
        montant = animation if c["libelle"] == "Animation" else c["montant"]
        LigneCharge.objects.create(dossier=dossier, ordre=i, **{**c, "montant": montant})
    for i, r in enumerate(BUDGET["ressources"]):
        LigneRessource.objects.create(dossier=dossier, ordre=i, **r)


def test_each_action_takes_its_latest_dossiers_budget_and_dossiers_keep_theirs(committed_db):
    latest = migrations.latest()
    world = build_world()
    later = new_dossier(world)
    try:
        migrations.migrate(BEFORE)  # going back forgets the action's lines
        assert not ChargeAction.objects.exists() and not RessourceAction.objects.exists()
        _old_budget(world.dossier, "1000")
        _old_budget(later, "1500")
        migrations.migrate(latest)
        assert world.action.budget_summary().charges_cash == Decimal("1500")  # the latest dossier's
        parties = dict(RessourceAction.objects.filter(action=world.action).values_list("libelle", "partie"))
        assert parties == {"Subvention": "collectivite", "Fonds propres": "epn", "Salle": ""}
        kept = LigneCharge.objects.get(dossier=world.dossier, libelle="Animation")
        assert kept.montant == Decimal("1000") and world.dossier.ressources.count() == 3
    finally:
        migrations.migrate(latest)
