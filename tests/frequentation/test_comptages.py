"""The diagnostic's counts: the engine gives the very same result from them as from the
records, at every level and reference year, and they are stored, read back and forgotten."""

import dataclasses
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from ancrage.bench import generator
from ancrage.diagnostic import services as diagnostic_services
from ancrage.diagnostic.engine import run_diagnostic
from ancrage.frequentation import aggregates, comptages, readers, services
from ancrage.frequentation.models import ComptagesDiagnostic, FrequentationImport
from ancrage.territoire import insee
from tests.diagnostic.test_engine import biased_usagers
from tests.organisations.factories import StructureFactory

pytestmark = pytest.mark.demo(conventions=False)  # the demo's conventions are not read here

FIXTURES = Path(__file__).parents[1] / "fixtures"


@pytest.fixture(scope="module")
def population():
    return insee.read_insee(FIXTURES / "insee" / "rennes-iris-2016.csv")


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    out = tmp_path_factory.mktemp("mini")
    generator.generate("mini", out)
    population = insee.read_insee(out / "population.csv")
    usagers = readers.read_usagers(out / "usagers.csv", current_year=generator.REFERENCE_YEAR)
    # Without a visit date, the age is counted at the reference year: a third of the records.
    records = tuple(
        dataclasses.replace(r, premiere_visite=None) if k % 3 == 0 else r
        for k, r in enumerate(usagers.individus)
    )
    return population, dataclasses.replace(usagers, individus=records)


def counted(freq: readers.Frequentation) -> aggregates.FrequentationComptee:
    """The records' counts, computed from their profiles as at import (no database)."""
    profils = aggregates.Profils.from_counts(Counter(services._profile_key(r) for r in freq.individus))
    return aggregates.FrequentationComptee(
        unite=freq.unite,
        source=freq.source,
        fichier=freq.fichier,
        niveau=freq.niveau,
        comptages=lambda year: aggregates.comptages_from_profils(profils, year, readers.parse_age_band),
    )


def quartiers_of(population):
    return {code: f"Q{i % 3}" for i, code in enumerate(population.codes)}


@pytest.mark.parametrize("ages", [None, (15, None), (18, 65)])
@pytest.mark.parametrize("year", [2024, 2031, None])
@pytest.mark.parametrize("niveau", ["iris", "commune", "quartier"])
def test_counts_give_the_records_diagnostic_on_a_generated_tier(mini, niveau, year, ages):
    population, usagers = mini
    # The mini tier has every kind of record: no visit date, an age band only, no sex, no CSP…
    assert any(r.premiere_visite is None for r in usagers.individus)
    assert any(r.annee_naissance is None and r.tranche_age for r in usagers.individus)
    kwargs = {"niveau": niveau, "reference_year": year, "secteurs_qpv": set(population.codes[:2])}
    kwargs["ages"] = ages  # bands straddling the ages served are spread the same way from the counts
    if niveau == "quartier":
        kwargs["quartiers"] = quartiers_of(population)
    assert run_diagnostic(population, counted(usagers), **kwargs) == run_diagnostic(
        population, usagers, **kwargs
    )


@pytest.mark.parametrize(
    ("name", "fmt", "niveau"), [("usagers.csv", "ancrage", "iris"), ("export-coop.xlsx", "coop", "commune")]
)
def test_counts_give_the_records_diagnostic_for_every_individual_source(population, name, fmt, niveau):
    freq = readers.read_frequentation(FIXTURES / "frequentation" / "correct-files" / name, format=fmt)
    for year in (2024, 2010):
        kwargs = {"niveau": niveau, "reference_year": year}
        expected = run_diagnostic(population, freq, **kwargs)
        assert run_diagnostic(population, counted(freq), **kwargs) == expected


def test_counts_round_trip_through_bytes(mini):
    _, usagers = mini
    before = counted(usagers).comptages(2024)
    after = aggregates.Comptages.from_bytes(before.to_bytes())
    assert len(after) == len(before) == len(usagers)
    for name in aggregates.Comptages._ARRAYS:
        np.testing.assert_array_equal(getattr(after, name), getattr(before, name))
    for name in aggregates.Comptages._LABELS + ("reference_year", "age_min"):
        assert getattr(after, name) == getattr(before, name)


def test_empty_counts():
    c = aggregates.comptages_from_profils(aggregates.Profils.from_rows([]), 2024, readers.parse_age_band)
    assert len(c) == 0 and c.iris == () and c.ages.shape == (0, 0)


def test_stored_counts_are_derived_once_and_give_the_same_diagnostic(db, population, mini):
    for pop, freq in ((population, biased_usagers(population)), mini):
        dataset = services.frequentation_import(
            acting_user=None, structure=StructureFactory(), frequentation=freq, sha256="x" * 64
        )
        from_db = comptages.frequentation_comptee(dataset)
        kwargs = {"reference_year": 2024}
        expected = run_diagnostic(pop, freq, **kwargs)
        assert run_diagnostic(pop, from_db, **kwargs) == expected
        assert ComptagesDiagnostic.objects.filter(dataset=dataset).count() == 1
        # The second diagnostic reads the stored arrays: the same result.
        assert run_diagnostic(pop, from_db, **kwargs) == expected
        assert run_diagnostic(pop, services.frequentation_of(dataset), **kwargs) == expected
        run_diagnostic(pop, from_db, reference_year=2030)
        assert ComptagesDiagnostic.objects.filter(dataset=dataset).count() == 2


def test_second_read_is_one_query(db, mini, django_assert_num_queries):
    _, usagers = mini
    dataset = services.frequentation_import(
        acting_user=None, structure=StructureFactory(), frequentation=usagers, sha256="x" * 64
    )
    comptages.comptages_of(dataset, 2024)
    with django_assert_num_queries(1):
        again = comptages.comptages_of(dataset, 2024)
    assert len(again) == len(usagers)


def test_erasure_forgets_the_counts(db, population):
    freq = biased_usagers(population)
    structure = StructureFactory()
    dataset = services.frequentation_import(
        acting_user=None, structure=structure, frequentation=freq, sha256="x" * 64
    )
    assert len(comptages.comptages_of(dataset, 2024)) == len(freq.individus)
    services.usager_erase(acting_user=None, structure=structure, identifiant=freq.individus[0].identifiant)
    assert not ComptagesDiagnostic.objects.filter(dataset=dataset).exists()
    assert len(comptages.comptages_of(dataset, 2024)) == len(freq.individus) - 1


def test_demo_diagnostics_are_unchanged(demo):
    compared = 0
    for dataset in FrequentationImport.objects.exclude(source="agrege").select_related("structure"):
        niveau = "commune" if dataset.niveau == "commune" else "iris"
        try:
            inputs = diagnostic_services.inputs_of(dataset.structure, dataset, niveau)
        except diagnostic_services.DiagnosticImpossible:
            continue  # no population for this EPN
        old = inputs | {"frequentation": services.frequentation_of(dataset)}
        for year in (2024, None):
            assert run_diagnostic(**inputs, reference_year=year) == run_diagnostic(**old, reference_year=year)
        compared += 1
    assert compared
