import datetime as dt
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from ancrage.actions import services as actions
from ancrage.audit.models import AuditEntry
from ancrage.core.importing import ImportRejected
from ancrage.frequentation import readers
from ancrage.frequentation.models import FrequentationImport, Usager
from ancrage.organisations.enums import Role
from ancrage.suivi import avant_apres, selectors, services
from ancrage.suivi.health import HealthLevel
from ancrage.suivi.models import Beneficiaire, Echange, Participation
from tests.organisations.factories import MembershipFactory, StructureFactory

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def setup(db):
    epn = StructureFactory(nom="EPN test")
    partner = StructureFactory(partenaire=True, nom="Centre social", reseau=epn.reseau, referencee_par=epn)
    other = StructureFactory(partenaire=True, nom="Ailleurs", reseau=epn.reseau, referencee_par=None)
    animateur = MembershipFactory(role=Role.ANIMATEUR, structure=epn).user
    action = actions.action_create(acting_user=None, epn=epn, titre="Ateliers", publics=["age:60-74"])
    actions.action_partenaire_add(acting_user=None, action=action, partenaire=partner)
    actions.objectif_add(acting_user=None, action=action, libelle="participants", valeur_cible=3)
    actions.objectif_add(
        acting_user=None,
        action=action,
        libelle="nouveaux usagers",
        valeur_cible=2,
        critere_public="age:60-74",
    )
    start = datetime(2026, 10, 6, 14, tzinfo=PARIS)
    seance = actions.seance_add(
        acting_user=None, action=action, titre="Atelier 1", debut=start, fin=start.replace(hour=16)
    )
    return {
        "epn": epn,
        "partner": partner,
        "other": other,
        "user": animateur,
        "action": action,
        "seance": seance,
    }


def _row(identifiant, **kw):
    return services.SheetRow(identifiant=identifiant, **kw)


def test_sheet_records_people_links_the_attendance_usager_and_counts_new_publics(setup):
    s = setup
    dataset = FrequentationImport.objects.create(
        structure=s["epn"], source="ancrage", unite="personnes", fichier="u.csv", sha256="0" * 64
    )
    Usager.objects.create(
        dataset=dataset,
        ligne=2,
        identifiant="u-1",
        annee_naissance=1950,
        sexe="F",
        premiere_visite=dt.date(2020, 1, 1),
    )
    counts = services.participation_sheet_save(
        acting_user=s["user"],
        seance=s["seance"],
        rows=[
            _row("u-1"),
            _row("n-1", annee_naissance=1955, premiere_visite=dt.date(2026, 10, 6), oriente_par=s["partner"]),
            _row("n-2", annee_naissance=1990, premiere_visite=dt.date(2026, 10, 6)),
            _row("n-3", annee_naissance=1958, premiere_visite=dt.date(2026, 10, 6), present=False),
        ],
    )
    assert counts == {"ajoutees": 4, "modifiees": 0, "retirees": 0}
    known = Beneficiaire.objects.get(identifiant="u-1")
    assert (known.usager.identifiant, known.annee_naissance, known.sexe) == ("u-1", 1950, "F")
    assert AuditEntry.objects.filter(object_type="actions.seance").exists()

    results = selectors.action_results(s["action"])
    assert len(results.participants) == 3  # n-3 was absent
    # New public: first visit during the action and aged 60-74 (n-1); n-2 is 36, u-1 came in 2020.
    assert [p.usager.id for p in results.new_publics] == [Beneficiaire.objects.get(identifiant="n-1").pk]
    assert [(r.reached, r.met) for r in results.results] == [(3, True), (1, False)]
    assert results.oriented == [("Centre social", 1, 1)]

    # Removing a line from the sheet.
    services.participation_sheet_save(acting_user=s["user"], seance=s["seance"], rows=[], removed=["n-3"])
    assert Participation.objects.filter(seance=s["seance"]).count() == 3


def test_sheet_refuses_another_epn_staff_and_unknown_partners(setup):
    s = setup
    stranger = MembershipFactory(role=Role.ANIMATEUR).user
    with pytest.raises(PermissionDenied):
        services.participation_sheet_save(acting_user=stranger, seance=s["seance"], rows=[_row("x")])
    with pytest.raises(ValidationError):
        services.participation_sheet_save(
            acting_user=s["user"], seance=s["seance"], rows=[_row("x", oriente_par=s["other"])]
        )
    assert not Participation.objects.exists()


HEADER = ";".join(readers.USAGERS_COLUMNS) + "\n"


def test_import_is_all_or_nothing_with_located_errors(setup):
    s = setup
    bad = (
        HEADER
        + "a-1;1950;;F;;retraité;;35238;2026-10-06;Centre social\n"
        + "a-2;1948;;X;;;;35238;2026-10-06;\n"
        + "a-3;1951;;H;;;;35238;2026-10-06;Mairie inconnue\n"
    ).encode()
    with pytest.raises(ImportRejected) as error:
        services.participation_import(
            acting_user=s["user"], seance=s["seance"], data=bad, filename="presents.csv"
        )
    messages = [str(i) for i in error.value.issues]
    assert any("ligne 3" in m and "colonne sexe" in m for m in messages)
    assert not Participation.objects.exists() and not Beneficiaire.objects.exists()

    bad_partner = (HEADER + "a-3;1951;;H;;;;35238;2026-10-06;Mairie inconnue\n").encode()
    with pytest.raises(ImportRejected) as error:
        services.participation_import(
            acting_user=s["user"], seance=s["seance"], data=bad_partner, filename="presents.csv"
        )
    (issue,) = error.value.issues
    assert (issue.line, issue.column) == (2, "oriente_par") and "Mairie inconnue" in issue.message

    good = (
        HEADER + "a-1;1950;;F;;retraité;;35238;2026-10-06;centre social\na-2;1948;;H;;;;35238;;\n"
    ).encode()
    counts = services.participation_import(
        acting_user=s["user"], seance=s["seance"], data=good, filename="presents.csv"
    )
    assert counts == {"ajoutees": 2, "modifiees": 0}
    assert Participation.objects.get(beneficiaire__identifiant="a-1").oriente_par == s["partner"]


def test_partnership_health_from_real_facts(setup, monkeypatch):
    s = setup
    today = dt.date(2026, 11, 29)
    monkeypatch.setattr(selectors, "today", lambda: today)
    services.participation_sheet_save(
        acting_user=s["user"],
        seance=s["seance"],
        rows=[
            _row("n-1", annee_naissance=1955, premiere_visite=dt.date(2026, 10, 6), oriente_par=s["partner"])
        ],
    )
    # No contact, no convention: at risk, and a reminder is due.
    (p,) = selectors.partnerships_of(s["epn"], today)
    assert p.health.level == HealthLevel.A_RISQUE
    assert (p.facts.participants, p.facts.new_publics, p.facts.oriented_by) == (1, 1, 1)
    assert p.reminder_due and p.convention_status == "Aucune convention"

    services.echange_create(
        acting_user=s["user"],
        epn=s["epn"],
        partenaire=s["partner"],
        date=today,
        nature="appel",
        resume="Point",
    )
    services.promotion_create(
        acting_user=s["user"],
        epn=s["epn"],
        partenaire=s["partner"],
        date=today,
        sens="epn",
        description="Affiche",
    )
    services.delai_relance_set(acting_user=s["user"], epn=s["epn"], jours=30)
    (p,) = selectors.partnerships_of(s["epn"], today)
    assert p.facts.last_contact == today and p.contact_delay_days == 30 and not p.reminder_due
    assert p.facts.promotions_by_epn == 1
    assert p.health.score > 24

    with pytest.raises(ValidationError):
        services.echange_create(
            acting_user=s["user"],
            epn=s["epn"],
            partenaire=s["partner"],
            date=today + dt.timedelta(days=1),
            nature="appel",
            resume="Futur",
        )
    with pytest.raises(ValidationError):
        services.echange_create(
            acting_user=s["user"], epn=s["epn"], partenaire=s["other"], date=today, nature="appel", resume="x"
        )
    assert Echange.objects.count() == 1


def test_before_after_compares_the_targets_with_their_intervals():
    before = {
        "categories": [
            {
                "dimension": "age",
                "categorie": "60-74",
                "usagers": 40,
                "part_population": 0.2,
                "indice_representation": 0.5,
                "ic95": [0.07, 0.13],
            }
        ]
    }
    after = {
        "categories": [
            {
                "dimension": "age",
                "categorie": "60-74",
                "usagers": 120,
                "part_population": 0.2,
                "indice_representation": 1.0,
                "ic95": [0.17, 0.23],
            }
        ]
    }
    (m,) = avant_apres.compare(before, after, ["age:60-74"])
    assert m.verdict == avant_apres.HAUSSE
    assert (round(m.before.low, 2), round(m.before.high, 2)) == (0.35, 0.65)
    assert "nettement progressé" in m.explanation
    after["categories"][0]["ic95"] = [0.10, 0.23]
    (m,) = avant_apres.compare(before, after, ["age:60-74"])
    assert m.verdict == avant_apres.INCERTAIN
    (m,) = avant_apres.compare(None, after, ["age:60-74"])
    assert m.verdict == avant_apres.INCONNU
