"""Structured content of a convention, independent of any output format.

The Django layer builds a :class:`ConventionContent` from its models (the action,
its task matrix, its budget, the parties) and hands it to a built-in model
(:mod:`ancrage.conventions.modeles`), which turns it into the text of the
convention. Everything here is plain data, so the document core can be tested
without a database and the same content always gives the same document.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

MONTHS_FR = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


class ContentError(ValueError):
    """The content is inconsistent; the message is French and shown to the user."""


class PartyKind(enum.StrEnum):
    EPN = "epn"
    COLLECTIVITE = "collectivite"
    ECOLE = "ecole"
    PARTENAIRE = "partenaire"


class TaskRole(enum.StrEnum):
    """Role of a party on one line of the task matrix (PRODUCT.md step 4)."""

    PILOTE = "pilote"
    CONTRIBUTEUR = "contributeur"
    INFORME = "informe"


@dataclass(frozen=True)
class Representative:
    name: str
    title: str  # qualité, e.g. "Maire", "Président de l'association"
    mandate: str = ""  # e.g. "dûment habilité par délibération du conseil municipal du 12 mars 2025"


@dataclass(frozen=True)
class Party:
    key: str  # stable identifier used by commitments, budget lines and signatories
    name: str
    kind: PartyKind
    designation: str  # the "ci-après dénommé(e)" short name, e.g. "l'EPN", "la Commune"
    legal_form: str = ""  # e.g. "association régie par la loi du 1er juillet 1901"
    address: str = ""
    siret: str = ""
    representative: Representative | None = None


@dataclass(frozen=True)
class Commitment:
    party_key: str
    text: str  # an infinitive phrase that completes "X s'engage à :", e.g. "animer les séances"
    domain: str = ""  # gestion et suivi, communication, évaluation, mobilisation des publics…


@dataclass(frozen=True)
class TaskAssignment:
    """One cell of the action's task matrix: who does what, and how much."""

    domain: str
    party_key: str
    role: TaskRole
    detail: str = ""


@dataclass(frozen=True)
class BudgetLine:
    label: str
    amount: Decimal
    is_resource: bool = False  # False: a charge; True: a resource (co-financing, contribution)
    party_key: str | None = None  # the party that pays (resource) or bears (charge) it
    in_kind: bool = False  # valorisation (contribution en nature) rather than money
    contributor: str = ""  # who brings a resource, by name (a financeur outside the parties too)


@dataclass(frozen=True)
class FinancialTerms:
    lines: tuple[BudgetLine, ...]
    payment_terms: str = ""  # modalités de versement
    # Kept for custom models' « gratuite » variable; the built-in models decide from the lines
    # (``financement.decide``): free means no cash flows between the parties.
    free_of_charge: bool = False

    @property
    def charges(self) -> tuple[BudgetLine, ...]:
        return tuple(line for line in self.lines if not line.is_resource)

    @property
    def resources(self) -> tuple[BudgetLine, ...]:
        return tuple(line for line in self.lines if line.is_resource)

    @property
    def total_charges(self) -> Decimal:
        return sum((line.amount for line in self.charges), Decimal(0))

    @property
    def total_resources(self) -> Decimal:
        return sum((line.amount for line in self.resources), Decimal(0))


@dataclass(frozen=True)
class Duration:
    start_date: dt.date
    months: int
    tacit_renewal: bool = False
    renewal_months: int | None = None  # length of each renewal; defaults to `months`
    max_renewals: int | None = None  # None: no limit stated (tacit) / renewal by amendment (express)
    notice_months: int = 2  # préavis de non-reconduction

    @property
    def end_date(self) -> dt.date:
        return add_months(self.start_date, self.months) - dt.timedelta(days=1)


@dataclass(frozen=True)
class Premises:
    """What an EPN puts at disposal (model "mise à disposition")."""

    place: str
    equipment: tuple[str, ...] = ()
    schedule: str = ""  # créneaux
    staff: str = ""  # accompagnement par un médiateur numérique


@dataclass(frozen=True)
class SchoolDetails:
    """Specifics of a partnership with a school (model "partenariat EPN–école")."""

    classes: str  # e.g. "deux classes de CM2"
    schedule: str = ""
    supervision: str = ""  # who supervises the pupils during sessions


@dataclass(frozen=True)
class Signatory:
    party_key: str
    name: str
    title: str


@dataclass(frozen=True)
class ConventionContent:
    title: str
    parties: tuple[Party, ...]
    action_title: str
    purpose: str  # objet: what the partnership is for, in one or two sentences
    duration: Duration
    commitments: tuple[Commitment, ...]
    signatories: tuple[Signatory, ...]
    place_of_signature: str
    reference: str = ""
    objectives: tuple[str, ...] = ()
    target_publics: tuple[str, ...] = ()
    finances: FinancialTerms | None = None
    evaluation_indicators: tuple[str, ...] = ()
    evaluation_frequency: str = "une fois par an et au terme de la convention"
    communication: str = ""  # specific communication agreement, if any
    termination_notice_months: int = 3
    jurisdiction: str = ""  # e.g. "le tribunal administratif de Lyon"
    premises: Premises | None = None
    school: SchoolDetails | None = None
    signature_date: dt.date | None = None  # None: left blank, filled by the signature circuit
    version: int = 1
    extra: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    def __post_init__(self) -> None:
        keys = [party.key for party in self.parties]
        if len(self.parties) < 2:
            raise ContentError("Une convention lie au moins deux parties.")
        if len(set(keys)) != len(keys):
            raise ContentError("Deux parties portent le même identifiant.")
        for commitment in self.commitments:
            if commitment.party_key not in keys:
                raise ContentError(f"L'engagement « {commitment.text} » vise une partie inconnue.")
        for signatory in self.signatories:
            if signatory.party_key not in keys:
                raise ContentError(f"Le signataire {signatory.name} représente une partie inconnue.")
        if self.duration.months <= 0:
            raise ContentError("La durée de la convention doit être d'au moins un mois.")
        if self.finances:
            for line in self.finances.lines:
                if line.party_key is not None and line.party_key not in keys:
                    raise ContentError(f"La ligne budgétaire « {line.label} » vise une partie inconnue.")

    def party(self, key: str) -> Party:
        for party in self.parties:
            if party.key == key:
                return party
        raise KeyError(key)

    def commitments_of(self, key: str) -> tuple[Commitment, ...]:
        return tuple(c for c in self.commitments if c.party_key == key)

    def first_of_kind(self, kind: PartyKind) -> Party | None:
        return next((p for p in self.parties if p.kind == kind), None)


# Phrases used to turn a task-matrix cell into a commitment sentence. The verb
# depends on the role: the seed insists that the EPN neither substitutes for
# its partners nor acts as their contractor, so "contributeur" must read as
# a contribution, never as the whole task.
_ROLE_PHRASES = {
    TaskRole.PILOTE: "assurer {domain}",
    TaskRole.CONTRIBUTEUR: "contribuer à {domain}",
    TaskRole.INFORME: "être destinataire des informations relatives à {domain}",
}

_DOMAIN_PHRASES = {
    "gestion": "la gestion et le suivi du projet",
    "communication": "la communication autour de l'action",
    "evaluation": "l'évaluation de l'action",
    "mobilisation": "la mobilisation et l'orientation des publics",
    "animation": "l'animation des séances",
    "logistique": "la logistique (locaux, matériel, accueil)",
    "financement": "le financement de l'action",
}


def commitments_from_tasks(assignments: Iterable[TaskAssignment]) -> tuple[Commitment, ...]:
    """Turn the action's task matrix into commitment phrases, one per cell.

    A cell's ``detail``, when given, is appended so the partners' own words
    survive in the convention.
    """
    commitments = []
    for task in assignments:
        domain_text = _DOMAIN_PHRASES.get(task.domain, task.domain)
        sentence = _ROLE_PHRASES[task.role].format(domain=domain_text)
        sentence = sentence.replace("à le ", "au ").replace("de le ", "du ")
        if task.detail:
            sentence = f"{sentence} : {task.detail.rstrip('.')}"
        commitments.append(Commitment(party_key=task.party_key, text=sentence, domain=task.domain))
    return tuple(commitments)


def add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    last_day = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last_day))


def format_date(day: dt.date) -> str:
    """French long date: "1er septembre 2025"."""
    day_text = "1er" if day.day == 1 else str(day.day)
    return f"{day_text} {MONTHS_FR[day.month - 1]} {day.year}"


def format_amount(amount: Decimal) -> str:
    """French currency: "1 234,50 €" (narrow no-break spaces, as typographers want)."""
    rounded = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    integer, _, cents = f"{rounded:,.2f}".partition(".")
    integer = integer.replace(",", "\u202f")
    return f"{integer},{cents}\u00a0€"


def format_months(months: int) -> str:
    if months % 12 == 0:
        years = months // 12
        return "un an" if years == 1 else f"{years} ans"
    return "un mois" if months == 1 else f"{months} mois"
