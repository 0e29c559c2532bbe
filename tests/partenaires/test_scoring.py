from fractions import Fraction

import pytest

from ancrage.partenaires.scoring import (
    RECOMMENDATION_LIMIT,
    ActionNeeds,
    JointResult,
    PartnerProfile,
    PublicTarget,
    Weights,
    format_km,
    proximity,
    recommend_partners,
    score_partner,
)

YOUNG = PublicTarget("age", "15-29", "les 15-29 ans")
JOBSEEKERS = PublicTarget("activite", "chomeurs", "les demandeurs d'emploi")

ACTION = ActionNeeds(
    thematics=frozenset({"emploi", "demarches"}),
    publics=(YOUNG, JOBSEEKERS),
    sectors=frozenset({"nord", "sud"}),
)
LOW = frozenset({"nord", "est"})
LABELS = {"emploi": "emploi", "demarches": "démarches administratives", "nord": "Quartier Nord", "est": "Est"}

MISSION_LOCALE = PartnerProfile(
    "ml",
    "Mission locale",
    thematics=frozenset({"emploi"}),
    publics=frozenset({YOUNG.key, JOBSEEKERS.key}),
    sectors=frozenset({"nord"}),
    past_results=(JointResult(objective=20, achieved=18, title="Atelier CV 2025"),),
)
FRANCE_TRAVAIL = PartnerProfile(
    "ft",
    "France Travail",
    thematics=frozenset({"emploi", "demarches"}),
    publics=frozenset({JOBSEEKERS.key}),
    sectors=frozenset({"sud"}),
)
CLUB = PartnerProfile(
    "club",
    "Club des retraités",
    thematics=frozenset({"loisirs"}),
    publics=frozenset({("age", "60-74")}),
    sectors=frozenset({"nord"}),
    past_results=(JointResult(objective=10, achieved=2),),
)
CCAS = PartnerProfile("ccas", "CCAS", thematics=frozenset({"demarches"}), publics=frozenset({JOBSEEKERS.key}))
PARTNERS = [CLUB, CCAS, FRANCE_TRAVAIL, MISSION_LOCALE]


def test_known_inputs_known_ranking():
    ranking = recommend_partners(ACTION, PARTNERS, LOW, labels=LABELS)
    assert [(rec.partner.id, rec.score) for rec in ranking] == [
        ("ml", 76),
        ("ft", 58),
        ("ccas", 43),
        ("club", 25),
    ]


def test_components_of_the_mission_locale():
    rec = score_partner(ACTION, MISSION_LOCALE, LOW, labels=LABELS)
    assert rec.components.thematic == Fraction(1, 2)
    assert rec.components.public == 1
    # Only "nord" is both low in attendance and targeted by the action; the partner covers it.
    assert rec.components.geographic == 1
    # One joint action at 90 %, shrunk toward the neutral 50 %.
    assert rec.components.past_results == Fraction(7, 10)
    # No distance known: the neutral 1/2.
    assert rec.components.proximity == Fraction(1, 2)
    assert rec.exact_score == Fraction(755, 1000)


def test_explanation_is_plain_french():
    rec = score_partner(ACTION, MISSION_LOCALE, LOW, labels=LABELS)
    assert rec.explanation == (
        "Thématiques : compétent en emploi (1 sur 2 de l'action). "
        "Publics : touche les 15-29 ans et les demandeurs d'emploi (2 sur 2 publics visés). "
        "Maillage : intervient dans Quartier Nord, où l'EPN est peu fréquenté (1 secteur sur 1). "
        "Résultats passés : 1 action commune, objectifs atteints à 90 % en moyenne. "
        "Distance : inconnue, faute de coordonnées (valeur neutre)."
    )
    assert len(rec.reasons) == 5


def test_explanation_when_nothing_fits():
    rec = score_partner(ACTION, CLUB, LOW)
    assert "aucune compétence" in rec.explanation
    assert "ne touche aucun des publics visés" in rec.explanation
    assert "objectifs atteints à 20 %" in rec.explanation
    new = score_partner(ACTION, CCAS, LOW)
    assert "ne couvre aucun des secteurs" in new.explanation
    assert "pas encore d'action commune (valeur neutre)" in new.explanation


def test_geography_falls_back_to_all_low_sectors_when_the_action_has_no_sector():
    action = ActionNeeds(thematics=frozenset({"emploi"}))
    partner = PartnerProfile("p", "P", sectors=frozenset({"est"}))
    assert score_partner(action, partner, LOW).components.geographic == Fraction(1, 2)


def test_geography_reads_the_action_sectors_when_none_of_them_is_low():
    action = ActionNeeds(sectors=frozenset({"ouest", "centre"}))
    partner = PartnerProfile("p", "P", sectors=frozenset({"ouest", "est"}))
    rec = score_partner(action, partner, LOW)
    assert rec.components.geographic == Fraction(1, 2)
    assert "intervient dans ouest, visés par l'action (1 secteur sur 2)" in rec.explanation


def test_empty_action_is_explained():
    rec = score_partner(ActionNeeds(), CCAS, frozenset())
    assert rec.components.thematic == rec.components.public == rec.components.geographic == 0
    assert "pas encore de thématique" in rec.explanation
    assert "pas encore de public cible" in rec.explanation
    assert "aucun secteur de faible fréquentation" in rec.explanation


def test_over_achievement_is_capped():
    partner = PartnerProfile("p", "P", past_results=(JointResult(10, 30), JointResult(0, 0)))
    rec = score_partner(ActionNeeds(), partner)
    # Two actions at 100 % (30 for 10 counts as 10), still shrunk toward the neutral prior.
    assert rec.components.past_results == Fraction(5, 6)
    assert "objectifs atteints à 100 % en moyenne" in rec.explanation


def test_ties_are_broken_by_components_then_name_then_id():
    equal = Weights(Fraction(1, 4), Fraction(1, 4), Fraction(1, 4), Fraction(1, 4), Fraction(0))
    action = ActionNeeds(thematics=frozenset({"emploi"}), publics=(YOUNG,))
    by_thematic = PartnerProfile("z", "Zèbre", thematics=frozenset({"emploi"}))
    by_public = PartnerProfile("a", "Abeille", publics=frozenset({YOUNG.key}))
    twin_b = PartnerProfile("2", "beta")
    twin_a = PartnerProfile("9", "Alpha")
    twin_a_bis = PartnerProfile("1", "alpha")
    partners = [twin_b, by_public, twin_a, by_thematic, twin_a_bis]
    ranking = recommend_partners(action, partners, weights=equal)
    assert ranking[0].exact_score == ranking[1].exact_score
    assert [rec.partner.id for rec in ranking] == ["z", "a", "1", "9", "2"]
    # The same ranking whatever the input order.
    assert [rec.partner.id for rec in recommend_partners(action, partners[::-1], weights=equal)] == [
        "z",
        "a",
        "1",
        "9",
        "2",
    ]


def test_exclude_and_limit():
    ranking = recommend_partners(ACTION, PARTNERS, LOW, exclude={"ml"}, limit=2)
    assert [rec.partner.id for rec in ranking] == ["ft", "ccas"]


def test_weights_must_add_up_to_one():
    with pytest.raises(ValueError, match="Les poids doivent faire 1"):
        Weights(Fraction(1, 2), Fraction(1, 2), Fraction(1, 2), Fraction(0), Fraction(0))


def test_negative_results_are_refused():
    with pytest.raises(ValueError, match="négatif"):
        JointResult(objective=-1, achieved=3)


def test_proximity_halves_at_five_km_and_is_neutral_when_unknown():
    assert proximity(0) == 1
    assert proximity(5) == Fraction(1, 2)
    assert proximity(20) == Fraction(1, 5)
    assert proximity(None) == Fraction(1, 2)
    assert proximity(300) < proximity(3)
    assert format_km(0.42) == "400 m"
    assert format_km(2.44) == "2,4 km"
    assert format_km(1234.4) == "1\u202f234 km"


def test_a_partner_outside_the_territory_never_ranks_above_a_local_one():
    far_but_perfect = PartnerProfile(
        "far",
        "Centre lointain",
        thematics=frozenset({"emploi", "demarches"}),
        publics=frozenset({YOUNG.key, JOBSEEKERS.key}),
        sectors=frozenset({"nord"}),
        local=False,
        place="Angoulême",
        distance_km=312.0,
    )
    weak_local = PartnerProfile("near", "Club voisin", local=True, distance_km=0.5)
    ranking = recommend_partners(ACTION, [far_but_perfect, weak_local], LOW, territory="Rennes Métropole")
    assert ranking[0].score < ranking[1].score
    assert [rec.partner.id for rec in ranking] == ["near", "far"]
    assert "Distance : à 312 km de l'EPN ; lieu situé à Angoulême." in ranking[1].explanation
    assert "hors du territoire de Rennes Métropole" in ranking[1].explanation
    assert "Distance : à 500 m de l'EPN." in ranking[0].explanation


def test_the_explanation_quotes_the_standard_values_that_matched():
    partner = PartnerProfile(
        "p",
        "Point information jeunesse",
        thematics=frozenset({"emploi"}),
        publics=frozenset({YOUNG.key}),
        evidence={YOUNG.key: "Jeunes", "emploi": "Insertion professionnelle via le numérique"},
    )
    rec = score_partner(ACTION, partner, LOW, labels=LABELS)
    assert "d'après sa fiche du standard (« Insertion professionnelle via le numérique »)" in rec.explanation
    assert "touche les 15-29 ans (1 sur 2 publics visés, d'après sa fiche du standard (« Jeunes »))" in (
        rec.explanation
    )


def test_many_sectors_are_named_three_at_most():
    action = ActionNeeds(sectors=frozenset({"a", "b", "c", "d", "e"}))
    partner = PartnerProfile("p", "P", sectors=frozenset({"a", "b", "c", "d", "e"}))
    rec = score_partner(action, partner, frozenset({"a", "b", "c", "d", "e"}))
    assert "intervient dans a, b, c et 2 autres," in rec.explanation


def test_the_list_is_cut_to_twenty_by_default_in_the_pages():
    partners = [PartnerProfile(str(i), f"P{i:02d}") for i in range(30)]
    assert len(recommend_partners(ACTION, partners, limit=RECOMMENDATION_LIMIT)) == 20
