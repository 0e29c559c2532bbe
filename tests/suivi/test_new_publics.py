import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from ancrage.suivi.health import PartnershipFacts, score_partnership
from ancrage.suivi.new_publics import (
    Action,
    Attendance,
    Criteria,
    Objective,
    Participant,
    PartnershipOverview,
    Usager,
    is_new_public,
    new_publics,
    new_publics_by_partner,
    participants_from_attendance,
    partner_fit,
    results_against_objectives,
    three_questions,
)

D = dt.date
START, END = D(2025, 3, 1), D(2025, 6, 30)
SENIORS = Criteria(min_age=60)
QUARTIER = Criteria(sectors=frozenset({"quartier-x"}))


def action(**overrides):
    values = dict(
        id="A1",
        title="Ateliers seniors",
        start=START,
        end=END,
        targets=(SENIORS, QUARTIER),
        objectives=(
            Objective("Participants", 40),
            Objective("dont 60 ans et plus", 25, SENIORS),
            Objective("dont habitants du quartier X", 15, QUARTIER),
            Objective("Nouveaux usagers", 10, new_publics_only=True),
        ),
    )
    values.update(overrides)
    return Action(**values)


def usager(i, birth_year=1950, sector="centre", first_visit=START + dt.timedelta(days=31), categories=()):
    return Usager(
        i, birth_year=birth_year, sector=sector, first_visit=first_visit, categories=frozenset(categories)
    )


def test_new_public_rules():
    a = action()
    assert is_new_public(usager(1), a)  # senior, first visit during the action
    assert is_new_public(
        usager(2, birth_year=1990, sector="quartier-x"), a
    )  # young, but from the targeted sector
    assert not is_new_public(usager(3, birth_year=1990), a)  # outside every target
    assert not is_new_public(usager(4, first_visit=D(2024, 12, 1)), a)  # already came before
    assert not is_new_public(usager(5, first_visit=D(2025, 7, 1)), a)  # first visit after the action
    assert not is_new_public(usager(6, first_visit=None), a)  # unknown: cannot be shown
    assert is_new_public(usager(7, first_visit=START), a) and is_new_public(usager(8, first_visit=END), a)
    assert not is_new_public(usager(9, birth_year=None), action(targets=(SENIORS,)))
    assert is_new_public(usager(10, birth_year=1990), action(targets=()))  # no target: any newcomer


def test_age_uses_the_reference_year():
    assert SENIORS.matches(usager(1, birth_year=1965), 2025)
    assert not SENIORS.matches(usager(1, birth_year=1966), 2025)
    assert Criteria(max_age=17).matches(usager(1, birth_year=2008), 2025)
    assert Criteria(categories=frozenset({"demandeur_emploi"}), sex="F").matches(
        Usager(1, sex="F", categories=frozenset({"demandeur_emploi", "qpv"})), 2025
    )


def test_results_against_objectives_known_case():
    people = (
        [Participant(usager(i, birth_year=1955, sector="quartier-x")) for i in range(10)]  # seniors from X
        + [
            Participant(usager(100 + i, birth_year=1958, first_visit=D(2020, 1, 1))) for i in range(18)
        ]  # old seniors
        + [
            Participant(usager(200 + i, birth_year=1990, sector="quartier-x")) for i in range(4)
        ]  # young from X
        + [Participant(usager(300 + i, birth_year=1990)) for i in range(10)]  # outside targets
    )
    results = results_against_objectives(action(), people)
    assert [(r.reached, r.met, r.gap) for r in results] == [
        (42, True, 0),
        (28, True, 0),
        (14, False, 1),
        (14, True, 0),
    ]
    assert results[2].note == "dont habitants du quartier X : 14 sur 15, il en manque 1."
    assert results[0].note == "Participants : 42 sur 40, objectif atteint."
    assert "année de naissance" in results[1].note and "année de naissance" not in results[0].note


def test_participants_from_attendance_keep_the_first_orientation():
    u1, u2, u3 = usager(1), usager(2), usager(3)
    records = [
        Attendance(u1, D(2025, 4, 8), oriented_by="ccas"),
        Attendance(u1, D(2025, 4, 1)),
        Attendance(u1, D(2025, 4, 15), oriented_by="mission-locale"),
        Attendance(u2, D(2025, 4, 1), present=False, oriented_by="ccas"),
        Attendance(u3, D(2025, 4, 1), oriented_by="asso"),
    ]
    participants = {p.usager.id: p.oriented_by for p in participants_from_attendance(records)}
    assert participants == {1: "ccas", 3: "asso"}


def test_new_publics_by_partner_counts_people_once():
    a, b = action(), action(id="A2", start=D(2025, 1, 1), end=D(2025, 12, 31))
    p_a = [
        Participant(usager(1), "ccas"),
        Participant(usager(2), "ccas"),
        Participant(usager(3, first_visit=D(2019, 1, 1)), "ccas"),  # not new
        Participant(usager(4), None),
        Participant(usager(5), "asso"),
    ]
    p_b = [Participant(usager(1), "ccas"), Participant(usager(6), "asso")]
    assert new_publics_by_partner([(a, p_a), (b, p_b)]) == {"ccas": 2, "asso": 2}
    assert [p.usager.id for p in new_publics(a, p_a)] == [1, 2, 4, 5]


def overview(name, *, new_publics_sent=0, in_force=True, status="", reaches=None, **health):
    h = score_partnership(PartnershipFacts(partner=name, on=D(2025, 12, 6), **health))
    return PartnershipOverview(name, name, h, in_force, status, new_publics_sent, reaches or Criteria())


def test_three_questions():
    healthy = dict(
        convention_in_force=True,
        last_contact=D(2025, 11, 1),
        participants=20,
        new_publics=10,
        oriented_by=5,
        promotions_by_epn=1,
        promotions_by_partner=1,
        since=D(2022, 1, 1),
    )
    ccas = overview(
        "CCAS", new_publics_sent=12, reaches=Criteria(categories=frozenset({"seniors"})), **healthy
    )
    ml = overview(
        "Mission locale",
        new_publics_sent=12,
        reaches=Criteria(categories=frozenset({"15-29"}), sectors=frozenset({"quartier-x"})),
        **{**healthy, "convention_in_force": False},
        in_force=False,
        status="Convention expirée le 31/08/2025",
    )
    club = overview("Club photo", in_force=False, status="Aucune convention", last_contact=D(2025, 1, 1))
    ecole = overview(
        "École Jules-Ferry",
        new_publics_sent=3,
        **{**healthy, "promotions_by_partner": 0, "convention_in_force": False},
        in_force=False,
    )
    targets = [Criteria(categories=frozenset({"15-29"}), sectors=frozenset({"quartier-x"})), QUARTIER]

    answer = three_questions([club, ecole, ml, ccas], targets)
    assert [(r.partnership.name, r.new_publics_sent, r.fit) for r in answer.partners_for_new_publics] == [
        ("Mission locale", 12, 2),
        ("CCAS", 12, 0),
        ("École Jules-Ferry", 3, 0),
        ("Club photo", 0, 0),
    ]
    assert [(r.partnership.name, r.reasons[0]) for r in answer.at_risk] == [
        ("Club photo", "Aucune convention en vigueur")
    ]
    assert [r.partnership.name for r in answer.to_watch] == ["École Jules-Ferry"]
    assert [p.name for p in answer.without_convention] == [
        "Club photo",
        "École Jules-Ferry",
        "Mission locale",
    ]


def test_partner_fit():
    assert partner_fit(Criteria(sectors=frozenset({"x"})), Criteria(sectors=frozenset({"x", "y"})))
    assert not partner_fit(Criteria(sectors=frozenset({"z"})), Criteria(sectors=frozenset({"x"})))
    assert not partner_fit(Criteria(), Criteria(sectors=frozenset({"x"})))  # vacuous
    assert partner_fit(
        Criteria(categories=frozenset({"seniors"})),
        Criteria(categories=frozenset({"seniors"}), sectors=frozenset({"x"})),
    )


@given(
    st.lists(
        st.tuples(
            st.integers(1930, 2015),
            st.sampled_from(["quartier-x", "centre", None]),
            st.dates(D(2024, 1, 1), D(2026, 1, 1)),
        ),
        max_size=60,
    )
)
def test_objective_figures_are_consistent(rows):
    people = [
        Participant(usager(i, birth_year=b, sector=s, first_visit=f)) for i, (b, s, f) in enumerate(rows)
    ]
    total, seniors, quartier, newcomers = (r.reached for r in results_against_objectives(action(), people))
    assert total == len(people)
    assert seniors <= total and quartier <= total and newcomers <= total
    # Every new public is in a target, so it is a senior or lives in the quartier.
    assert newcomers <= seniors + quartier
