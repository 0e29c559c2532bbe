"""The financial clause is generated from the budget and never contradicts itself (pure, no
database): over random budgets with and without co-financing, every built-in model's text either
states each paying party's commitment with its amount, or says « à titre gratuit », never both."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ancrage.conventions import financement
from ancrage.conventions.content import (
    BudgetLine,
    Commitment,
    ContentError,
    ConventionContent,
    Duration,
    FinancialTerms,
    Party,
    PartyKind,
    Premises,
    SchoolDetails,
    Signatory,
    TaskAssignment,
    TaskRole,
    commitments_from_tasks,
    format_amount,
)
from ancrage.conventions.modeles import MODELS, build_document
from tests.conventions.conftest import make_content
from tests.properties import examples

EPN = Party("epn", "EPN des Glycines", PartyKind.EPN, "l'EPN")
COLLECTIVITE = Party("collectivite", "Ville de Lyon", PartyKind.COLLECTIVITE, "la Commune")
PARTNERS = (
    Party("partenaire-1", "Association Lire", PartyKind.PARTENAIRE, "Association Lire"),
    Party("partenaire-2", "CCAS de Lyon", PartyKind.PARTENAIRE, "CCAS de Lyon"),
    Party("partenaire-3", "Centre social Ty", PartyKind.PARTENAIRE, "Centre social Ty"),
)
OUTSIDE = ("CAF du Rhône", "Département du Rhône", "Fondation Orange")

amounts = st.decimals(min_value=Decimal("1"), max_value=Decimal("50000"), places=2)


@st.composite
def contents(draw, *, cofinanced: bool | None = None):
    partners = draw(st.lists(st.sampled_from(PARTNERS), min_size=1, max_size=3, unique=True))
    parties = (EPN, *partners) + ((COLLECTIVITE,) if draw(st.booleans()) else ())
    keys = [p.key for p in parties]
    lines = [
        BudgetLine(label, draw(amounts), in_kind=in_kind)
        for label, in_kind in draw(
            st.lists(
                st.tuples(st.sampled_from(["64 – Charges de personnel", "60 – Achats"]), st.booleans()),
                max_size=3,
            )
        )
    ]
    resource = st.tuples(st.one_of(st.sampled_from(keys), st.sampled_from(OUTSIDE)), amounts, st.booleans())
    for who, amount, in_kind in draw(st.lists(resource, max_size=5)):
        if cofinanced is False and who in keys and who != "epn" and not in_kind:
            in_kind = True  # no cash from another party: the free case
        party_key = who if who in keys else None
        name = next((p.name for p in parties if p.key == who), who)
        lines.append(BudgetLine(name, amount, True, party_key, in_kind, name))
    if cofinanced:
        payer = draw(st.sampled_from([k for k in keys if k != "epn"]))
        name = next(p.name for p in parties if p.key == payer)
        lines.append(BudgetLine(name, draw(amounts), True, payer, False, name))
    decision_free = not any(
        line.is_resource and not line.in_kind and line.party_key not in (None, "epn") for line in lines
    )
    terms = (
        "" if decision_free else draw(st.sampled_from(["", "Versement en deux fois : 60 % à la signature."]))
    )
    # The task matrix may give the financing to anyone: its wording must follow the budget.
    tasks = [
        TaskAssignment(domain, draw(st.sampled_from(keys)), draw(st.sampled_from(list(TaskRole))))
        for domain in ("financement", "animation", "communication")
    ]
    return ConventionContent(
        title="Convention de test",
        parties=parties,
        action_title="Ateliers",
        purpose="Tester la clause financière.",
        duration=Duration(start_date=dt.date(2026, 1, 1), months=12),
        commitments=commitments_from_tasks(tasks),
        signatories=(Signatory("epn", "Mme Claire Dubois", "Responsable"),),
        place_of_signature="Lyon",
        finances=FinancialTerms(lines=tuple(lines), payment_terms=terms) if lines or terms else None,
        premises=Premises(place="Salle multimédia"),
        school=SchoolDetails(classes="deux classes de CM2"),
    )


def check_text(content: ConventionContent, text: str) -> None:
    decision = financement.decide(content)
    free = "à titre gratuit" in text
    assert free == decision.free
    if free:
        assert not financement.FINANCING_WORDS.search(text), financement.FINANCING_WORDS.search(text)
    finances = content.finances
    if finances is not None and finances.lines:
        if finances.charges:
            assert f"Total | {format_amount(finances.total_charges)}" in text
        if finances.resources:
            assert f"Total |  | {format_amount(finances.total_resources)}" in text
    for contributor in decision.paying:
        party = content.party(contributor.party_key)
        assert (
            f"s'engage à verser à l'EPN une participation financière de {format_amount(contributor.cash)}"
            in text
        )
        assert party.designation[:1].upper() + party.designation[1:] in text
    for contributor in decision.in_kind:
        assert f"contribution en nature valorisée à {format_amount(contributor.in_kind)}" in text
    for contributor in decision.outside:
        assert f"{contributor.name} ({format_amount(contributor.cash + contributor.in_kind)}" in text
    if not free and decision.payment_terms:
        assert decision.payment_terms in text


@given(contents())
@examples(40)
def test_random_budgets_never_say_both_financing_and_free(content):
    for slug in MODELS:
        check_text(content, build_document(slug, content).plain_text())


@given(contents(cofinanced=True))
@examples(20)
def test_cofinanced_budgets_state_each_partys_commitment(content):
    assert not financement.decide(content).free
    for slug in MODELS:
        check_text(content, build_document(slug, content).plain_text())


@given(contents(cofinanced=False))
@examples(20)
def test_budgets_without_cofinancing_are_free(content):
    assert financement.decide(content).free
    for slug in MODELS:
        text = build_document(slug, content).plain_text()
        check_text(content, text)
        assert "Modalités de versement" not in text


def test_the_reported_contradiction_is_gone():
    """The issue's convention: the intercommunalité « assure le financement » in the task matrix,
    and no budget. Article 4 no longer promises it, and the clause is free."""
    tasks = commitments_from_tasks([TaskAssignment("financement", "commune", TaskRole.PILOTE)])
    content = make_content(finances=None, commitments=tasks)
    text = build_document("partenariat_generique", content).plain_text()
    assert "à titre gratuit" in text and "financement" not in text


def test_typed_payment_terms_appear_or_are_refused():
    content = make_content()  # the Commune pays 800 €
    text = build_document("partenariat_generique", content).plain_text()
    assert content.finances.payment_terms in text
    assert "La Commune s'engage à verser à l'EPN une participation financière de 800,00" in text
    # Modalités de versement typed while nobody pays: a contradiction the user resolves.
    free = make_content(finances=FinancialTerms(lines=(), payment_terms="Subvention de 3 000 €."))
    with pytest.raises(ContentError, match="Modalités de versement|modalités de versement"):
        build_document("partenariat_generique", free)


def test_a_typed_financing_commitment_in_a_free_convention_is_refused():
    content = make_content(
        finances=None, commitments=(Commitment("commune", "assurer le financement de l'action"),)
    )
    with pytest.raises(ContentError, match="parle de financement"):
        build_document("partenariat_generique", content)


def test_in_kind_is_valued_not_financing():
    lines = (
        BudgetLine("Salle prêtée", Decimal("400"), in_kind=True),
        BudgetLine("Association", Decimal("400"), True, "asso", True, "Association"),
    )
    content = make_content(finances=FinancialTerms(lines=lines))
    text = build_document("partenariat_generique", content).plain_text()
    assert "à titre gratuit" in text
    assert "L'Association apporte à l'action une contribution en nature valorisée à 400,00" in text
    assert not financement.FINANCING_WORDS.search(text)
