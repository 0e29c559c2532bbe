from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ancrage.actions.budget import (
    BudgetError,
    ContributorKind,
    ExpenseCategory,
    ExpenseLine,
    ResourceCategory,
    ResourceLine,
    format_euros,
    percent,
    summarise,
)

D = Decimal
E, R, K = ExpenseCategory, ResourceCategory, ContributorKind


def atelier_seniors():
    expenses = [
        ExpenseLine("Tablettes", E.ACHATS, D("1200.00")),
        ExpenseLine("Impression des affiches", E.AUTRES_SERVICES_EXTERIEURS, D("300")),
        ExpenseLine("Temps d'animation", E.CHARGES_DE_PERSONNEL, D("4500.00")),
        ExpenseLine("Salle du centre social", E.MISE_A_DISPOSITION_GRATUITE, D("800.00")),
        ExpenseLine("Bénévoles accompagnants", E.PERSONNEL_BENEVOLE, D("400.00")),
    ]
    resources = [
        ResourceLine("Subvention commune", R.SUBVENTIONS, D("3000.00"), "Commune de Melun", K.FINANCEUR),
        ResourceLine("Conférence des financeurs", R.SUBVENTIONS, D("2000.00"), "Département", K.FINANCEUR),
        ResourceLine("Fonds propres", R.FONDS_PROPRES, D("1000.00"), "EPN", K.PORTEUR),
        ResourceLine(
            "Salle mise à disposition", R.PRESTATIONS_EN_NATURE, D("800.00"), "Centre social", K.PARTENAIRE
        ),
        ResourceLine("Bénévoles du club", R.BENEVOLAT, D("400.00"), "Club des aînés", K.PARTENAIRE),
    ]
    return expenses, resources


def test_known_balanced_budget():
    summary = summarise(*atelier_seniors())
    assert summary.is_balanced and summary.problems == []
    assert summary.charges_cash == D("6000.00")
    assert summary.charges_in_kind == D("1200.00")
    assert summary.resources_cash == D("6000.00")
    assert summary.resources_in_kind == D("1200.00")
    assert summary.total_charges == summary.total_resources == D("7200.00")
    assert summary.balance == 0
    assert summary.charges_by_category[E.ACHATS] == D("1200.00")
    assert summary.resources_by_category[R.SUBVENTIONS] == D("5000.00")


def test_co_financing_per_contributor():
    summary = summarise(*atelier_seniors())
    first = summary.contributions[0]
    assert (first.contributor, first.cash, first.in_kind, first.total) == (
        "Commune de Melun",
        D("3000.00"),
        0,
        D("3000.00"),
    )
    assert first.share == D("41.7")  # 3000 / 7200
    assert first.cash_share == D("50.0")  # 3000 / 6000
    partners = {c.contributor: c for c in summary.partners}
    assert partners["Centre social"].in_kind == D("800.00")
    assert partners["Centre social"].cash_share == D("0.0")
    assert partners["Club des aînés"].share == D("5.6")
    assert [c.contributor for c in summary.funders] == ["Commune de Melun", "Département"]


def test_same_contributor_lines_are_added():
    expenses = [ExpenseLine("Achat", E.ACHATS, D("150.00"))]
    resources = [
        ResourceLine("Subvention", R.SUBVENTIONS, D("100.00"), "CAF", K.FINANCEUR),
        ResourceLine("Complément", R.SUBVENTIONS, D("50.00"), " CAF ", K.FINANCEUR),
    ]
    summary = summarise(expenses, resources)
    assert len(summary.contributions) == 1 and summary.contributions[0].total == D("150.00")
    assert summary.contributions[0].share == D("100.0")


def test_cash_deficit_message():
    expenses, resources = atelier_seniors()
    expenses.append(ExpenseLine("Goûter", E.ACHATS, D("1500.00")))
    summary = summarise(expenses, resources)
    assert not summary.is_balanced
    assert summary.balance == D("-1500.00")
    assert summary.problems == [
        "Budget en numéraire : les charges (7\u202f500,00\u00a0€) dépassent les ressources "
        "(6\u202f000,00\u00a0€) "
        "de 1\u202f500,00\u00a0€. Ajustez une charge ou une ressource : le budget prévisionnel doit être "
        "présenté à l'équilibre."
    ]


def test_in_kind_must_balance_separately():
    expenses, resources = atelier_seniors()
    # Totals balance overall, but a cash surplus hides an in-kind contribution with no use.
    expenses.append(ExpenseLine("Achat", E.ACHATS, D("100.00")))
    resources.append(
        ResourceLine("Don de matériel", R.DONS_EN_NATURE, D("100.00"), "Entreprise", K.PARTENAIRE)
    )
    summary = summarise(expenses, resources)
    assert summary.balance == 0
    assert not summary.is_balanced
    assert len(summary.problems) == 2
    assert summary.problems[1].startswith("Contributions volontaires en nature : les ressources")
    assert "compte 86" in summary.problems[1]


def test_one_cent_is_an_imbalance():
    summary = summarise(
        [ExpenseLine("A", E.ACHATS, D("100.00"))], [ResourceLine("S", R.SUBVENTIONS, D("99.99"), "Commune")]
    )
    assert not summary.is_balanced and "0,01\u00a0€" in summary.problems[0]


def test_empty_budget_is_reported():
    summary = summarise([], [])
    assert summary.problems == [
        "Le budget ne comporte aucune charge.",
        "Le budget ne comporte aucune ressource.",
    ]


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (12.5, "nombre décimal exact"),
        (D("-1"), "négatif"),
        (D("1.005"), "deux décimales"),
        (D("NaN"), "invalide"),
        (True, "nombre décimal exact"),
    ],
)
def test_invalid_amounts_are_refused(amount, message):
    with pytest.raises(BudgetError, match=message):
        ExpenseLine("Tablettes", E.ACHATS, amount)


def test_resource_needs_a_contributor():
    with pytest.raises(BudgetError, match="indiquez qui apporte"):
        ResourceLine("Subvention", R.SUBVENTIONS, D("1"), "  ")


def test_categories_and_labels():
    assert E.PERSONNEL_BENEVOLE.in_kind and not E.ACHATS.in_kind
    assert R.BENEVOLAT.in_kind and not R.FONDS_PROPRES.in_kind
    assert all(c.label for c in E) and all(c.label for c in R) and all(k.label for k in K)
    assert ExpenseLine("x", "60", D("1")).category == E.ACHATS


def test_format_and_percent():
    assert format_euros(D("0")) == "0,00\u00a0€"
    assert format_euros(D("1234567.891")) == "1\u202f234\u202f567,89\u00a0€"
    assert format_euros(D("-50")) == "-50,00\u00a0€"
    assert percent(D("1"), D("3")) == D("33.3")
    assert percent(D("1"), D("0")) == D("0.0")


amounts = st.decimals(min_value=0, max_value=D("1000000"), places=2, allow_nan=False, allow_infinity=False)


@given(
    st.lists(st.tuples(st.sampled_from(list(E)), amounts), max_size=20),
    st.lists(
        st.tuples(st.sampled_from(list(R)), amounts, st.sampled_from(["CAF", "Commune", "EPN"])), max_size=20
    ),
)
def test_totals_are_exact(expense_rows, resource_rows):
    expenses = [ExpenseLine(f"c{i}", c, a) for i, (c, a) in enumerate(expense_rows)]
    resources = [ResourceLine(f"r{i}", c, a, who) for i, (c, a, who) in enumerate(resource_rows)]
    summary = summarise(expenses, resources)
    assert summary.total_charges == sum((a for _, a in expense_rows), D(0))
    assert summary.total_resources == sum((a for _, a, _ in resource_rows), D(0))
    assert sum(summary.charges_by_category.values(), D(0)) == summary.total_charges
    assert sum(summary.resources_by_category.values(), D(0)) == summary.total_resources
    assert sum((c.total for c in summary.contributions), D(0)) == summary.total_resources
    assert summary.balance == summary.total_resources - summary.total_charges
    balanced = (
        summary.charges_cash == summary.resources_cash
        and summary.charges_in_kind == summary.resources_in_kind
    )
    assert summary.is_balanced == (balanced and bool(expenses) and bool(resources))
    if summary.total_resources:
        # Rounded shares never drift from 100 % by more than half a tenth per contributor.
        drift = abs(sum((c.share for c in summary.contributions), D(0)) - 100)
        assert drift <= D("0.05") * len(summary.contributions)


@given(st.lists(amounts, min_size=1, max_size=30))
def test_mirrored_budget_always_balances(values):
    expenses = [ExpenseLine(f"c{i}", E.ACHATS, a) for i, a in enumerate(values)]
    resources = [ResourceLine(f"r{i}", R.SUBVENTIONS, a, f"F{i % 3}") for i, a in enumerate(reversed(values))]
    assert summarise(expenses, resources).is_balanced
