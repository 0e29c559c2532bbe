"""Population imports: communes outside the collectivité, what a replacement changes, withdrawal
and restoration of a base (kept with its figures), vintages."""

import hashlib
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from ancrage.audit.models import AuditEntry
from ancrage.territoire import insee, services
from ancrage.territoire.models import PopulationImport
from tests.organisations.factories import CollectiviteFactory, StructureFactory

FIXTURES = Path(__file__).parents[1] / "fixtures" / "insee"
RENNES = FIXTURES / "rennes-iris-2016.csv"
ILLE_ET_VILAINE = FIXTURES / "ille-et-vilaine-extrait-2016.csv"
PARIS_EMPLOI = FIXTURES / "paris-emploi-2015-extrait.csv"


def _import(structure, path):
    data = path.read_bytes()
    return services.population_import(
        acting_user=None,
        structure=structure,
        population=insee.read_insee(data, path.name),
        fichier=path.name,
        sha256=hashlib.sha256(data).hexdigest(),
    )


@pytest.fixture
def blosne(db):
    """An EPN of Rennes Métropole whose base is Rennes's 84 IRIS (as the demo's EPN du Blosne)."""
    epn = StructureFactory(collectivite=CollectiviteFactory(rennes_metropole=True))
    _import(epn, RENNES)
    return epn


def test_the_departement_file_keeps_the_collectivite_s_communes_and_lists_the_others(blosne):
    plan = services.population_plan(blosne, insee.read_insee(ILLE_ET_VILAINE))
    assert set(plan.population.communes) == {"35238", "35047", "35051"}
    assert {c: (nom, n) for c, (nom, n, _) in plan.ignorees.items()} == {
        "35093": ("Dinard", 4),
        "35136": ("Janzé", 2),
        "35288": ("Saint-Malo", 20),
    }
    assert [p.fichier for p in plan.remplacees] == ["rennes-iris-2016.csv"]
    changes = plan.changements()
    assert changes["communes_ajoutees"] == {"35047": "Bruz", "35051": "Cesson-Sévigné"}
    assert changes["communes_retirees"] == {}
    assert (changes["iris_ajoutes"], changes["iris_retires"]) == (11, 84 - 6)
    assert changes["population_apres"] < changes["population_avant"]

    dataset = _import(blosne, ILLE_ET_VILAINE)
    population = services.population_of(blosne)
    assert not {"35288", "35136", "35093"} & set(population.communes)  # no Saint-Malo target
    assert sorted(dataset.communes_ignorees) == ["35093", "35136", "35288"]
    entry = AuditEntry.objects.get(action="import", object_id=str(dataset.pk))
    assert entry.changes["communes_ignorees"] == ["35093", "35136", "35288"]


def test_a_replaced_base_is_kept_and_restored_and_a_base_is_withdrawn(blosne):
    rennes = PopulationImport.objects.get(structure=blosne)
    ille = _import(blosne, ILLE_ET_VILAINE)
    rennes.refresh_from_db()
    assert rennes.retiree_le is not None
    services.population_restore(acting_user=None, dataset=rennes)
    assert len(services.population_of(blosne)) == 84
    ille.refresh_from_db()
    assert ille.retiree_le is not None  # withdrawn in its place, restorable in turn
    services.population_delete(acting_user=None, dataset=rennes)
    assert services.population_of(blosne) is None
    with pytest.raises(ValidationError, match="déjà retirée"):
        services.population_delete(acting_user=None, dataset=PopulationImport.objects.get(pk=rennes.pk))
    assert AuditEntry.objects.filter(action="delete", object_id=str(rennes.pk)).exists()
    with pytest.raises(ValidationError, match="rétablissez-le"):
        _import(blosne, RENNES)


def test_a_file_with_no_iris_in_the_collectivite_is_refused(db):
    vitre = StructureFactory(collectivite=CollectiviteFactory(vitre=True))
    with pytest.raises(ValidationError, match="Aucun IRIS de ce fichier"):
        services.population_plan(vitre, insee.read_insee(RENNES))


def test_a_base_of_another_vintage_than_the_kept_ones_is_refused(db):
    paris = StructureFactory()  # no collectivité: no restriction
    _import(paris, RENNES)  # ages and CSP, 2016
    with pytest.raises(ValidationError, match="millésime 2015"):
        _import(paris, PARIS_EMPLOI)  # activity, 2015: kept beside a 2016 base, refused
    assert PopulationImport.objects.filter(structure=paris).count() == 1


def test_attendance_in_communes_no_longer_in_the_base_is_counted_not_dropped(blosne):
    """399 accompaniments, 111 of them in Bruz and 88 in Cesson-Sévigné: when the base goes back
    to Rennes alone, the diagnostic places 200 and reports the 199 others « hors territoire »."""
    from ancrage.diagnostic import services as diagnostic_services
    from ancrage.frequentation import readers
    from ancrage.frequentation import services as frequentation_services

    rennes = PopulationImport.objects.get(structure=blosne)
    _import(blosne, ILLE_ET_VILAINE)
    data = b"code_secteur;dimension;categorie;usagers\n35238;total;;200\n35047;total;;111\n35051;total;;88\n"
    counts = readers.read_aggregated(
        data, "coop.csv", secteurs_connus=services.known_sector_codes(blosne), unite="accompagnements"
    )
    dataset = frequentation_services.frequentation_import(
        acting_user=None, structure=blosne, frequentation=counts, sha256="1" * 64
    )
    before = diagnostic_services.diagnostic_compute(
        acting_user=None, structure=blosne, frequentation=dataset, niveau="commune"
    )
    assert sum(s["usagers"] for s in before.resultat["secteurs"]) == 399
    services.population_restore(acting_user=None, dataset=rennes)
    after = diagnostic_services.diagnostic_compute(
        acting_user=None, structure=blosne, frequentation=dataset, niveau="commune"
    )
    assert sum(s["usagers"] for s in after.resultat["secteurs"]) == 200
    assert after.resultat["non_places"]["hors_territoire"] == 199
