from types import SimpleNamespace

import pytest

from ancrage.accounts.models import User
from ancrage.actions import selectors
from ancrage.actions.models import Action, Decision, Seance
from ancrage.demo import actions as demo_actions
from ancrage.organisations.models import Structure
from ancrage.partenaires.models import Partenaire

pytestmark = pytest.mark.django_db


def test_demo_actions_show_partners_matrices_sessions_and_meetings(demo):
    blosne_actions = Action.objects.filter(structure__nom="EPN du Blosne (démo)")
    assert blosne_actions.count() >= 2
    assert all(action.partenaires.count() >= 2 for action in blosne_actions)
    assert any(selectors.matrix_warnings(action) for action in blosne_actions)
    assert Seance.objects.count() >= 5 and Decision.objects.filter(tache__gt="").exists()
    assert all("(démo)" in action.titre for action in Action.objects.all())
    # Five directory entries, and the Blosne EPN's own place (its record in the standard).
    assert Partenaire.objects.exclude(structure__kind="epn").count() == 5
    assert list(
        Partenaire.objects.filter(structure__kind="epn").values_list("structure__nom", flat=True)
    ) == ["EPN du Blosne (démo)"]


def test_the_demo_module_is_idempotent(demo):
    counts = (Action.objects.count(), Partenaire.objects.count(), Seance.objects.count())
    world = SimpleNamespace(
        blosne=Structure.objects.get(nom="EPN du Blosne (démo)"),
        vitre_epn=Structure.objects.get(nom="Espace numérique de Vitré (démo)"),
        partners={s.nom: s for s in Structure.objects.filter(kind="partenaire")},
        users={u.email.split("@")[0]: u for u in User.objects.all()},
    )
    demo_actions.load(world)
    assert (Action.objects.count(), Partenaire.objects.count(), Seance.objects.count()) == counts
