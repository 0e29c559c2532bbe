import datetime as dt

from hypothesis import assume, given
from hypothesis import strategies as st

from ancrage.suivi.health import WEIGHTS, HealthLevel, PartnershipFacts, months_between, score_partnership

TODAY = dt.date(2025, 12, 6)


def facts(**overrides):
    values = dict(
        partner="Club des aînés",
        on=TODAY,
        convention_in_force=True,
        convention_end=dt.date(2026, 6, 30),
        last_contact=dt.date(2025, 11, 26),
        participants=20,
        new_publics=10,
        oriented_by=5,
        promotions_by_epn=1,
        promotions_by_partner=2,
        since=dt.date(2022, 9, 1),
        renewals=1,
    )
    values.update(overrides)
    return PartnershipFacts(**values)


def test_weights_add_up_to_100():
    assert sum(WEIGHTS.values()) == 100


def test_perfect_partnership():
    h = score_partnership(facts())
    assert h.score == 100 and h.level == HealthLevel.SOLIDE and h.reasons == ()
    assert h.explanation == (
        "Solide (100/100). Convention en vigueur ; dernier contact il y a 10 jours ; "
        "20 participants, 10 nouveaux publics atteints, 5 personnes orientées par le partenaire."
    )


def test_known_case_at_risk():
    h = score_partnership(
        facts(
            convention_end=dt.date(2025, 12, 31),
            last_contact=dt.date(2025, 5, 1),
            participants=12,
            new_publics=3,
            oriented_by=0,
            promotions_by_partner=0,
        )
    )
    points = {c.key: c.points for c in h.components}
    assert points == {"convention": 5, "contact": 0, "results": 7.8, "reciprocity": 5, "duration": 10}
    assert h.score == 28 and h.level == HealthLevel.A_RISQUE
    assert h.reasons == (
        "Aucun contact depuis 7 mois",
        "La convention expire dans 25 jours",
        "Résultats communs modestes : 12 participants, 3 nouveaux publics atteints",
    )
    assert h.explanation.startswith(
        "À risque (28/100). Aucun contact depuis 7 mois ; la convention expire dans 25 jours"
    )


def test_known_case_to_watch():
    h = score_partnership(
        facts(
            convention_in_force=False,
            convention_end=None,
            promotions_by_partner=0,
            since=dt.date(2025, 3, 1),
            renewals=0,
        )
    )
    assert h.score == 0 + 25 + 25 + 5 + 3
    assert h.level == HealthLevel.A_SURVEILLER
    assert h.reasons == ("Aucune convention en vigueur", "La promotion n'est faite que par l'EPN")


def test_no_convention_and_no_contact_is_at_risk_whatever_the_score():
    h = score_partnership(facts(convention_in_force=False, last_contact=None))
    assert h.score == 50
    assert h.level == HealthLevel.A_RISQUE
    assert h.reasons[:2] == ("Aucune convention en vigueur", "Aucun contact enregistré")


def test_convention_thresholds():
    def points(**kw):
        return score_partnership(facts(**kw)).components[0]

    assert points(convention_end=TODAY + dt.timedelta(days=91)).points == 25
    assert points(convention_end=TODAY + dt.timedelta(days=90)).points == 15
    assert points(convention_end=TODAY + dt.timedelta(days=31)).detail == "La convention expire dans 31 jours"
    assert points(convention_end=TODAY + dt.timedelta(days=30)).points == 5
    assert points(convention_end=TODAY).detail == "La convention expire aujourd'hui"
    renewing = points(convention_end=TODAY + dt.timedelta(days=5), convention_renews=True)
    assert renewing.points == 25 and not renewing.concern
    assert points(convention_end=None).points == 25


def test_contact_thresholds_follow_the_user_delay():
    def contact(days, delay=90):
        return score_partnership(
            facts(last_contact=TODAY - dt.timedelta(days=days), contact_delay_days=delay)
        ).components[1]

    assert contact(90).points == 25
    assert contact(91).points == 12 and contact(91).detail == "Aucun contact depuis 3 mois"
    assert contact(180).points == 12
    assert contact(181).points == 0
    assert contact(40, delay=30).points == 12
    assert contact(1).detail == "Dernier contact il y a 1 jour"
    assert contact(800).detail == "Aucun contact depuis 2 ans et 2 mois"


def test_results_and_reciprocity_details():
    h = score_partnership(
        facts(participants=0, new_publics=0, oriented_by=0, promotions_by_epn=0, promotions_by_partner=0)
    )
    details = {c.key: c.detail for c in h.components}
    assert details["results"] == "Aucun résultat commun sur les douze derniers mois"
    assert details["reciprocity"] == "Aucune promotion réciproque depuis un an"
    h = score_partnership(facts(new_publics=0, oriented_by=0, promotions_by_epn=0))
    details = {c.key: c.detail for c in h.components}
    assert details["results"] == "20 participants, mais aucun nouveau public amené par ce partenariat"
    assert details["reciprocity"] == "La promotion n'est faite que par le partenaire"


def test_duration():
    def duration(**kw):
        return score_partnership(facts(**kw)).components[4]

    assert duration(since=dt.date(2025, 6, 1), renewals=0).points == 3
    assert duration(since=dt.date(2024, 6, 1), renewals=0).points == 5
    assert duration(since=dt.date(2023, 6, 1), renewals=0).points == 7
    assert duration(since=dt.date(2023, 6, 1), renewals=2).detail == (
        "Partenariat depuis 2 ans et 6 mois, convention renouvelée 2 fois"
    )
    assert duration(since=None, renewals=0).points == 3


def test_months_between():
    assert months_between(dt.date(2025, 5, 1), TODAY) == 7
    assert months_between(dt.date(2025, 5, 7), TODAY) == 6
    assert months_between(TODAY, dt.date(2025, 1, 1)) == 0


fact_strategy = st.builds(
    PartnershipFacts,
    partner=st.just("P"),
    on=st.just(TODAY),
    convention_in_force=st.booleans(),
    convention_end=st.none() | st.dates(dt.date(2025, 1, 1), dt.date(2028, 1, 1)),
    convention_renews=st.booleans(),
    last_contact=st.none() | st.dates(dt.date(2020, 1, 1), TODAY),
    contact_delay_days=st.integers(1, 365),
    participants=st.integers(0, 500),
    new_publics=st.integers(0, 500),
    oriented_by=st.integers(0, 500),
    promotions_by_epn=st.integers(0, 5),
    promotions_by_partner=st.integers(0, 5),
    since=st.none() | st.dates(dt.date(2010, 1, 1), TODAY),
    renewals=st.integers(0, 5),
)


@given(fact_strategy)
def test_score_is_bounded_and_explained(f):
    h = score_partnership(f)
    assert 0 <= h.score <= 100
    assert abs(sum(c.points for c in h.components) - h.score) <= 0.5
    assert all(0 <= c.points <= c.weight for c in h.components)
    assert h.explanation.startswith(h.level.label)
    assert len(h.reasons) <= 3
    if h.level == HealthLevel.SOLIDE:
        assert h.score >= 70


@given(fact_strategy, st.integers(0, 3000))
def test_a_more_recent_contact_never_lowers_the_score(f, days_earlier):
    assume(f.last_contact is not None)
    older = PartnershipFacts(
        **{**f.__dict__, "last_contact": f.last_contact - dt.timedelta(days=days_earlier)}
    )
    assert score_partnership(older).score <= score_partnership(f).score
