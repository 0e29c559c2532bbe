"""What a convention says about money, decided from the action's budget.

Pure module: no Django. The financial article of every built-in model
(``modeles.base.financial_article``) and the financial commitments of Article « Engagements »
are written from :func:`decide`, so that the two can never disagree:

- a convention is **à titre gratuit** when no cash resource of the budget comes from a party of
  the convention other than the EPN, which carries the action (its fonds propres are no flow
  between the parties; a financeur outside the convention, such as the CAF, binds no party);
- otherwise each party that pays states its commitment with its amount, and the « Modalités de
  versement » typed by the user follow;
- in-kind contributions (comptes 86 and 87) are valued contributions « en nature », never
  financing, whatever the case.

A commitment typed by the user that speaks of financing in a convention à titre gratuit is a
contradiction the user must resolve: :func:`contradictions` names it, and the document is not
generated (``ContentError``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from ancrage.conventions.content import ConventionContent, FinancialTerms, PartyKind

ZERO = Decimal("0")

#: Words that commit a party to pay. None of them may appear in a convention à titre gratuit.
FINANCING_WORDS = re.compile(
    r"financement|financer|cofinanc|participation financière|subvention|s['’]engage à verser|"
    r"\bverser (une|un|la|le|sa|son|ses|les|des)\b",
    re.IGNORECASE,
)
FREE_WORDS = "à titre gratuit"


@dataclass(frozen=True)
class Contributor:
    """What one contributor brings: a party of the convention (``party_key``) or not (None)."""

    party_key: str | None
    name: str
    cash: Decimal = ZERO
    in_kind: Decimal = ZERO


@dataclass(frozen=True)
class FinancialDecision:
    #: No cash flows between the parties: the convention is « à titre gratuit ».
    free: bool
    #: The party that carries the action and receives the parties' payments (the EPN).
    beneficiary_key: str | None
    #: Parties other than the beneficiary that pay cash, in the order of the parties.
    paying: tuple[Contributor, ...]
    #: Parties that bring something in kind (the beneficiary included).
    in_kind: tuple[Contributor, ...]
    #: The beneficiary's own cash (fonds propres, its own receipts).
    own_funds: Decimal
    #: Contributors that are not parties of the convention (they bind no party).
    outside: tuple[Contributor, ...]
    total_charges: Decimal
    total_resources: Decimal
    payment_terms: str = ""

    def cash_of(self, party_key: str) -> Decimal:
        return sum((c.cash for c in self.paying if c.party_key == party_key), ZERO)

    def in_kind_of(self, party_key: str) -> Decimal:
        return sum((c.in_kind for c in self.in_kind if c.party_key == party_key), ZERO)


def decide(content: ConventionContent) -> FinancialDecision:
    """The financial position of each party, from ``content.finances`` (None: no budget)."""
    finances = content.finances or FinancialTerms(lines=())
    epn = content.first_of_kind(PartyKind.EPN)
    beneficiary = epn.key if epn else None
    by_party: dict[str, list[Decimal]] = {}
    outside: dict[str, list[Decimal]] = {}
    for line in finances.resources:
        if line.party_key is not None:
            amounts = by_party.setdefault(line.party_key, [ZERO, ZERO])
        else:
            amounts = outside.setdefault(line.contributor or line.label, [ZERO, ZERO])
        amounts[1 if line.in_kind else 0] += line.amount
    paying, in_kind = [], []
    for party in content.parties:  # the order of the document
        cash, kind = by_party.get(party.key, (ZERO, ZERO))
        if cash and party.key != beneficiary:
            paying.append(Contributor(party.key, party.name, cash=cash))
        if kind:
            in_kind.append(Contributor(party.key, party.name, in_kind=kind))
    return FinancialDecision(
        free=not paying,
        beneficiary_key=beneficiary,
        paying=tuple(paying),
        in_kind=tuple(in_kind),
        own_funds=by_party.get(beneficiary, (ZERO, ZERO))[0] if beneficiary else ZERO,
        outside=tuple(Contributor(None, name, cash, kind) for name, (cash, kind) in outside.items()),
        total_charges=finances.total_charges,
        total_resources=finances.total_resources,
        payment_terms=finances.payment_terms.strip(),
    )


def financing_commitment(decision: FinancialDecision, party_key: str, amount_text) -> str | None:
    """The « s'engage à : » phrase of a party's financing task, as the budget has it.

    ``amount_text`` formats an amount (``content.format_amount``). None: the party brings nothing
    to the budget, so the task-matrix cell gives no commitment (rather than a promise of money
    the financial article does not hold)."""
    cash = decision.cash_of(party_key)
    kind = decision.in_kind_of(party_key)
    if cash:
        text = (
            f"contribuer au financement de l'action à hauteur de {amount_text(cash)}, dans les "
            "conditions prévues à l'article « Dispositions financières »"
        )
        if kind:
            text += f", et lui apporter une contribution en nature valorisée à {amount_text(kind)}"
        return text
    if party_key == decision.beneficiary_key and decision.own_funds:
        if decision.free:
            return f"affecter à l'action {amount_text(decision.own_funds)} de ses fonds propres"
        return (
            f"affecter à l'action {amount_text(decision.own_funds)} de ses fonds propres et "
            "assurer la gestion des participations reçues"
        )
    if kind:
        return f"apporter à l'action une contribution en nature valorisée à {amount_text(kind)}"
    return None


def contradictions(content: ConventionContent, decision: FinancialDecision | None = None) -> list[str]:
    """The commitments typed by the user that promise money in a convention à titre gratuit."""
    decision = decision or decide(content)
    if not decision.free:
        return []
    problems = []
    if decision.payment_terms:
        problems.append(
            f"Les modalités de versement « {decision.payment_terms} » supposent un versement, mais le "
            "budget de l'action n'en prévoit aucun entre les parties. Ajoutez au budget de l'action la "
            "participation de la partie qui verse, ou videz le champ « Modalités de versement »."
        )
    for commitment in content.commitments:
        if commitment.domain == "financement":
            continue  # rewritten from the budget (``financing_commitment``)
        if FINANCING_WORDS.search(commitment.text):
            party = content.party(commitment.party_key)
            problems.append(
                f"L'engagement « {commitment.text} » ({party.designation}) parle de financement, "
                "mais le budget de l'action ne prévoit aucun versement entre les parties : la "
                "convention serait à la fois « à titre gratuit » et un engagement de financement. "
                "Corrigez l'engagement, ou ajoutez au budget de l'action la participation de cette partie."
            )
    return problems
