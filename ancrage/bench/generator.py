"""Synthetic territories for the benchmarks, written in the real file formats.

Pure module: no Django, numpy only (openpyxl for the La Coop workbook; the usagers columns are
the readers'). Given a tier and a seed it writes, deterministically:

* ``population.csv``: an INSEE "évolution et structure de la population" base at IRIS level
  (``;``-separated, the code header row only, as in the CSV INSEE publishes), vintage 2021;
* ``usagers.csv``: Ancrage's usagers file (``docs/formats/usagers.md``), one row per person;
* ``coop.xlsx`` (small tiers only): La Coop's activity export (``design/COOP_EXPORT.md``).

The territory has a plausible structure: départements hold one large commune cut into many IRIS,
towns of 2 to 24 IRIS and villages of one IRIS (code ``<commune>0000``). Each sector has its own
age, sex and CSP structure, drawn around national profiles. Users are drawn from each sector's
population, with an attendance that varies by age and by sector; about one sector in ten is
deliberately under-served, and in another one in ten the 15-29 year olds are. So the diagnostic
has something to find, and the benchmark exercises its flagging paths.

Rows are streamed to disk by chunks (numpy vectorised per chunk): the national tier's ten million
users are never held in memory at once.

Run it with ``python -m ancrage.bench.generator --tier commune --out DIR`` or
``ancrage bench-generer --tier commune --out DIR``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ancrage.frequentation.readers.usagers import USAGERS_COLUMNS

#: Bump when the output changes for a given seed: the benchmark harness regenerates cached data.
GENERATOR_VERSION = 1
DEFAULT_SEED = 20240601
VINTAGE = "21"
REFERENCE_YEAR = 2024


@dataclass(frozen=True)
class Tier:
    name: str
    secteurs: int
    usagers: int
    departements: int
    coop: bool  # write the La Coop export (an XLSX of one row per accompaniment: small tiers only)


TIERS = {
    # "mini" keeps the smoke test fast; the three others are those of docs/performance.md.
    "mini": Tier("mini", 12, 1_500, 1, True),
    "commune": Tier("commune", 50, 20_000, 1, True),
    "departement": Tier("departement", 2_000, 1_000_000, 1, False),
    "national": Tier("national", 50_000, 10_000_000, 96, False),
}

# --- National profiles (rounded, France 2021) -----------------------------------------------------

AGE_BANDS = ((0, 15), (15, 30), (30, 45), (45, 60), (60, 75), (75, 96))
AGE_COLUMNS = ("POP0014", "POP1529", "POP3044", "POP4559", "POP6074", "POP75P")
AGE_PROFILE = np.array([0.175, 0.170, 0.185, 0.200, 0.175, 0.095])
#: Relative attendance of each age band at a médiation numérique place (the older, the more).
AGE_ATTENDANCE = np.array([0.25, 0.8, 0.9, 1.0, 1.5, 1.3])
CSP_PROFILE = np.array([0.008, 0.035, 0.100, 0.140, 0.160, 0.120, 0.275, 0.162])
FEMALE_SHARE = 0.516
UNDER_SERVED_SHARE = 0.10  # sectors whose attendance is cut to UNDER_SERVED_FACTOR
UNDER_SERVED_FACTOR = 0.35
YOUTH_GAP_SHARE = 0.10  # sectors where the 15-29 year olds come at YOUTH_GAP_FACTOR of the rate
YOUTH_GAP_FACTOR = 0.3

DEPARTEMENTS = tuple(
    [f"{d:02d}" for d in range(1, 20)] + ["2A", "2B"] + [f"{d:02d}" for d in range(21, 96)]
)  # 96 metropolitan départements
PARTENAIRES = (
    "CCAS",
    "France Travail",
    "Maison France services",
    "Mission locale",
    "CAF",
    "Médiathèque",
    "Centre social",
    "Association d'insertion",
)
SITUATION_LABELS = ("en emploi", "sans emploi", "scolarisé", "retraité", "autre inactif")
INSEE_BAND_LABELS = ("0-14", "15-29", "30-44", "45-59", "60-74", "75+")


@dataclass(frozen=True)
class Territory:
    """The sectors of a synthetic territory and their population."""

    iris: np.ndarray  # str, (n,)
    communes: np.ndarray  # str, (n,)
    libcom: np.ndarray  # str, (n,)
    age: np.ndarray  # float (n, 6): residents per band of AGE_BANDS
    female: np.ndarray  # float (n,): share of women
    csp: np.ndarray  # float (n, 8): residents aged 15+ per CSP group
    attendance: np.ndarray  # float (n, 6): relative attendance weight per sector and age band
    under_served: np.ndarray  # bool (n,): deliberately under-served sectors

    @property
    def population(self) -> np.ndarray:
        return self.age.sum(axis=1)

    def __len__(self) -> int:
        return len(self.iris)


# --- Territory ------------------------------------------------------------------------------------


def _commune_sizes(n_secteurs: int, rng: np.random.Generator) -> list[int]:
    """IRIS per commune for one département: a main commune, towns, then one-IRIS villages."""
    if n_secteurs <= 100:  # a town and its neighbours: most sectors in the town
        main = max(1, round(n_secteurs * 0.8))
        return [main] + [1] * (n_secteurs - main)
    sizes = [max(2, round(n_secteurs * 0.08))]
    remaining = n_secteurs - sizes[0]
    while remaining > 0:
        size = 1 if rng.random() < 0.35 else int(rng.integers(2, 25))
        size = min(size, remaining)
        sizes.append(size)
        remaining -= size
    if len(sizes) > 999:  # a département has at most 999 commune numbers
        raise ValueError(f"{n_secteurs} secteurs ne tiennent pas dans un département.")
    return sizes


def build_territory(tier: Tier, seed: int = DEFAULT_SEED) -> Territory:
    """The sectors, their communes and their population; deterministic for a tier and a seed."""
    rng = np.random.default_rng([seed, tier.secteurs, 1])
    per_dep = np.full(tier.departements, tier.secteurs // tier.departements)
    per_dep[: tier.secteurs % tier.departements] += 1
    deps = DEPARTEMENTS if tier.departements > 1 else ("35",)
    iris: list[str] = []
    communes: list[str] = []
    libcom: list[str] = []
    multi: list[bool] = []
    for dep, count in zip(deps, per_dep, strict=False):
        for k, size in enumerate(_commune_sizes(int(count), rng)):
            code = f"{dep}{k + 1:03d}"
            name = f"Commune {code}" if k else f"Ville {code}"
            if size == 1:
                iris.append(code + "0000")
            else:
                iris.extend(f"{code}{j + 101:04d}" for j in range(size))
            communes.extend([code] * size)
            libcom.extend([name] * size)
            multi.extend([size > 1] * size)
    n = len(iris)
    is_multi = np.array(multi)
    # Urban IRIS hold about 2,000 people; villages range from a hundred to a few thousand.
    pop = np.where(
        is_multi,
        rng.lognormal(np.log(2300), 0.3, n),
        np.clip(rng.lognormal(np.log(700), 0.9, n), 60, 6000),
    )
    age_shares = rng.dirichlet(AGE_PROFILE * 80, size=n)
    age = pop[:, None] * age_shares
    female = np.clip(rng.normal(FEMALE_SHARE, 0.015, n), 0.4, 0.6)
    csp_shares = rng.dirichlet(CSP_PROFILE * 60, size=n)
    csp = (pop - age[:, 0])[:, None] * csp_shares
    multiplier = rng.lognormal(0.0, 0.15, n)
    under = rng.random(n) < UNDER_SERVED_SHARE
    multiplier[under] *= UNDER_SERVED_FACTOR
    attendance = age * AGE_ATTENDANCE * multiplier[:, None]
    youth_gap = rng.random(n) < YOUTH_GAP_SHARE
    attendance[youth_gap, 1] *= YOUTH_GAP_FACTOR
    return Territory(
        iris=np.array(iris),
        communes=np.array(communes),
        libcom=np.array(libcom),
        age=age,
        female=female,
        csp=csp,
        attendance=attendance,
        under_served=under,
    )


# --- INSEE population file ------------------------------------------------------------------------


def population_header() -> list[str]:
    p, c = f"P{VINTAGE}_", f"C{VINTAGE}_"
    return [
        "IRIS",
        "COM",
        "TYP_IRIS",
        "LIBCOM",
        p + "POP",
        *(p + col for col in AGE_COLUMNS),
        p + "POPH",
        p + "POPF",
        c + "POP15P",
        *(f"{c}POP15P_CS{i}" for i in range(1, 9)),
    ]


def write_population(territory: Territory, path: Path) -> None:
    """The INSEE base "évolution et structure de la population" at IRIS level (CSV, ``;``)."""
    pop = territory.population
    women = pop * territory.female
    pop15 = territory.csp.sum(axis=1)
    values = np.column_stack([pop, territory.age, pop - women, women, pop15, territory.csp])
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(";".join(population_header()) + "\n")
        for i in range(len(territory)):
            typ = "H" if not territory.iris[i].endswith("0000") else "Z"
            numbers = ";".join(f"{v:.4f}" for v in values[i])
            out.write(f"{territory.iris[i]};{territory.communes[i]};{typ};{territory.libcom[i]};{numbers}\n")


# --- Users ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserChunk:
    """A chunk of synthetic users, as arrays (one entry per user)."""

    sector: np.ndarray  # int index into the territory
    age: np.ndarray  # int, exact age in REFERENCE_YEAR
    band: np.ndarray  # int index into AGE_BANDS
    female: np.ndarray  # bool
    csp: np.ndarray  # int 0..7, -1 when none (under 15)
    situation: np.ndarray  # int index into SITUATION_LABELS
    day: np.ndarray  # int day of the year of the first visit


def _sample_rows(cumulative: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One category per row, drawn from each row's cumulative distribution (inverse CDF)."""
    u = rng.random(len(cumulative))[:, None] * cumulative[:, -1:]
    return np.minimum((u > cumulative).sum(axis=1), cumulative.shape[1] - 1)


def iter_users(
    territory: Territory, n_users: int, seed: int = DEFAULT_SEED, chunk: int = 250_000
) -> Iterator[UserChunk]:
    """Draw ``n_users`` users from the territory, sector by sector, in chunks of about ``chunk``."""
    rng = np.random.default_rng([seed, len(territory), n_users, 2])
    weights = territory.attendance.sum(axis=1)
    per_sector = rng.multinomial(n_users, weights / weights.sum())
    age_cum = np.cumsum(territory.attendance, axis=1)
    csp_shares = territory.csp / territory.csp.sum(axis=1, keepdims=True)
    working_cum = np.cumsum(np.where(np.arange(8) == 6, 0.0, csp_shares), axis=1)  # no CS7 retirees
    csp_cum = np.cumsum(csp_shares, axis=1)
    ends = np.cumsum(per_sector)
    start_sector = 0
    while start_sector < len(territory):
        # Whole sectors per chunk: a sector's users stay together, as a real file groups them.
        stop = int(np.searchsorted(ends, (ends[start_sector - 1] if start_sector else 0) + chunk, "right"))
        stop = max(stop, start_sector + 1)
        sector = np.repeat(np.arange(start_sector, stop), per_sector[start_sector:stop])
        start_sector = stop
        m = len(sector)
        if m == 0:
            continue
        band = _sample_rows(age_cum[sector], rng)
        lows = np.array([b[0] for b in AGE_BANDS])[band]
        highs = np.array([b[1] for b in AGE_BANDS])[band]
        age = rng.integers(lows, highs)
        female = rng.random(m) < territory.female[sector] * 1.05
        csp = np.where(
            age >= 60,
            np.where(rng.random(m) < 0.85, 6, _sample_rows(csp_cum[sector], rng)),
            _sample_rows(working_cum[sector], rng),
        )
        csp = np.where(age < 15, -1, csp)
        u = rng.random(m)
        situation = np.select(
            [
                age < 18,
                (age < 25) & (u < 0.5),
                csp == 6,
                csp == 7,
                u < 0.15,
            ],
            [2, 2, 3, 4, 1],
            default=0,
        )
        day = rng.integers(0, 366, m)
        yield UserChunk(sector, age, band, female, csp, situation, day)


USAGERS_HEADER = ";".join(USAGERS_COLUMNS)  # the rows below are written in this order


def write_usagers(territory: Territory, n_users: int, path: Path, seed: int = DEFAULT_SEED) -> int:
    """The usagers file (format Ancrage), streamed by chunks. Returns the number of rows."""
    rng = np.random.default_rng([seed, n_users, 3])
    days = [
        (dt.date(REFERENCE_YEAR, 1, 1) + dt.timedelta(days=d)).isoformat() for d in range(366)
    ]  # 2024 is a leap year
    iris = territory.iris.tolist()
    communes = territory.communes.tolist()
    csp_text = [str(i) for i in range(1, 9)] + [""]  # index -1 -> ""
    situations = [*SITUATION_LABELS, ""]
    partners = [*PARTENAIRES, ""]
    written = 0
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(USAGERS_HEADER + "\n")
        for c in iter_users(territory, n_users, seed):
            m = len(c.sector)
            # Missing data, as in real files: some without sex, CSP or situation, some with a band
            # instead of a birth year, a few with the commune only.
            u = rng.random((m, 6))
            year = np.where(u[:, 0] < 0.90, REFERENCE_YEAR - c.age, 0)
            band = np.where((u[:, 0] >= 0.90) & (u[:, 0] < 0.97), c.band, -1)
            sexe = np.where(u[:, 1] < 0.04, 2, np.where(c.female, 0, 1))
            csp = np.where(u[:, 2] < 0.15, -1, c.csp)
            situation = np.where(u[:, 3] < 0.10, -1, c.situation)
            commune_only = u[:, 4] < 0.02
            partner = np.where(u[:, 5] < 0.12, rng.integers(0, len(PARTENAIRES), m), -1)
            bands = [*INSEE_BAND_LABELS, ""]  # index -1 -> ""
            lines = [
                f"u{written + k + 1:08d};{y or ''};{bands[b]};{'FH'[s] if s < 2 else ''};{csp_text[cs]};"
                f"{situations[si]};{'' if co else iris[sec]};{communes[sec]};{days[d]};{partners[p]}\n"
                for k, (sec, y, b, s, cs, si, co, d, p) in enumerate(
                    zip(
                        c.sector.tolist(),
                        year.tolist(),
                        band.tolist(),
                        sexe.tolist(),
                        csp.tolist(),
                        situation.tolist(),
                        commune_only.tolist(),
                        c.day.tolist(),
                        partner.tolist(),
                        strict=True,
                    )
                )
            ]
            out.write("".join(lines))
            written += m
    return written


# --- La Coop export -------------------------------------------------------------------------------

COOP_HEADER = (
    "Date",
    "Enregistré le",
    "Dernière modification le",
    "Type",
    "Participants",
    "Canaux d’accompagnement",
    "Nom du lieu",
    "Adresse",
    "Commune",
    "Code postal",
    "Code Insee",
    "Durée (min)",
    "Nom de l’atelier",
    "Matériel numérique utilisé",
    "Thématique(s) d’accompagnement",
    "Tags",
    "Nom de la démarche administrative",
    "Niveau d’autonomie (ou de l’atelier)",
    "Bénéficiaire réorienté",
    "Structure de redirection",
    "Commune du bénéficiaire",
    "Code postal du bénéficiaire",
    "Code Insee du bénéficiaire",
    "Genre du bénéficiaire",
    "Tranche d’âge du bénéficiaire",
    "Statut du bénéficiaire",
    "ID CRA",
)
COOP_AGE_LABELS = (
    (12, "Moins de 12 ans"),
    (18, "12 - 17 ans"),
    (25, "18 - 24 ans"),
    (40, "25 - 39 ans"),
    (60, "40 - 59 ans"),
    (70, "60 - 69 ans"),
    (200, "70 ans et plus"),
)
COOP_STATUTS = ("En emploi", "Sans emploi", "Scolarisé", "Retraité", "Non communiqué ou hétérogène")
COOP_THEMATIQUES = (
    "Diagnostic numérique",
    "Navigation sur internet",
    "E-mail",
    "Aide aux démarches administratives",
    "Banque et achats en ligne",
    "Santé",
    "Prendre en main du matériel",
)


def write_coop(territory: Territory, n_rows: int, path: Path, seed: int = DEFAULT_SEED) -> int:
    """La Coop's activity export (sheet « Activités »): one row per accompanied person."""
    import openpyxl

    rng = np.random.default_rng([seed, n_rows, 4])
    ages = np.array([limit for limit, _ in COOP_AGE_LABELS])
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Activités")
    sheet.append(["Informations export"])
    for label, value in (
        ("Nom", "Synthèse"),
        ("Prénom", "Camille"),
        ("Rôle", "Médiateur"),
        ("Total", n_rows),
        ("Date d’export", "15/01/2025"),
        ("Heure d’export", "09:30"),
    ):
        sheet.append([label, value])
    sheet.append([])
    sheet.append(["Filtres"])
    sheet.append(["Communes", f"Commune : {territory.libcom[0]} · {territory.communes[0]}"])
    sheet.append([])
    sheet.append(list(COOP_HEADER))
    written = 0
    cra = 0
    for c in iter_users(territory, n_rows, seed + 1, chunk=50_000):
        m = len(c.sector)
        band = np.searchsorted(ages, c.age, side="right")
        unknown = rng.random((m, 3))
        workshop_size = 0
        for k in range(m):
            if workshop_size == 0:
                cra += 1
                workshop_size = int(rng.integers(4, 10)) if rng.random() < 0.15 else 1
                position, size = 0, workshop_size
            position += 1
            workshop_size -= 1
            day = dt.date(REFERENCE_YEAR, 1, 1) + dt.timedelta(days=int(c.day[k]))
            sec = int(c.sector[k])
            commune = str(territory.communes[sec])
            sheet.append(
                [
                    day,
                    f"{day:%d/%m/%Y} à 14:05",
                    f"{day:%d/%m/%Y} à 14:05",
                    "Atelier collectif" if size > 1 else "Accompagnement individuel",
                    f"{position}/{size}" if size > 1 else "1",
                    "En lieu d’activité",
                    "Espace public numérique",
                    "1 place de la Mairie",
                    str(territory.libcom[0]),
                    "35000",
                    str(territory.communes[0]),
                    60,
                    "Découvrir sa messagerie" if size > 1 else None,
                    "Ordinateur",
                    COOP_THEMATIQUES[cra % len(COOP_THEMATIQUES)],
                    None,
                    None,
                    "Entièrement accompagné",
                    "Non",
                    None,
                    str(territory.libcom[sec]),
                    "35000",
                    "" if unknown[k, 0] < 0.05 else commune,
                    "Non communiqué" if unknown[k, 1] < 0.05 else ("Féminin" if c.female[k] else "Masculin"),
                    "Non communiqué" if unknown[k, 2] < 0.08 else COOP_AGE_LABELS[int(band[k])][1],
                    COOP_STATUTS[int(c.situation[k])],
                    f"cra-{cra:08d}",
                ]
            )
        written += m
    workbook.save(path)
    return written


# --- Arrays for the statistics alone --------------------------------------------------------------

#: Categories per dimension for the statistics benchmark: 30 in all, as with INSEE's fine age bands,
#: sex, CSP, activity and a five-way diploma split.
STATS_DIMENSIONS = {"age": 10, "sexe": 2, "csp": 8, "activite": 5, "diplome": 5}


@dataclass(frozen=True)
class StatsInputs:
    """Sector × category populations and users, as the engine hands them to the statistics."""

    population: dict[str, np.ndarray]  # dimension -> (n_secteurs, k) residents
    usagers: dict[str, np.ndarray]  # dimension -> (n_secteurs, k) users
    total: np.ndarray  # (n_secteurs,) residents
    usagers_secteur: np.ndarray  # (n_secteurs,) users


def stats_inputs(
    n_secteurs: int = 50_000, n_users: int = 10_000_000, seed: int = DEFAULT_SEED
) -> StatsInputs:
    """Arrays for the statistics benchmark: every dimension covers every user (no unknowns)."""
    rng = np.random.default_rng([seed, n_secteurs, n_users, 5])
    pop = rng.lognormal(np.log(1300), 0.6, n_secteurs)
    multiplier = rng.lognormal(0.0, 0.15, n_secteurs)
    multiplier[rng.random(n_secteurs) < UNDER_SERVED_SHARE] *= UNDER_SERVED_FACTOR
    rate = n_users / (pop * multiplier).sum()
    population, usagers = {}, {}
    for name, k in STATS_DIMENSIONS.items():
        shares = rng.dirichlet(np.full(k, 8.0) * rng.dirichlet(np.full(k, 4.0)) * k, size=n_secteurs)
        population[name] = pop[:, None] * shares
        # Attendance varies by category (some are under-represented) and by sector.
        propensity = rng.lognormal(0.0, 0.3, k)
        lam = population[name] * rate * multiplier[:, None] * propensity / (shares @ propensity)[:, None]
        usagers[name] = rng.poisson(lam).astype(float)
    return StatsInputs(population, usagers, pop, usagers["sexe"].sum(axis=1))


# --- Whole tier -----------------------------------------------------------------------------------


def generate(
    tier: str | Tier,
    out: str | Path,
    *,
    seed: int = DEFAULT_SEED,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Write a tier's files into ``out`` and a ``manifest.json`` describing them. Returns the manifest."""
    tier = TIERS[tier] if isinstance(tier, str) else tier
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    say = progress or (lambda _message: None)
    say(f"territoire : {tier.secteurs} secteurs")
    territory = build_territory(tier, seed)
    write_population(territory, out / "population.csv")
    say(f"usagers : {tier.usagers} lignes")
    rows = write_usagers(territory, tier.usagers, out / "usagers.csv", seed)
    files = {"population": "population.csv", "usagers": "usagers.csv"}
    if tier.coop:
        say("export de La Coop")
        write_coop(territory, tier.usagers, out / "coop.xlsx", seed)
        files["coop"] = "coop.xlsx"
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "tier": tier.name,
        "seed": seed,
        "secteurs": len(territory),
        "communes": len(set(territory.communes.tolist())),
        "usagers": rows,
        "secteurs_sous_frequentes": int(territory.under_served.sum()),
        "reference_year": REFERENCE_YEAR,
        "files": files,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Génère un territoire synthétique pour les bancs d'essai.")
    parser.add_argument("--tier", choices=sorted(TIERS), default="commune")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    manifest = generate(args.tier, args.out, seed=args.seed, progress=print)
    print(json.dumps(manifest, indent=2))


if __name__ == "__main__":
    main()
