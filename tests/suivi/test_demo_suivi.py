"""The demo answers the seed's three questions with known numbers.

The demo's sessions are dated October and November 2026 (``demo.actions``) and its contacts and
conventions relative to the day it is loaded; the numbers below hold while those sessions lie in
the last twelve months.
"""

from types import SimpleNamespace

from ancrage.actions.models import Action
from ancrage.demo import suivi as demo_suivi
from ancrage.demo.actions import CCAS, MEDIATHEQUE, MISSION_LOCALE, SENIORS, TY_BLOSNE
from ancrage.organisations.models import Structure
from ancrage.suivi import avant_apres, bilan, selectors
from ancrage.suivi.health import HealthLevel
from ancrage.suivi.models import AvantApres, Beneficiaire, Echange


def test_demo_dashboard_answers_the_three_questions(demo):
    blosne = Structure.objects.get(nom="EPN du Blosne (démo)")
    d = selectors.three_questions_of(blosne)

    # 1. Who brings new publics: the centre social first, then the CCAS (which fits more of the
    # diagnostic's targets than the Mission locale, for as many new publics).
    q1 = [(r.partnership.name, r.new_publics_sent, r.fit) for r in d.questions.partners_for_new_publics]
    assert [(name, sent) for name, sent, _ in q1] == [
        (TY_BLOSNE, 7),
        (CCAS, 5),
        (MISSION_LOCALE, 5),
        (MEDIATHEQUE, 2),
    ]
    assert q1[1][2] > q1[2][2]

    # 2. Will they last: the Mission locale is at risk, with its reasons; the médiathèque is to
    # watch (the CCAS signed the seniors' convention with the centre social).
    assert [r.partnership.name for r in d.questions.at_risk] == [MISSION_LOCALE]
    reasons = d.questions.at_risk[0].reasons
    assert "Aucune convention en vigueur" in reasons
    assert any(r.startswith("Aucun contact depuis") for r in reasons)
    assert sorted(r.partnership.name for r in d.questions.to_watch) == [MEDIATHEQUE]
    ty_blosne = d.partnership(Structure.objects.get(nom=TY_BLOSNE).pk)
    assert ty_blosne.health.level == HealthLevel.SOLIDE
    assert (ty_blosne.facts.participants, ty_blosne.facts.new_publics, ty_blosne.facts.oriented_by) == (
        20,
        14,
        7,
    )
    assert [p.partner.nom for p in d.reminders] == [MISSION_LOCALE]

    # 3. Written conventions: the centre social and the CCAS have one in force.
    assert [o.name for o in d.questions.without_convention] == [MEDIATHEQUE, MISSION_LOCALE]
    assert ty_blosne.facts.convention_in_force


def test_demo_results_before_after_and_bilan(demo):
    blosne = Structure.objects.get(nom="EPN du Blosne (démo)")
    seniors = Action.objects.get(titre=SENIORS)
    results = selectors.action_results(seniors)
    assert (len(results.participants), len(results.new_publics)) == (20, 14)
    assert results.evaluation.difficultes
    record = AvantApres.objects.get(action=seniors)
    assert record.avant is not None and record.apres.pk != record.avant.pk
    movements = avant_apres.compare(record.avant.resultat, record.apres.resultat, seniors.publics)
    assert [m.key for m in movements] == ["age:60-74", "age:75+"]
    assert all(m.before and m.after for m in movements)

    b = bilan.bilan_of(blosne, 2026)
    assert (b["participants"], b["nouveaux_publics"], b["seances"]) == (30, 24, 5)
    assert b["conventions_en_vigueur"] >= 1

    # Idempotent: a second load adds nothing.
    counts = (Beneficiaire.objects.count(), Echange.objects.count())
    world = SimpleNamespace(blosne=blosne)
    demo_suivi.load(world)
    assert (Beneficiaire.objects.count(), Echange.objects.count()) == counts
