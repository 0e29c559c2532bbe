"""The synthetic territories are deterministic and read by the real readers."""

import dataclasses

import numpy as np

from ancrage.bench import generator
from ancrage.diagnostic.engine import run_diagnostic
from ancrage.frequentation.readers import read_coop_export, read_usagers
from ancrage.territoire.insee import IRIS_RE, read_insee


def test_same_seed_same_files(tmp_path):
    a = generator.generate("mini", tmp_path / "a")
    b = generator.generate("mini", tmp_path / "b")
    assert a == b
    for name in ("population.csv", "usagers.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    c = generator.generate("mini", tmp_path / "c", seed=7)
    assert (tmp_path / "c" / "usagers.csv").read_bytes() != (tmp_path / "a" / "usagers.csv").read_bytes()
    assert c["usagers"] == a["usagers"] == generator.TIERS["mini"].usagers


def test_files_are_read_by_the_real_readers_and_the_diagnostic_finds_the_gaps(tmp_path):
    # The commune tier without its La Coop workbook (slow to write and read); "mini" checks that one.
    manifest = generator.generate(dataclasses.replace(generator.TIERS["commune"], coop=False), tmp_path)
    population = read_insee(tmp_path / "population.csv")
    assert len(population) == 50 and manifest["communes"] > 1
    assert all(IRIS_RE.match(code) for code in population.codes)
    assert {"age_large", "sexe", "csp"} <= set(population.repartitions)
    known = set(population.codes) | set(population.communes)
    usagers = read_usagers(
        tmp_path / "usagers.csv", secteurs_connus=known, current_year=generator.REFERENCE_YEAR
    )
    assert len(usagers) == 20_000
    result = run_diagnostic(population, usagers, reference_year=generator.REFERENCE_YEAR)
    flagged = {s["code"] for s in result["secteurs"] if s["sous_frequente"]}
    territory = generator.build_territory(generator.TIERS["commune"])
    under = set(territory.iris[territory.under_served].tolist())
    assert flagged and len(flagged & under) >= len(under) // 2


def test_coop_export_is_read_by_the_real_reader(tmp_path):
    manifest = generator.generate("mini", tmp_path)
    population = read_insee(tmp_path / "population.csv")
    coop = read_coop_export(tmp_path / "coop.xlsx", secteurs_connus=set(population.communes))
    assert len(coop) == manifest["usagers"] and coop.unite == "accompagnements"
    result = run_diagnostic(population, coop, niveau="commune")
    assert len(result["secteurs"]) == manifest["communes"]


def test_users_follow_each_sectors_population():
    territory = generator.build_territory(generator.TIERS["mini"])
    chunks = list(generator.iter_users(territory, 50_000, chunk=7_000))
    assert len(chunks) > 1
    sector = np.concatenate([c.sector for c in chunks])
    assert len(sector) == 50_000 and (np.diff(sector) >= 0).all()
    band = np.concatenate([c.band for c in chunks])
    share = np.bincount(band, minlength=6) / len(band)
    expected = territory.attendance.sum(axis=0) / territory.attendance.sum()
    assert np.abs(share - expected).max() < 0.01
