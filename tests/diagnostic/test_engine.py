"""The whole diagnostic on the real Rennes population with made-up, deliberately biased attendance."""

from pathlib import Path

import numpy as np
import pytest

from ancrage.diagnostic.engine import DiagnosticImpossible, run_diagnostic
from ancrage.frequentation import readers
from ancrage.territoire import insee

FIXTURES = Path(__file__).parents[1] / "fixtures"
HEADER = ";".join(readers.USAGERS_COLUMNS)
BANDS = ((0, 15), (15, 30), (30, 45), (45, 60), (60, 75), (75, 95))
OMITTED_IRIS = ("352380901", "352380902", "352380903", "352380904")  # one grand quartier (0901-0904)
RATE = 0.02


@pytest.fixture(scope="module")
def population():
    return insee.read_insee(FIXTURES / "insee" / "rennes-iris-2016.csv")


def biased_usagers(population, seed=3):
    """Users drawn from the real population at 2 %, leaving out one quartier and everyone aged 60+."""
    rng = np.random.default_rng(seed)
    ages = population.repartitions["age_large"].values
    lines, k = [HEADER], 0
    for i, code in enumerate(population.codes):
        if code in OMITTED_IRIS:
            continue
        for j, (low, high) in enumerate(BANDS):
            if low >= 60:
                continue
            for _ in range(rng.poisson(ages[i, j] * RATE)):
                k += 1
                age = int(rng.integers(low, high))
                lines.append(f"u{k};{2024 - age};;{'FH'[k % 2]};;;{code};;2024-06-01;")
    return readers.read_usagers(
        "\n".join(lines).encode(), "usagers.csv", secteurs_connus=set(population.codes)
    )


@pytest.fixture(scope="module")
def result(population):
    return run_diagnostic(population, biased_usagers(population), secteurs_qpv={"352380902"})


def test_json_shape(result):
    # Backward compatible: the historical fields stay, new ones are added.
    assert {"secteurs", "categories", "cibles", "unite"} <= set(result) and result["unite"] == "personnes"
    assert {"public", "methode", "non_places", "iris_convertis"} <= set(result)
    assert result["non_places"] == dict.fromkeys(result["non_places"], 0)  # every user placed
    assert set(result["secteurs"][0]) >= {
        "code",
        "nom",
        "population",
        "usagers",
        "taux_pour_mille",
        "ic95",
        "ratio_standardise",
        "sous_frequente",
    }
    assert set(result["categories"][0]) >= {
        "dimension",
        "categorie",
        "population",
        "usagers",
        "part_population",
        "part_usagers",
        "indice_representation",
        "ic95",
        "sous_represente",
        "usagers_manquants",
        "approximation",
    }
    assert {"rang", "dimension", "categorie", "secteur", "priorites", "score", "explication"} <= set(
        result["cibles"][0]
    )


def test_finds_exactly_the_omitted_sectors(result):
    flagged = {s["code"] for s in result["secteurs"] if s["sous_frequente"]}
    assert flagged == set(OMITTED_IRIS)


def test_finds_exactly_the_omitted_categories(result):
    flagged = {(c["dimension"], c["categorie"]) for c in result["categories"] if c["sous_represente"]}
    assert flagged == {("age", "60-74"), ("age", "75+")}


def test_targets_only_point_at_the_omissions(result):
    for cible in result["cibles"]:
        assert cible["secteur"] in OMITTED_IRIS or cible["categorie"] in ("60-74", "75+")
    top = result["cibles"][0]
    assert top["rang"] == 1 and top["categorie"] == "60-74" and "seniors" in top["priorites"]
    assert "usagers de plus parmi les personnes de 60 à 74 ans" in top["explication"]
    qpv = [c for c in result["cibles"] if c["secteur"] == "352380902"]
    assert qpv and all("politique de la ville" in c["priorites"] for c in qpv)


def test_counts_and_rates_match_an_independent_computation(population, result):
    freq = biased_usagers(population)
    by_iris = {}
    for u in freq.individus:
        by_iris[u.code_iris] = by_iris.get(u.code_iris, 0) + 1
    with open(FIXTURES / "insee" / "rennes-iris-2016.csv", encoding="utf-8") as f:
        header = f.readline().strip().split(",")
        pops = {}
        for line in f:
            cells = line.strip().split(",")
            pops[cells[1]] = sum(
                float(cells[header.index(f"P16_POP{b}")])
                for b in ("0014", "1529", "3044", "4559", "6074", "75P")
            )
    for s in result["secteurs"]:
        assert s["usagers"] == by_iris.get(s["code"], 0)
        assert s["population"] == pytest.approx(pops[s["code"]], abs=0.05)
        assert s["taux_pour_mille"] == pytest.approx(
            1000 * by_iris.get(s["code"], 0) / pops[s["code"]], abs=0.005
        )
    ages = [2024 - u.annee_naissance for u in freq.individus]
    young = next(c for c in result["categories"] if c["categorie"] == "15-29")
    assert young["usagers"] == sum(15 <= a < 30 for a in ages)
    assert young["part_usagers"] == pytest.approx(young["usagers"] / len(ages), abs=5e-5)


def test_unbiased_attendance_flags_nothing(population):
    rng = np.random.default_rng(7)
    ages = population.repartitions["age_large"].values
    lines, k = [HEADER], 0
    for i, code in enumerate(population.codes):
        for j, (low, high) in enumerate(BANDS):
            for _ in range(rng.poisson(ages[i, j] * RATE)):
                k += 1
                lines.append(f"u{k};{2024 - int(rng.integers(low, high))};;;;;{code};;2024-06-01;")
    out = run_diagnostic(population, readers.read_usagers("\n".join(lines).encode(), "u.csv"))
    assert not any(s["sous_frequente"] for s in out["secteurs"])
    assert not any(c["sous_represente"] for c in out["categories"])
    assert out["cibles"] == []


def test_three_users_flag_nothing(population):
    rows = ["u1;1990;;H;;;352380101;;2024-01-01;", "u2;1991;;H;;;352380101;;2024-01-01;"]
    content = "\n".join([HEADER, *rows, "u3;1992;;H;;;352380102;;2024-01-01;"])
    out = run_diagnostic(population, readers.read_usagers(content.encode(), "u.csv"))
    assert not any(s["sous_frequente"] for s in out["secteurs"]) and out["cibles"] == []


def test_coop_export_at_commune_level_is_in_accompaniments(population):
    coop = readers.read_coop_export(FIXTURES / "frequentation" / "correct-files" / "export-coop.xlsx")
    with pytest.raises(DiagnosticImpossible, match="niveau « commune »"):
        run_diagnostic(population, coop)
    out = run_diagnostic(population, coop, niveau="commune")
    assert out["unite"] == "accompagnements"
    assert [(s["code"], s["usagers"]) for s in out["secteurs"]] == [("35238", 4)]
    ages = [c for c in out["categories"] if c["dimension"] == "age"]
    assert [c["categorie"] for c in ages] == ["0-11", "12-17", "18-24", "25-39", "40-59", "60-69", "70+"]
    assert all(c["approximation"] for c in ages)


def test_aggregated_counts(population):
    freq = readers.read_aggregated(FIXTURES / "frequentation" / "correct-files" / "agrege.csv")
    out = run_diagnostic(population, freq)
    by_code = {s["code"]: s["usagers"] for s in out["secteurs"]}
    assert by_code["352380101"] == 40 and by_code["352380102"] == 15
    assert {c["dimension"] for c in out["categories"]} == {"age", "csp"}


def test_the_garbage_collector_is_only_paused_while_building_the_sectors(population):
    """Switched off around the sectors' dicts, back on afterwards, even after an error, and left
    off when it already was."""
    import gc

    from ancrage.diagnostic.engine import gc_paused

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert run_diagnostic(population, biased_usagers(population))["secteurs"]
    assert gc.isenabled()
