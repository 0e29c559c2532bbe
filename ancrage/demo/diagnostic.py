"""Demo of the territorial diagnostic: the real 2016 population of Rennes and Vitré, made-up usagers.

The EPN du Blosne gets the real INSEE IRIS population of Rennes, QPV flags on the IRIS of Le Blosne
(a real QPV), Rennes Métropole's priorities (the defaults, recorded by the collectivité), two years
of invented attendance with known biases, and one saved diagnostic per year. The Cesson-Sévigné
EPN, Rennes Métropole's second, gets its commune's real population and aggregated counts by IRIS
that leave two of its five IRIS unreached. The Vitré EPN gets its commune's population and
aggregated counts at commune level: its animateur sees only that. The Villeurbanne EPN gets its commune's real
population, IGN's real IRIS outlines (and names), invented attendance and one diagnostic: the
map. See ``data/SOURCE.md``.
"""

import hashlib
from pathlib import Path

import numpy as np

from ancrage.diagnostic import services as diagnostic_services
from ancrage.frequentation import readers
from ancrage.frequentation import services as frequentation_services
from ancrage.territoire import geo, insee
from ancrage.territoire import services as territoire_services
from ancrage.territoire.models import Secteur

DATA = Path(__file__).parent / "data"
RENNES = DATA / "iris-population-2016-rennes.csv"
VITRE = DATA / "iris-population-2016-vitre.csv"
CESSON = DATA / "iris-population-2016-cesson-sevigne.csv"
VILLEURBANNE = DATA / "iris-population-2016-villeurbanne.csv"
VILLEURBANNE_CONTOURS = DATA / "contours-iris-villeurbanne.geojson"

#: Rennes numbers its IRIS by quartier; quartier 11 is Le Blosne (QPV).
BLOSNE_PREFIX = "3523811"
#: Grand quartiers the made-up attendance hardly reaches: 09 (Francisco Ferrer-Landry), 10 (Villejean).
QUARTIERS_PEU_TOUCHES = ("3523809", "3523810")
BANDS = ((0, 15), (15, 30), (30, 45), (45, 60), (60, 75), (75, 95))
SITUATIONS = ("en emploi", "sans emploi", "scolarisé", "retraité", "autre inactif")
#: Made-up reach of each EPN: (code prefixes, share of the inhabitants who come), first match wins.
RENNES_REACH = ((BLOSNE_PREFIX, 0.03), (QUARTIERS_PEU_TOUCHES, 0.002))
#: Villeurbanne: the EPN stands near Gratte-Ciel (IRIS 11xx-13xx), well reached; Saint-Jean (08xx),
#: the Buers (07xx) and Croix-Luizet (05xx) hardly.
VILLEURBANNE_REACH = ((("6926611", "6926612", "6926613"), 0.03), (("6926605", "6926607", "6926608"), 0.002))


def usagers_csv(
    population: insee.Population, *, year: int, seed: int, senior_factor: float, reach=RENNES_REACH
) -> bytes:
    """Made-up usagers drawn from the real population with known biases (deterministic)."""
    rng = np.random.default_rng(seed)
    ages = population.repartitions["age_large"].values
    lines = [";".join(readers.USAGERS_COLUMNS)]
    k = 0
    for i, code in enumerate(population.codes):
        rate = next((r for prefixes, r in reach if code.startswith(prefixes)), 0.012)
        for j, (low, high) in enumerate(BANDS):
            factor = senior_factor if low >= 60 else 1.0
            for _ in range(rng.poisson(ages[i, j] * rate * factor)):
                k += 1
                age = int(rng.integers(max(low, 6), high))
                if age < 18:
                    situation = "scolarisé"
                elif age >= 62:
                    situation = "retraité"
                else:
                    situation = SITUATIONS[int(rng.integers(0, 3))]
                month, day = int(rng.integers(1, 13)), int(rng.integers(1, 29))
                lines.append(
                    f"demo-{year}-{k:05d};{year - age};;{'FH'[int(rng.integers(0, 2))]};;{situation};"
                    f"{code};;{year}-{month:02d}-{day:02d};"
                )
    return ("\n".join(lines) + "\n").encode()


def _import_population(structure, path: Path):
    data = path.read_bytes()
    return territoire_services.population_import(
        acting_user=None,
        structure=structure,
        population=insee.read_insee(data, path.name),
        fichier=path.name,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _import_usagers(structure, data: bytes, name: str, year: int):
    known = territoire_services.known_sector_codes(structure)
    frequentation = readers.read_usagers(data, name, secteurs_connus=known, current_year=year)
    return frequentation_services.frequentation_import(
        acting_user=None,
        structure=structure,
        frequentation=frequentation,
        sha256=hashlib.sha256(data).hexdigest(),
        est_demo=True,
    )


def load(world) -> None:
    blosne, vitre = world.blosne, world.vitre_epn

    _import_population(blosne, RENNES)
    population = territoire_services.population_of(blosne)
    blosne_iris = [c for c in population.codes if c.startswith(BLOSNE_PREFIX)]
    territoire_services.secteurs_set_qpv(
        acting_user=None, structure=blosne, codes=blosne_iris, source=Secteur.QpvSource.LISTE
    )
    territoire_services.quartier_save(acting_user=None, structure=blosne, nom="Le Blosne", iris=blosne_iris)
    # The priorities are Rennes Métropole’s: every EPN attached to it uses them.
    diagnostic_services.priorites_reset(acting_user=None, collectivite=world.rennes_metropole)

    diagnostics = {}
    # 2023: the seniors were even less reached; 2024: a little better, still under-represented.
    for year, seed, senior_factor in ((2023, 2023, 0.15), (2024, 2024, 0.3)):
        data = usagers_csv(population, year=year, seed=seed, senior_factor=senior_factor)
        dataset = _import_usagers(blosne, data, f"usagers-{year}-demo.csv", year)
        diagnostics[year] = diagnostic_services.diagnostic_compute(
            acting_user=None,
            structure=blosne,
            frequentation=dataset,
            niveau="iris",
            titre=f"Diagnostic {year} de l’EPN du Blosne (démo)",
            reference_year=year,
        )

    _import_population(vitre, VITRE)
    agrege = (
        b"code_secteur;dimension;categorie;usagers\n35360;total;;310\n"
        b"35360;age;0-14;20\n35360;age;15-29;95\n35360;age;30-44;80\n35360;age;45-59;70\n"
        b"35360;age;60-74;35\n35360;age;75+;10\n"
    )
    frequentation = readers.read_aggregated(
        agrege, "comptages-2024-demo.csv", secteurs_connus=territoire_services.known_sector_codes(vitre)
    )
    dataset = frequentation_services.frequentation_import(
        acting_user=None,
        structure=vitre,
        frequentation=frequentation,
        sha256=hashlib.sha256(agrege).hexdigest(),
        est_demo=True,
    )
    diagnostic_services.diagnostic_compute(
        acting_user=None,
        structure=vitre,
        frequentation=dataset,
        niveau="commune",
        titre="Diagnostic 2024 de l’espace numérique de Vitré (démo)",
        reference_year=2024,
    )
    world.diagnostics = diagnostics
    world.diagnostic_cesson = _load_cesson(world.cesson)
    world.diagnostic_carte = _load_villeurbanne(world.villeurbanne_epn)


#: The Cesson-Sévigné EPN reaches three of its commune's five IRIS (the centre and the north);
#: nobody comes from the two others, which no EPN of Rennes Métropole reaches then.
CESSON_REACH = (("350510101", 0.02), ("350510102", 0.015), ("350510103", 0.01))


def cesson_counts(population: insee.Population) -> bytes:
    """Made-up aggregated counts of the Cesson-Sévigné EPN: totals and age bands per IRIS."""
    ages = population.repartitions["age_large"]
    lines = ["code_secteur;dimension;categorie;usagers"]
    for i, code in enumerate(population.codes):
        rate = next((r for prefix, r in CESSON_REACH if code.startswith(prefix)), 0.0)
        bands = [int(round(v * rate)) for v in ages.values[i]]
        if not sum(bands):
            continue
        lines.append(f"{code};total;;{sum(bands)}")
        lines += [f"{code};age;{cat};{n}" for cat, n in zip(ages.categories, bands, strict=True) if n]
    return ("\n".join(lines) + "\n").encode()


def _load_cesson(epn):
    """Cesson-Sévigné's real population, made-up aggregated counts, one diagnostic by IRIS."""
    _import_population(epn, CESSON)
    data = cesson_counts(territoire_services.population_of(epn))
    frequentation = readers.read_aggregated(
        data, "comptages-2024-demo.csv", secteurs_connus=territoire_services.known_sector_codes(epn)
    )
    dataset = frequentation_services.frequentation_import(
        acting_user=None,
        structure=epn,
        frequentation=frequentation,
        sha256=hashlib.sha256(data).hexdigest(),
        est_demo=True,
    )
    return diagnostic_services.diagnostic_compute(
        acting_user=None,
        structure=epn,
        frequentation=dataset,
        niveau="iris",
        titre="Diagnostic 2024 de l’espace numérique de Cesson-Sévigné (démo)",
        reference_year=2024,
    )


def _load_villeurbanne(epn):
    """Real population and IGN outlines of Villeurbanne, invented attendance, one diagnostic."""
    _import_population(epn, VILLEURBANNE)
    population = territoire_services.population_of(epn)
    data = VILLEURBANNE_CONTOURS.read_bytes()
    contours = geo.read_contours(
        data, VILLEURBANNE_CONTOURS.name, codes_connus=territoire_services.known_sector_codes(epn)
    )
    territoire_services.contours_import(
        acting_user=None,
        structure=epn,
        contours=contours,
        fichier=VILLEURBANNE_CONTOURS.name,
        noms=contours.noms,
    )
    diagnostic_services.priorites_reset(acting_user=None, structure=epn)
    data = usagers_csv(population, year=2024, seed=69266, senior_factor=0.3, reach=VILLEURBANNE_REACH)
    dataset = _import_usagers(epn, data, "usagers-2024-demo.csv", 2024)
    return diagnostic_services.diagnostic_compute(
        acting_user=None,
        structure=epn,
        frequentation=dataset,
        niveau="iris",
        titre="Diagnostic 2024 de l’EPN de Villeurbanne (démo)",
        reference_year=2024,
    )
