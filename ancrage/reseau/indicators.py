"""The network's indicators: each EPN's figures, their total, the funnel plot of the EPNs' reach,
and the rows of the exports.

Pure module: no Django. ``ancrage.reseau.selectors`` reads each EPN's figures through the EPN's
own selectors (the bilan annuel's activity, the three questions, the conventions' expiry alerts,
the dossiers a user may open) and builds these dataclasses; the page, the exports, the network
bilan and the API read them, so that every figure is computed once, in one place.

Every figure of the network is the sum of its EPNs' figures. The participants of two EPNs are
added up: an usager's identifier is the EPN's own (pseudonymous), so a person who went to two
places counts twice, and the page says so.

The funnel plot puts one point per EPN: its usagers in its latest diagnostic against the usagers
expected from its territory's population at the network's overall rate (the total usagers over
the total population of the network's EPNs with a diagnostic, whatever the filter), with the
diagnostic's exact Poisson limits (``diagnostic.stats``) and its flag for a shortfall (one-sided
exact test, Benjamini-Hochberg over the EPNs, at least 10 expected usagers and 20 % below them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from ancrage.diagnostic import stats
from ancrage.dossiers.workflow import STATE_LABELS, DossierState

#: The states of a deposited dossier: a brouillon is the EPN's own draft, never counted.
DOSSIER_STATES: tuple[DossierState, ...] = tuple(s for s in DossierState if s != DossierState.BROUILLON)


@dataclass(frozen=True)
class Figures:
    """The figures of one EPN, or of several added up (``Figures.total``)."""

    #: Every fiche action of the EPN, whatever its status (the period does not apply).
    actions: int = 0
    #: Actions with at least one session in the period.
    actions_menees: int = 0
    #: Sessions that start in the period.
    seances: int = 0
    #: Presences at those sessions (a person present at a session).
    presences: int = 0
    #: Different people present at those sessions (per EPN: identifiers are the EPN's own).
    participants: int = 0
    #: Participants whose first visit fell within their action and who are in its publics.
    nouveaux_publics: int = 0
    #: Partnerships of the three questions page (on the day of the situation).
    partenariats: int = 0
    #: Q1: partners who sent new publics over the twelve months before that day.
    partenaires_nouveaux_publics: int = 0
    #: Q2: partnerships "à risque", and "à surveiller".
    partenariats_a_risque: int = 0
    partenariats_a_surveiller: int = 0
    #: Q3: partnerships without a signed convention in force.
    partenariats_sans_convention: int = 0
    #: Conventions whose échéance (or denunciation deadline) is near: the conventions page's alerts.
    conventions_echeance: int = 0
    #: Deposited dossiers the user may open, by state (a brouillon is the EPN's own: not counted).
    dossiers: Mapping[str, int] = field(default_factory=dict)

    @property
    def dossiers_total(self) -> int:
        return sum(self.dossiers.values())

    def dossier_count(self, state: str) -> int:
        return self.dossiers.get(state, 0)

    @property
    def dossier_counts(self) -> list[int]:
        """The count of each state, in the order of ``DOSSIER_STATES`` (for the tables)."""
        return [self.dossier_count(s.value) for s in DOSSIER_STATES]

    @classmethod
    def total(cls, many: Iterable[Figures]) -> Figures:
        many = list(many)
        sums = {f.name: sum(getattr(x, f.name) for x in many) for f in fields(cls) if f.name != "dossiers"}
        dossiers = {s.value: sum(x.dossier_count(s.value) for x in many) for s in DOSSIER_STATES}
        return cls(**sums, dossiers={k: v for k, v in dossiers.items() if v})


@dataclass(frozen=True)
class Echeance:
    """A convention near its échéance (``conventions.circuit.ExpiryAlert``, with its EPN)."""

    convention_id: int
    titre: str
    fin: dt.date
    jours_restants: int
    message: str


@dataclass(frozen=True)
class Portee:
    """An EPN's reach in its latest diagnostic, and where it falls on the funnel plot."""

    diagnostic_id: int
    diagnostic: str
    usagers: int
    population: float
    attendus: float | None = None
    ratio: float | None = None
    ratio_ic95: tuple[float, float] | None = None
    qvalue: float | None = None
    sous_frequente: bool = False


@dataclass(frozen=True)
class EpnIndicators:
    epn_id: int
    nom: str
    collectivite: str
    figures: Figures
    echeances: tuple[Echeance, ...] = ()
    #: None when the EPN has no diagnostic (no point on the funnel plot).
    portee: Portee | None = None


@dataclass(frozen=True)
class NetworkIndicators:
    #: The period of the sessions, participants and new publics (None: no bound).
    debut: dt.date | None
    fin: dt.date | None
    #: The day of the situation: partnerships, conventions, dossiers (the period's end, or today).
    au: dt.date
    #: The collectivité the EPNs were filtered by (its name), or "".
    collectivite: str
    epns: tuple[EpnIndicators, ...]
    total: Figures

    @property
    def total_label(self) -> str:
        return f"Total des lieux de {self.collectivite}" if self.collectivite else "Total du réseau"

    @property
    def funnel(self) -> list[EpnIndicators]:
        return [e for e in self.epns if e.portee is not None and e.portee.attendus is not None]

    @property
    def without_diagnostic(self) -> list[EpnIndicators]:
        return [e for e in self.epns if e.portee is None]

    def as_dict(self) -> dict:
        """Plain JSON types (dates as ISO strings): what the API serves."""
        return _jsonable(asdict(self))

    to_json = as_dict


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _f(x) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def reach_of(secteurs: Sequence[Mapping]) -> tuple[int, float]:
    """(usagers, population) of a diagnostic's sectors: its placed usagers and the population in
    the ages it serves (``population_eligible``), as the diagnostic's own totals count them."""
    usagers = sum(int(s.get("usagers") or 0) for s in secteurs)
    population = sum(float(s.get("population_eligible", s.get("population")) or 0) for s in secteurs)
    return usagers, population


def place_on_funnel(portees: Sequence[Portee]) -> list[Portee]:
    """Each reach with its expected usagers at the network's rate, its ratio, interval and flag."""
    if not portees:
        return []
    o = np.array([p.usagers for p in portees], dtype=float)
    n = np.array([p.population for p in portees], dtype=float)
    result = stats.stats_secteurs(o, n)
    q = stats.benjamini_hochberg(result.pvalues)
    flags = stats.flag_shortfall(result.usagers, result.attendus, q)
    placed = []
    for i, p in enumerate(portees):
        attendus = _f(result.attendus[i]) if n[i] > 0 else None
        ratio = _f(result.ratio[i])
        ic = (_f(result.ratio_ic[0][i]), _f(result.ratio_ic[1][i]))
        placed.append(
            Portee(
                p.diagnostic_id,
                p.diagnostic,
                p.usagers,
                p.population,
                attendus=attendus,
                ratio=ratio,
                ratio_ic95=ic if ratio is not None else None,
                qvalue=_f(q[i]),
                sous_frequente=bool(flags[i]),
            )
        )
    return placed


def funnel_rows(network: NetworkIndicators) -> list[dict]:
    """The points of ``diagnostic.charts.funnel_chart``, one per EPN with a diagnostic."""
    return [
        {
            "nom": e.nom,
            "usagers": e.portee.usagers,
            "usagers_attendus": e.portee.attendus,
            "ratio_standardise": e.portee.ratio,
            "ratio_ic95": list(e.portee.ratio_ic95) if e.portee.ratio_ic95 else None,
            "sous_frequente": e.portee.sous_frequente,
        }
        for e in network.funnel
    ]


# --- Exports -------------------------------------------------------------------------------------

#: (header, how to read it from an EPN's row), in the order of the exports.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("Actions (toutes)", "actions"),
    ("Actions menées dans la période", "actions_menees"),
    ("Séances", "seances"),
    ("Présences", "presences"),
    ("Participants", "participants"),
    ("Nouveaux publics", "nouveaux_publics"),
    ("Partenariats", "partenariats"),
    ("Partenaires amenant de nouveaux publics", "partenaires_nouveaux_publics"),
    ("Partenariats à risque", "partenariats_a_risque"),
    ("Partenariats à surveiller", "partenariats_a_surveiller"),
    ("Partenariats sans convention en vigueur", "partenariats_sans_convention"),
    ("Conventions proches de l’échéance", "conventions_echeance"),
)
DOSSIER_COLUMNS = tuple((f"Dossiers : {STATE_LABELS[s].lower()}", s.value) for s in DOSSIER_STATES)
REACH_COLUMNS = ("Usagers (dernier diagnostic)", "Population du territoire", "Usagers attendus", "Ratio")


def header() -> list[str]:
    return [
        "Lieu",
        "Collectivité",
        *(h for h, _ in COLUMNS),
        *(h for h, _ in DOSSIER_COLUMNS),
        "Dossiers (total)",
        *REACH_COLUMNS,
    ]


def _figures_cells(figures: Figures) -> list:
    return [
        *(getattr(figures, attr) for _, attr in COLUMNS),
        *(figures.dossier_count(state) for _, state in DOSSIER_COLUMNS),
        figures.dossiers_total,
    ]


def _round(x: float | None, digits: int):
    return "" if x is None else round(x, digits)


def export_rows(network: NetworkIndicators) -> list[list]:
    """The header, one row per EPN, then the total: the cells of the CSV and XLSX exports."""
    rows = [header()]
    for e in network.epns:
        p = e.portee
        reach = (
            [p.usagers, round(p.population), _round(p.attendus, 1), _round(p.ratio, 3)]
            if p
            else ["", "", "", ""]
        )
        rows.append([e.nom, e.collectivite, *_figures_cells(e.figures), *reach])
    with_reach = [e.portee for e in network.epns if e.portee]
    rows.append(
        [
            network.total_label,
            network.collectivite,
            *_figures_cells(network.total),
            sum(p.usagers for p in with_reach) if with_reach else "",
            round(sum(p.population for p in with_reach)) if with_reach else "",
            "",
            "",
        ]
    )
    return rows


def period_label(debut: dt.date | None, fin: dt.date | None) -> str:
    """« du 01/01/2026 au 31/12/2026 », « depuis le … », « jusqu’au … », « toutes les séances »."""

    def fr(day: dt.date) -> str:
        return day.strftime("%d/%m/%Y")

    if debut and fin:
        return f"du {fr(debut)} au {fr(fin)}"
    if debut:
        return f"depuis le {fr(debut)}"
    if fin:
        return f"jusqu’au {fr(fin)}"
    return "toutes les séances"
