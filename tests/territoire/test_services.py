import hashlib
from pathlib import Path

import numpy as np
import pytest
from django.core.exceptions import ValidationError

from ancrage.audit.models import AuditEntry
from ancrage.territoire import insee, services
from ancrage.territoire.models import PopulationImport, PopulationValeurs, Quartier, Secteur
from tests.organisations.factories import StructureFactory

FIXTURES = Path(__file__).parents[1] / "fixtures" / "insee"
RENNES = FIXTURES / "rennes-iris-2016.csv"


def _import(structure, path=RENNES):
    data = path.read_bytes()
    return services.population_import(
        acting_user=None,
        structure=structure,
        population=insee.read_insee(data, path.name),
        fichier=path.name,
        sha256=hashlib.sha256(data).hexdigest(),
    )


@pytest.fixture
def epn(db):
    return StructureFactory()


def test_population_round_trips_through_the_database(epn):
    dataset = _import(epn)
    assert dataset.millesime == 2016 and dataset.nb_secteurs == 84
    assert AuditEntry.objects.filter(action="import", object_id=str(dataset.pk)).exists()
    read = insee.read_insee(RENNES)
    stored = services.population_of(epn)
    assert stored.codes == read.codes
    np.testing.assert_allclose(stored.total, read.total)
    for key, rep in read.repartitions.items():
        assert stored.repartitions[key].categories == rep.categories
        np.testing.assert_allclose(stored.repartitions[key].values, rep.values)
    assert Secteur.objects.filter(structure=epn).count() == 84


def test_same_file_twice_is_refused_and_same_tables_replace(epn):
    _import(epn)
    with pytest.raises(ValidationError, match="déjà été importé"):
        _import(epn)
    # A base with the same tables (a new vintage) replaces the older one.
    data = RENNES.read_bytes().replace(b"P16_", b"P17_").replace(b"C16_", b"C17_")
    services.population_import(
        acting_user=None,
        structure=epn,
        population=insee.read_insee(data, "2017.csv"),
        fichier="2017.csv",
        sha256=hashlib.sha256(data).hexdigest(),
    )
    assert list(PopulationImport.objects.actives().values_list("millesime", flat=True)) == [2017]
    # The replaced base is kept, withdrawn, with its figures: it can be restored.
    assert list(PopulationImport.objects.retirees().values_list("millesime", flat=True)) == [2016]
    assert PopulationValeurs.objects.values("dataset").distinct().count() == 2
    assert services.population_of(epn).millesime == 2017


def test_overseas_and_communes_without_iris_are_stored(epn):
    dataset = _import(epn, FIXTURES / "base-ic-evol-struct-pop-2016-com.xls")
    population = services.population_of(epn)
    assert "975010000" in population.codes and dataset.nb_secteurs == len(population)


def test_qpv_flags_and_unknown_codes(epn):
    _import(epn)
    services.secteurs_set_qpv(acting_user=None, structure=epn, codes=["352381101", "352381102"])
    assert set(Secteur.objects.qpv().values_list("code", flat=True)) == {"352381101", "352381102"}
    with pytest.raises(ValidationError, match="999999999"):
        services.secteurs_set_qpv(acting_user=None, structure=epn, codes=["999999999"])
    assert Secteur.objects.qpv().count() == 2  # the refused call changed nothing


def test_quartiers_group_known_iris_once(epn):
    _import(epn)
    services.quartier_save(acting_user=None, structure=epn, nom="Le Blosne", iris=["352381101", "352381102"])
    with pytest.raises(ValidationError, match="appartient déjà"):
        services.quartier_save(acting_user=None, structure=epn, nom="Autre", iris=["352381101"])
    assert Quartier.objects.get().iris == ["352381101", "352381102"]
    assert "Le Blosne" in services.known_sector_codes(epn)


def test_contours_import_is_all_or_nothing(epn, monkeypatch):
    _import(epn)
    code = Secteur.objects.filter(structure=epn).values_list("code", flat=True).first()
    square = {"type": "Polygon", "coordinates": [[[0, 0], [0, 1], [1, 1], [0, 0]]]}

    def fail(**kwargs):
        raise RuntimeError("audit indisponible")

    monkeypatch.setattr(services, "audit_record", fail)
    with pytest.raises(RuntimeError):
        services.contours_import(
            acting_user=None, structure=epn, contours={code: square}, fichier="c.geojson"
        )
    assert Secteur.objects.get(structure=epn, code=code).contour is None
