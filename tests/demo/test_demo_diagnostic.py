import pytest

from ancrage.demo.diagnostic import BLOSNE_PREFIX, QUARTIERS_PEU_TOUCHES
from ancrage.demo.loader import load_demo
from ancrage.diagnostic.models import Diagnostic
from ancrage.frequentation.models import FrequentationImport
from ancrage.territoire.models import Secteur

pytestmark = pytest.mark.demo(conventions=False)  # the demo's conventions are not read here


def test_demo_diagnostic_flags_the_known_biases(demo):
    diagnostic = Diagnostic.objects.get(titre__startswith="Diagnostic 2024 de l’EPN du Blosne")
    flagged = set(diagnostic.secteurs_sous_frequentes)
    assert flagged and all(code.startswith(QUARTIERS_PEU_TOUCHES) for code in flagged)
    assert not any(code.startswith(BLOSNE_PREFIX) for code in flagged)  # the QPV is well reached
    categories = {
        (c["dimension"], c["categorie"]) for c in diagnostic.resultat["categories"] if c["sous_represente"]
    }
    assert categories == {("age", "60-74"), ("age", "75+")}
    top = diagnostic.cible(1)
    assert top["categorie"] == "60-74" and "seniors" in top["priorites"]
    assert diagnostic.get_absolute_url() == f"/diagnostic/{diagnostic.pk}/"
    assert Secteur.objects.filter(structure=diagnostic.structure, qpv=True).count() == 9
    assert all(f.est_demo for f in FrequentationImport.objects.all())


def test_vitre_has_a_commune_level_diagnostic(demo):
    vitre = Diagnostic.objects.get(structure__nom__contains="Vitré")
    assert vitre.niveau == "commune" and [s["code"] for s in vitre.resultat["secteurs"]] == ["35360"]


def test_demo_loading_stays_idempotent_with_the_diagnostic(demo):
    counts = (Diagnostic.objects.count(), FrequentationImport.objects.count())
    load_demo()
    # Blosne 2023 and 2024, Cesson-Sévigné 2024, Vitré 2024, Villeurbanne 2024 (the map), and the
    # suivi's file and diagnostic after the seniors' workshops.
    assert (Diagnostic.objects.count(), FrequentationImport.objects.count()) == counts == (6, 6)
