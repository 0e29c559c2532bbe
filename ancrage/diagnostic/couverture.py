"""The territory of a collectivité, all its EPNs together: which sectors and publics none reaches.

Pure module: no Django. Its input is, for each EPN, the per-sector and per-category figures of its
latest saved diagnostic (``Diagnostic.resultat``); its output, the sectors' attendance across EPNs,
the sectors with population that no EPN reaches, and the publics whose representation index,
territory-wide, is below :data:`SEUIL_INDICE`, each crossed with the collectivité's priorities.

Counting people once. Usagers identifiers are pseudonyms each EPN gives in its own file (``u001``
here is not ``u001`` there), and La Coop's export counts accompaniments, not people: a person
who comes to two EPNs is in both counts. So a sector's attendance is the sum over EPNs, said so,
unless every EPN counting in it gives keys of one shared namespace (``EpnCouverture.espace_cles``),
in which case it is the number of distinct keys. The sum is an upper bound of the distinct count
(tested).

Levels. Sectors are IRIS or communes; an IRIS's commune is its first 5 characters. When the EPNs'
diagnostics are not all at the same level, the territory is read by commune. A diagnostic by
quartier (codes are names) cannot be added to another: its EPN is listed apart.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ancrage.diagnostic.priorites import Priorite
from ancrage.diagnostic.stats import MIN_ATTENDUS

#: A public is under-represented territory-wide when its share among the usagers is below this
#: fraction of its share in the population (the map's « moins de 80 % des usagers attendus »).
SEUIL_INDICE = 0.8
PERSONNES = "personnes"
NIVEAUX_CUMULABLES = ("iris", "commune")


@dataclass(frozen=True)
class SecteurEpn:
    code: str
    nom: str
    population: float | None
    usagers: int


@dataclass(frozen=True)
class CategorieEpn:
    dimension: str
    categorie: str
    population: float | None
    usagers: int


@dataclass(frozen=True)
class EpnCouverture:
    """One EPN's figures, from its latest diagnostic (``niveau`` None: it has none)."""

    epn_id: int
    nom: str
    niveau: str | None
    unite: str = PERSONNES
    secteurs: tuple[SecteurEpn, ...] = ()
    categories: tuple[CategorieEpn, ...] = ()
    #: Pseudonymous keys of the people counted in each sector, when the EPN gives some of a
    #: namespace shared with other EPNs (``espace_cles``); None: counts only.
    cles: Mapping[str, frozenset[str]] | None = None
    espace_cles: str | None = None


@dataclass(frozen=True)
class SecteurTerritoire:
    code: str
    nom: str
    population: float | None
    par_epn: Mapping[int, int]  # EPN id -> its usagers (people) in the sector
    accompagnements: int  # La Coop's unit, counted apart
    usagers: int  # people, once each where keys allow (``dedoublonne``), else summed
    dedoublonne: bool
    attendus: float | None  # at the territory's mean rate
    priorites: tuple[str, ...] = ()  # themes of the priorities that target the sector

    @property
    def atteint(self) -> bool:
        return self.usagers > 0 or self.accompagnements > 0

    @property
    def non_atteint(self) -> bool:
        """Inhabitants, and nobody from there in any EPN."""
        return not self.atteint and (self.population or 0) > 0

    @property
    def attendus_faibles(self) -> bool:
        """Too few users expected to conclude (the diagnostic's rule, ``stats.MIN_ATTENDUS``)."""
        return self.attendus is None or self.attendus < MIN_ATTENDUS

    @property
    def ratio(self) -> float | None:
        return self.usagers / self.attendus if self.attendus else None


@dataclass(frozen=True)
class PublicTerritoire:
    dimension: str
    categorie: str
    population: float
    usagers: int
    part_population: float | None
    part_usagers: float | None
    indice: float | None
    attendus: float | None
    priorites: tuple[str, ...] = ()

    @property
    def sous_represente(self) -> bool:
        return (
            self.indice is not None
            and self.indice < SEUIL_INDICE
            and self.attendus is not None
            and self.attendus >= MIN_ATTENDUS
        )


@dataclass(frozen=True)
class Couverture:
    niveau: str | None
    secteurs: tuple[SecteurTerritoire, ...]
    publics: tuple[PublicTerritoire, ...]
    epns_cumules: tuple[int, ...]
    epns_sans_diagnostic: tuple[int, ...]
    epns_non_cumulables: tuple[int, ...]
    #: True when every sector's people are counted once (keys of one namespace everywhere).
    dedoublonne: bool
    #: True when the EPNs' territories overlap without being the same: the publics' population
    #: is then a sum over EPNs, which counts the shared sectors' inhabitants more than once.
    populations_approchees: bool = False
    unites: frozenset[str] = field(default_factory=frozenset)

    @property
    def non_atteints(self) -> list[SecteurTerritoire]:
        return [s for s in self.secteurs if s.non_atteint]

    @property
    def publics_sous_representes(self) -> list[PublicTerritoire]:
        return [p for p in self.publics if p.sous_represente]

    @property
    def total_usagers(self) -> int:
        return sum(s.usagers for s in self.secteurs)


def niveau_commun(niveaux: Iterable[str]) -> str | None:
    """The level the EPNs' sectors are added at: IRIS when all are, else commune."""
    levels = set(niveaux)
    if not levels:
        return None
    return "iris" if levels == {"iris"} else "commune"


def _code_at(code: str, niveau_epn: str, niveau: str) -> str:
    return code[:5] if niveau == "commune" and niveau_epn == "iris" else code


def union_usagers(counts: Sequence[int], keys: Sequence[frozenset[str] | None]) -> tuple[int, bool]:
    """People of one sector over the EPNs that count some there: distinct keys when each gives its
    keys (of one namespace), else the sum. Returns (count, each person counted once)."""
    if counts and all(k is not None for k in keys):
        return len(frozenset().union(*keys)), True
    return sum(counts), len(counts) <= 1


def couverture(
    epns: Sequence[EpnCouverture],
    priorites: Sequence[Priorite] = (),
    secteurs_qpv: Collection[str] = (),
) -> Couverture:
    """Add the EPNs' figures up, sector by sector and public by public (see the module's doc)."""
    cumulables = [e for e in epns if e.niveau in NIVEAUX_CUMULABLES]
    niveau = niveau_commun(e.niveau for e in cumulables)
    espaces = {e.espace_cles for e in cumulables if e.unite == PERSONNES}
    shared_space = len(espaces) == 1 and None not in espaces
    qpv = {_code_at(c, "iris", niveau) for c in secteurs_qpv} if niveau else set()

    noms: dict[str, str] = {}
    population: dict[str, float | None] = {}
    par_epn: dict[str, dict[int, int]] = {}
    cles: dict[str, dict[int, frozenset[str] | None]] = {}
    accompagnements: dict[str, int] = {}
    for e in cumulables:
        seen: dict[str, float | None] = {}
        for s in e.secteurs:
            code = _code_at(s.code, e.niveau, niveau)
            noms.setdefault(code, s.nom if code == s.code else code)
            if s.population is not None:
                seen[code] = (seen.get(code) or 0.0) + s.population
            else:
                seen.setdefault(code, None)
            if e.unite == PERSONNES:
                par_epn.setdefault(code, {})
                par_epn[code][e.epn_id] = par_epn[code].get(e.epn_id, 0) + s.usagers
            else:
                accompagnements[code] = accompagnements.get(code, 0) + s.usagers
        for code, pop in seen.items():
            # The same INSEE figures in two EPNs' bases: the larger (a later vintage, or a base
            # that has the sector whole), never their sum.
            if pop is not None and (population.get(code) is None or pop > population[code]):
                population[code] = pop
            else:
                population.setdefault(code, pop)
        if e.unite == PERSONNES:
            own: dict[str, set[str]] = {}
            for code_epn, k in (e.cles or {}).items():
                own.setdefault(_code_at(code_epn, e.niveau, niveau), set()).update(k)
            usable = shared_space and e.cles is not None
            for code in {_code_at(s.code, e.niveau, niveau) for s in e.secteurs}:
                cles.setdefault(code, {})[e.epn_id] = frozenset(own.get(code, ())) if usable else None

    counted: dict[str, tuple[int, bool]] = {}
    for code in population:
        counting = [(epn, n) for epn, n in par_epn.get(code, {}).items() if n > 0]
        counted[code] = union_usagers(
            [n for _, n in counting], [cles.get(code, {}).get(epn) for epn, _ in counting]
        )
    total_pop = sum(p for p in population.values() if p)
    total_users = sum(c for c, _ in counted.values())
    rate = total_users / total_pop if total_pop else None
    secteurs = []
    for code in sorted(population, key=lambda c: (noms.get(c, c), c)):
        pop = population[code]
        n, once = counted[code]
        secteurs.append(
            SecteurTerritoire(
                code=code,
                nom=noms.get(code, code),
                population=pop,
                par_epn=dict(par_epn.get(code, {})),
                accompagnements=accompagnements.get(code, 0),
                usagers=n,
                dedoublonne=once,
                attendus=(pop * rate) if (pop is not None and rate is not None) else None,
                priorites=tuple(
                    p.theme
                    for p in priorites
                    if (p.secteurs or p.qpv) and p.vise_secteur(code, qpv) and not p.categories
                ),
            )
        )

    publics, approx = _publics(cumulables, priorites)
    return Couverture(
        niveau=niveau,
        secteurs=tuple(secteurs),
        publics=publics,
        epns_cumules=tuple(e.epn_id for e in cumulables),
        epns_sans_diagnostic=tuple(e.epn_id for e in epns if e.niveau is None),
        epns_non_cumulables=tuple(e.epn_id for e in epns if e.niveau not in (None, *NIVEAUX_CUMULABLES)),
        dedoublonne=all(once for _, once in counted.values()),
        populations_approchees=approx,
        unites=frozenset(e.unite for e in cumulables),
    )


def _publics(epns: Sequence[EpnCouverture], priorites: Sequence[Priorite]):
    """Each category's usagers summed over EPNs, against its population over the territory.

    EPNs whose territories are the same sectors share one population (counted once); EPNs with
    disjoint territories add theirs; territories that overlap otherwise add theirs too, and the
    result says the population is approached."""
    people = [e for e in epns if e.unite == PERSONNES]
    territories: dict[frozenset[str], EpnCouverture] = {}
    for e in people:
        territories.setdefault(frozenset(s.code for s in e.secteurs), e)
    keys = list(territories)
    approx = any(a & b for i, a in enumerate(keys) for b in keys[i + 1 :])
    pop: dict[tuple[str, str], float] = {}
    for e in territories.values():
        for c in e.categories:
            if c.population is not None:
                pop[c.dimension, c.categorie] = pop.get((c.dimension, c.categorie), 0.0) + c.population
    users: dict[tuple[str, str], int] = {}
    for e in people:
        for c in e.categories:
            users[c.dimension, c.categorie] = users.get((c.dimension, c.categorie), 0) + c.usagers
    by_dimension: dict[str, list[tuple[str, str]]] = {}
    for key in {*pop, *users}:
        by_dimension.setdefault(key[0], []).append(key)
    out = []
    for dimension in sorted(by_dimension):
        cats = sorted(by_dimension[dimension], key=lambda k: k[1])
        dim_pop = sum(pop.get(k, 0.0) for k in cats)
        dim_users = sum(users.get(k, 0) for k in cats)
        for key in cats:
            p, u = pop.get(key, 0.0), users.get(key, 0)
            part_p = p / dim_pop if dim_pop else None
            part_u = u / dim_users if dim_users else None
            out.append(
                PublicTerritoire(
                    dimension=dimension,
                    categorie=key[1],
                    population=p,
                    usagers=u,
                    part_population=part_p,
                    part_usagers=part_u,
                    indice=(part_u / part_p) if (part_u is not None and part_p) else None,
                    attendus=(part_p * dim_users) if part_p is not None else None,
                    priorites=tuple(
                        pr.theme for pr in priorites if pr.categories and pr.vise_categorie(dimension, key[1])
                    ),
                )
            )
    return tuple(out), approx
