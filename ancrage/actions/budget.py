"""Budget prévisionnel of an action, laid out as French budget forms do (Cerfa n° 12156).

The action owns its budget (``actions.models.ChargeAction``, ``RessourceAction``); the dossier
reads it, and keeps a copy once deposited; the convention's financial clause is generated from it
(``conventions.financement``).

Pure module: no Django. Amounts are ``Decimal`` euros with at most two decimals; floats are
refused because a budget that balances on screen must balance exactly.

Charges use the classes 60 to 68 of the plan comptable associatif, resources the classes 70 to
78. In-kind contributions (bénévolat, mise à disposition gratuite de locaux ou de personnel,
dons en nature) are valued and shown apart, in the comptes 86 (emplois) and 87 (contributions),
as the Cerfa asks: they must balance each other, and they do not count as cash co-financing.

Each resource line names its contributor: the structure porteuse itself (fonds propres), a
partenaire of the action, or a financeur (collectivité, État, CAF…). Co-financing is reported per
contributor, with its share of the total.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
NARROW_NBSP = "\u202f"
NBSP = "\u00a0"


class ExpenseCategory(enum.StrEnum):
    ACHATS = "60"
    SERVICES_EXTERIEURS = "61"
    AUTRES_SERVICES_EXTERIEURS = "62"
    IMPOTS_ET_TAXES = "63"
    CHARGES_DE_PERSONNEL = "64"
    AUTRES_CHARGES_GESTION = "65"
    CHARGES_FINANCIERES = "66"
    CHARGES_EXCEPTIONNELLES = "67"
    DOTATIONS_AMORTISSEMENTS = "68"
    # Compte 86: the valued use of what was given in kind.
    MISE_A_DISPOSITION_GRATUITE = "861"
    PRESTATIONS_EN_NATURE = "862"
    PERSONNEL_BENEVOLE = "864"

    @property
    def label(self) -> str:
        return EXPENSE_LABELS[self]

    @property
    def in_kind(self) -> bool:
        return self.value.startswith("86")


EXPENSE_LABELS = {
    ExpenseCategory.ACHATS: "60 – Achats",
    ExpenseCategory.SERVICES_EXTERIEURS: "61 – Services extérieurs",
    ExpenseCategory.AUTRES_SERVICES_EXTERIEURS: "62 – Autres services extérieurs",
    ExpenseCategory.IMPOTS_ET_TAXES: "63 – Impôts et taxes",
    ExpenseCategory.CHARGES_DE_PERSONNEL: "64 – Charges de personnel",
    ExpenseCategory.AUTRES_CHARGES_GESTION: "65 – Autres charges de gestion courante",
    ExpenseCategory.CHARGES_FINANCIERES: "66 – Charges financières",
    ExpenseCategory.CHARGES_EXCEPTIONNELLES: "67 – Charges exceptionnelles",
    ExpenseCategory.DOTATIONS_AMORTISSEMENTS: "68 – Dotations aux amortissements",
    ExpenseCategory.MISE_A_DISPOSITION_GRATUITE: "861 – Mise à disposition gratuite de biens et services",
    ExpenseCategory.PRESTATIONS_EN_NATURE: "862 – Prestations en nature",
    ExpenseCategory.PERSONNEL_BENEVOLE: "864 – Personnel bénévole",
}


class ResourceCategory(enum.StrEnum):
    VENTES_PRESTATIONS = "70"
    SUBVENTIONS = "74"
    AUTRES_PRODUITS_GESTION = "75"
    PRODUITS_FINANCIERS = "76"
    PRODUITS_EXCEPTIONNELS = "77"
    REPRISES = "78"
    FONDS_PROPRES = "fp"
    # Compte 87: contributions volontaires en nature.
    BENEVOLAT = "870"
    PRESTATIONS_EN_NATURE = "871"
    DONS_EN_NATURE = "875"

    @property
    def label(self) -> str:
        return RESOURCE_LABELS[self]

    @property
    def in_kind(self) -> bool:
        return self.value.startswith("87")


RESOURCE_LABELS = {
    ResourceCategory.VENTES_PRESTATIONS: "70 – Ventes de produits finis, prestations de services",
    ResourceCategory.SUBVENTIONS: "74 – Subventions d'exploitation",
    ResourceCategory.AUTRES_PRODUITS_GESTION: "75 – Autres produits de gestion courante",
    ResourceCategory.PRODUITS_FINANCIERS: "76 – Produits financiers",
    ResourceCategory.PRODUITS_EXCEPTIONNELS: "77 – Produits exceptionnels",
    ResourceCategory.REPRISES: "78 – Reprises sur amortissements et provisions",
    ResourceCategory.FONDS_PROPRES: "Fonds propres de la structure porteuse",
    ResourceCategory.BENEVOLAT: "870 – Bénévolat",
    ResourceCategory.PRESTATIONS_EN_NATURE: "871 – Prestations en nature",
    ResourceCategory.DONS_EN_NATURE: "875 – Dons en nature",
}


class ContributorKind(enum.StrEnum):
    PORTEUR = "porteur"
    PARTENAIRE = "partenaire"
    FINANCEUR = "financeur"

    @property
    def label(self) -> str:
        return {
            ContributorKind.PORTEUR: "structure porteuse",
            ContributorKind.PARTENAIRE: "partenaire",
            ContributorKind.FINANCEUR: "financeur",
        }[self]


class BudgetError(ValueError):
    """An invalid line; the message is in French and names the line."""


def _check_amount(amount: object, where: str) -> Decimal:
    if isinstance(amount, bool) or not isinstance(amount, Decimal | int):
        raise BudgetError(f"{where} : le montant doit être un nombre décimal exact (reçu {amount!r}).")
    amount = Decimal(amount)
    if not amount.is_finite():
        raise BudgetError(f"{where} : montant invalide.")
    if amount < 0:
        raise BudgetError(f"{where} : le montant ne peut pas être négatif ({format_euros(amount)}).")
    if amount != amount.quantize(CENT):
        raise BudgetError(f"{where} : le montant a plus de deux décimales ({amount}).")
    return amount.quantize(CENT)


@dataclass(frozen=True)
class ExpenseLine:
    label: str
    category: ExpenseCategory
    amount: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "category", ExpenseCategory(self.category))
        object.__setattr__(self, "amount", _check_amount(self.amount, f"Charge « {self.label} »"))

    @property
    def in_kind(self) -> bool:
        return self.category.in_kind


@dataclass(frozen=True)
class ResourceLine:
    label: str
    category: ResourceCategory
    amount: Decimal
    contributor: str
    contributor_kind: ContributorKind = ContributorKind.FINANCEUR
    #: Which party of the action brings it: "epn", "collectivite", "partenaire-<id>", or "" for a
    #: financeur outside the partnership (CAF, État…).
    party: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "category", ResourceCategory(self.category))
        object.__setattr__(self, "contributor_kind", ContributorKind(self.contributor_kind))
        object.__setattr__(self, "amount", _check_amount(self.amount, f"Ressource « {self.label} »"))
        if not self.contributor.strip():
            raise BudgetError(f"Ressource « {self.label} » : indiquez qui apporte cette ressource.")

    @property
    def in_kind(self) -> bool:
        return self.category.in_kind


@dataclass(frozen=True)
class Contribution:
    """What one contributor brings, in cash and in kind, and its share of all the resources."""

    contributor: str
    kind: ContributorKind
    cash: Decimal
    in_kind: Decimal
    total: Decimal
    #: Percentage of the total resources (cash + in kind), rounded to 0.1.
    share: Decimal
    #: Percentage of the cash resources, rounded to 0.1 (what the collectivité reads as co-financing).
    cash_share: Decimal
    #: The party key of the contributor (see ``ResourceLine.party``), "" outside the partnership.
    party: str = ""


@dataclass(frozen=True)
class BudgetSummary:
    charges_cash: Decimal
    charges_in_kind: Decimal
    resources_cash: Decimal
    resources_in_kind: Decimal
    charges_by_category: dict[ExpenseCategory, Decimal]
    resources_by_category: dict[ResourceCategory, Decimal]
    contributions: list[Contribution]
    problems: list[str] = field(default_factory=list)

    @property
    def total_charges(self) -> Decimal:
        return self.charges_cash + self.charges_in_kind

    @property
    def total_resources(self) -> Decimal:
        return self.resources_cash + self.resources_in_kind

    @property
    def balance(self) -> Decimal:
        """Resources minus charges: positive is a surplus, negative a deficit."""
        return self.total_resources - self.total_charges

    @property
    def is_balanced(self) -> bool:
        return not self.problems

    def by_kind(self, kind: ContributorKind) -> list[Contribution]:
        return [c for c in self.contributions if c.kind == kind]

    @property
    def partners(self) -> list[Contribution]:
        return self.by_kind(ContributorKind.PARTENAIRE)

    @property
    def funders(self) -> list[Contribution]:
        return self.by_kind(ContributorKind.FINANCEUR)


def format_euros(amount: Decimal) -> str:
    """French money format: narrow no-break space between thousands, comma, euro sign."""
    amount = Decimal(amount).quantize(CENT, rounding=ROUND_HALF_EVEN)
    sign = "-" if amount < 0 else ""
    units, cents = f"{abs(amount):.2f}".split(".")
    groups = []
    while units:
        groups.insert(0, units[-3:])
        units = units[:-3]
    return f"{sign}{NARROW_NBSP.join(groups)},{cents}{NBSP}€"


def percent(part: Decimal, whole: Decimal) -> Decimal:
    if not whole:
        return Decimal("0.0")
    return (part * 100 / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN)


def _imbalance(what: str, charges: Decimal, resources: Decimal, advice: str) -> str | None:
    if charges == resources:
        return None
    gap = abs(charges - resources)
    if charges > resources:
        return (
            f"{what} : les charges ({format_euros(charges)}) dépassent les ressources "
            f"({format_euros(resources)}) de {format_euros(gap)}. {advice}"
        )
    return (
        f"{what} : les ressources ({format_euros(resources)}) dépassent les charges "
        f"({format_euros(charges)}) de {format_euros(gap)}. {advice}"
    )


def summarise(expenses: Iterable[ExpenseLine], resources: Iterable[ResourceLine]) -> BudgetSummary:
    """Totals, co-financing and the balance check (to the cent: tolerance zero)."""
    expenses, resources = list(expenses), list(resources)

    charges_by_category: dict[ExpenseCategory, Decimal] = {}
    for line in expenses:
        charges_by_category[line.category] = charges_by_category.get(line.category, ZERO) + line.amount
    resources_by_category: dict[ResourceCategory, Decimal] = {}
    for line in resources:
        resources_by_category[line.category] = resources_by_category.get(line.category, ZERO) + line.amount

    charges_cash = sum((line.amount for line in expenses if not line.in_kind), ZERO)
    charges_in_kind = sum((line.amount for line in expenses if line.in_kind), ZERO)
    resources_cash = sum((line.amount for line in resources if not line.in_kind), ZERO)
    resources_in_kind = sum((line.amount for line in resources if line.in_kind), ZERO)
    total_resources = resources_cash + resources_in_kind

    # Keyed by (name, kind): the same organisation can be partenaire of the action and financeur.
    grouped: dict[tuple[str, ContributorKind, str], list[Decimal]] = {}
    for line in resources:
        key = (line.contributor.strip(), line.contributor_kind, line.party)
        amounts = grouped.setdefault(key, [ZERO, ZERO])
        amounts[1 if line.in_kind else 0] += line.amount
    contributions = [
        Contribution(
            contributor=name,
            kind=kind,
            cash=cash,
            in_kind=in_kind,
            total=cash + in_kind,
            share=percent(cash + in_kind, total_resources),
            cash_share=percent(cash, resources_cash),
            party=party,
        )
        for (name, kind, party), (cash, in_kind) in grouped.items()
    ]
    contributions.sort(key=lambda c: (-c.total, c.contributor.casefold()))

    problems = []
    if not expenses:
        problems.append("Le budget ne comporte aucune charge.")
    if not resources:
        problems.append("Le budget ne comporte aucune ressource.")
    cash_problem = _imbalance(
        "Budget en numéraire",
        charges_cash,
        resources_cash,
        "Ajustez une charge ou une ressource : le budget prévisionnel doit être présenté à l'équilibre.",
    )
    in_kind_problem = _imbalance(
        "Contributions volontaires en nature",
        charges_in_kind,
        resources_in_kind,
        "Chaque contribution en nature reçue (compte 87) doit figurer pour le même montant en emploi "
        "(compte 86).",
    )
    problems += [p for p in (cash_problem, in_kind_problem) if p]

    return BudgetSummary(
        charges_cash=charges_cash,
        charges_in_kind=charges_in_kind,
        resources_cash=resources_cash,
        resources_in_kind=resources_in_kind,
        charges_by_category=charges_by_category,
        resources_by_category=resources_by_category,
        contributions=contributions,
        problems=problems,
    )
