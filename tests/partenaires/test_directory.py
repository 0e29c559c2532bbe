"""The partner directory through the Django layer: duplicates, identifiers, import and export."""

import json
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import models
from django.utils import timezone

from ancrage.audit.models import AuditEntry
from ancrage.core.importing import ImportRejected
from ancrage.organisations.enums import Role, StructureKind
from ancrage.organisations.models import Structure
from ancrage.partenaires import enums_standard, services, standard
from ancrage.partenaires.models import STANDARD_LIST_FIELDS, ImportAnnuaire, Partenaire
from tests.organisations.factories import MembershipFactory, StructureFactory
from tests.partenaires.factories import epn_with_animateur, partenaire

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "partenaires"
NC = (FIXTURES / "nouvelle-caledonie-90-lieux.json").read_bytes()
SIRET = "73282932000074"


pytestmark = pytest.mark.django_db


def test_create_makes_the_partner_structure_and_an_audited_entry():
    epn, animateur = epn_with_animateur()
    entry = services.partenaire_create(
        acting_user=animateur, epn=epn, nom="Mission locale", typologies=["ML"], siret=SIRET, commune="Rennes"
    )
    assert entry.structure.kind == StructureKind.PARTENAIRE
    assert entry.structure.referencee_par == epn
    assert entry.structure.typologie == "ML"
    assert entry.typologie_labels == ["Missions locales"] or entry.typologie_labels[0].startswith("Mission")
    assert AuditEntry.objects.filter(object_type="partenaires.partenaire", object_id=str(entry.pk)).exists()


def test_duplicate_siret_is_refused_with_a_message_naming_the_existing_entry():
    epn, animateur = epn_with_animateur()
    first = partenaire(epn, "Mission locale", siret=SIRET, adresse="1 rue du Port")
    with pytest.raises(ValidationError) as caught:
        services.partenaire_create(
            acting_user=animateur, epn=epn, nom="ML bis", siret=SIRET, commune="RENNES", adresse="1 r du port"
        )
    message = caught.value.message_dict["siret"][0]
    assert "Mission locale" in message and f"fiche n° {first.pk}" in message
    # The same SIRET in another commune, or at another address, is another place of the standard.
    services.partenaire_create(acting_user=animateur, epn=epn, nom="ML antenne", siret=SIRET, commune="Vitré")
    services.partenaire_create(
        acting_user=animateur,
        epn=epn,
        nom="ML Blosne",
        siret=SIRET,
        commune="Rennes",
        adresse="3 bd Villebois",
    )
    assert Partenaire.objects.of_epn(epn).filter(siret=SIRET).count() == 3


def test_duplicate_name_in_the_same_commune_is_refused_whatever_the_accents_and_case():
    epn, animateur = epn_with_animateur()
    partenaire(epn, "Médiathèque Cesson", commune="Cesson-Sévigné")
    with pytest.raises(ValidationError) as caught:
        services.partenaire_create(
            acting_user=animateur, epn=epn, nom="MEDIATHEQUE  cesson", commune="cesson sevigne"
        )
    assert "existe déjà" in caught.value.message_dict["nom"][0]
    # Same name elsewhere, or in another EPN's directory: not a duplicate.
    services.partenaire_create(acting_user=animateur, epn=epn, nom="Médiathèque Cesson", commune="Rennes")
    other = StructureFactory(reseau=epn.reseau)
    partenaire(other, "Médiathèque Cesson", commune="Cesson-Sévigné")


def test_update_refuses_to_become_a_duplicate():
    epn, animateur = epn_with_animateur()
    partenaire(epn, "A", siret=SIRET)
    second = partenaire(epn, "B")
    with pytest.raises(ValidationError):
        services.partenaire_update(acting_user=animateur, partenaire=second, siret=SIRET)
    services.partenaire_update(acting_user=animateur, partenaire=second, nom="B renommé", notes="ok")
    second.refresh_from_db()
    assert second.structure.nom == "B renommé"


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("siret", "73282932000075", "SIRET"),
        ("siret", "1234", "14 chiffres"),
        ("rna", "X123", "RNA"),
    ],
)
def test_identifiers_are_checked_in_french(field, value, words):
    epn, animateur = epn_with_animateur()
    with pytest.raises(ValidationError) as caught:
        services.partenaire_create(acting_user=animateur, epn=epn, nom="Asso", **{field: value})
    assert words in caught.value.message_dict[field][0]
    assert not Partenaire.objects.exists()


def test_only_the_epn_staff_writes_in_its_directory():
    epn, _ = epn_with_animateur()
    other_epn, other_animateur = epn_with_animateur()
    with pytest.raises(PermissionDenied):
        services.partenaire_create(acting_user=other_animateur, epn=epn, nom="Intrus")
    referent = MembershipFactory(structure=epn, role=Role.PARTENAIRE, structure__kind="partenaire").user
    with pytest.raises(PermissionDenied):
        services.partenaire_create(acting_user=referent, epn=epn, nom="Intrus")


def test_the_90_places_of_nouvelle_caledonie_import_through_the_django_layer():
    epn, animateur = epn_with_animateur()
    batch = services.annuaire_import_submit(acting_user=animateur, epn=epn, data=NC, filename="nc.json")
    batch.refresh_from_db()
    # The analysis (a job, inline in the tests) imports nothing.
    assert batch.state == ImportAnnuaire.State.PRET
    assert Partenaire.objects.count() == 0
    assert len(batch.resultat["a_creer"]) == 90 and batch.resultat["rejetes"] == []
    assert services.annuaire_import_confirm(acting_user=animateur, batch=batch, decisions={})
    batch.refresh_from_db()
    assert batch.state == ImportAnnuaire.State.TERMINE and batch.resultat["crees"] == 90
    assert Structure.objects.filter(kind=StructureKind.PARTENAIRE, referencee_par=epn).count() == 90
    assert not services.annuaire_import_confirm(acting_user=animateur, batch=batch, decisions={})
    # Loaded again (a monthly reload): every place is found by its id and updated, none added.
    plan = services.plan_import(epn=epn, data=NC, filename="nc.json")
    assert plan.to_create == [] and len(plan.to_update) == 90 and plan.rejected == []
    assert all(changes == [] for changes in plan.changes.values())


def _by_id(lieux):
    return {lieu.id: lieu.standard_values() for lieu in lieux}


def test_export_validates_against_the_schema_and_the_round_trip_loses_nothing():
    epn, animateur = epn_with_animateur()
    services.import_directly(acting_user=animateur, epn=epn, data=NC, filename="nc.json")
    original = _by_id(standard.read_cartographie_json(NC).lieux)
    exported = services.export_lieux(Partenaire.objects.of_epn(epn).with_structure())
    csv_text = standard.write_csv(exported)
    assert standard.validate_csv(csv_text, file="export.csv") == []
    assert _by_id(exported) == original

    # CSV then JSON round trips into another EPN's directory.
    for name, data in (
        ("retour.csv", csv_text.encode()),
        ("retour.json", standard.write_cartographie_json(exported).encode()),
    ):
        other, other_animateur = epn_with_animateur(reseau=epn.reseau)
        services.import_directly(acting_user=other_animateur, epn=other, data=data, filename=name)
        again = services.export_lieux(Partenaire.objects.of_epn(other).with_structure())
        assert _by_id(again) == original, name


def test_quirky_files_import_what_is_valid_and_report_the_rest():
    epn, animateur = epn_with_animateur()
    data = (FIXTURES / "charente-extrait-quirks.json").read_bytes()
    plan = services.plan_import(epn=epn, data=data, filename="charente.json")
    # Nothing refused: the places with one pivot at one address are merged.
    assert plan.to_create and plan.merged and plan.rejected == []
    outcome = services.import_directly(acting_user=animateur, epn=epn, data=data, filename="charente.json")
    assert len(outcome.created) == len(plan.to_create)
    assert all("charente.json" in str(issue) for issue in plan.warnings)


def test_six_charente_places_sharing_a_siret_in_other_communes_are_all_kept():
    epn, animateur = epn_with_animateur()
    data = (FIXTURES / "charente-meme-siret.json").read_bytes()
    plan = services.plan_import(epn=epn, data=data, filename="charente.json")
    services.import_directly(acting_user=animateur, epn=epn, data=data, filename="charente.json")
    entries = Partenaire.objects.of_epn(epn).select_related("structure")
    where = {(entry.siret, enums_standard.match_key(entry.commune)) for entry in entries}
    for siret, commune in (
        ("18160001600024", "confolens"),
        ("18160001600024", "segonzac"),
        ("18160001600024", "mansle"),
        ("22160001800016", "confolens"),
        ("20007051400019", "cognac"),
        ("20006891400015", "montbron"),
    ):
        assert (siret, commune) in where, (siret, commune)
    # The places they share a SIRET with are kept too, in their own communes.
    assert ("18160001600024", "angouleme") in where and ("20007051400019", "jarnac") in where
    # One place listed twice at one address is one entry: the Département in Angoulême.
    assert len([e for e in entries if e.siret == "22160001800016"]) == 2
    # The pairs that may be one place (same SIRET, close address) are left for the user to review.
    doubtful = {(item["nom"], item["avec"]["nom"]) for item in plan.as_json()["douteux"]}
    assert ("UNION DEP ASSOCIATIONS FAMILLE", "UNION DEP ASSOCIATIONS FAMILLE") in doubtful
    assert ("Rives de charente", "ASSOCIATION LES RIVES DE LA CHARENTE") in doubtful
    assert not entries.filter(structure__nom="Rives de charente").exists()


def test_a_doubtful_place_is_imported_as_the_user_decides():
    epn, animateur = epn_with_animateur()
    data = (FIXTURES / "charente-meme-siret.json").read_bytes()
    rives = next(item for item in json.loads(data) if item["nom"] == "Rives de charente")
    udaf = [item for item in json.loads(data) if item["nom"] == "UNION DEP ASSOCIATIONS FAMILLE"][1]
    decisions = {rives["id"]: services.DECISION_DISTINCT, udaf["id"]: services.DECISION_FUSIONNER}
    before = services.plan_import(epn=epn, data=data, filename="c.json")
    outcome = services.import_directly(
        acting_user=animateur, epn=epn, data=data, filename="c.json", decisions=decisions
    )
    assert len(outcome.created) == len(before.to_create) + 1
    assert Partenaire.objects.of_epn(epn).filter(structure__nom="Rives de charente").exists()
    assert Partenaire.objects.of_epn(epn).filter(structure__nom="UNION DEP ASSOCIATIONS FAMILLE").count() == 1


def test_the_analysis_locates_each_refused_row_file_row_column_reason():
    epn, _ = epn_with_animateur()
    header = ",".join(standard.FIELDS)
    row = dict.fromkeys(standard.FIELDS, "")
    row.update(id="x1", nom="", commune="Rennes", code_postal="35000", adresse="1 rue", date_maj="2024-01-01")
    data = (header + "\n" + ",".join(row[name] for name in standard.FIELDS) + "\n").encode()
    (refused,) = services.plan_import(epn=epn, data=data, filename="x.csv").as_json()["rejetes"]
    assert refused["fichier"] == "x.csv" and refused["ligne"] == "ligne 2" and refused["colonne"] == "nom"
    assert "obligatoire" in refused["raison"]
    nc = json.loads(NC)
    del nc[4]["nom"]
    (refused,) = services.plan_import(epn=epn, data=json.dumps(nc).encode(), filename="nc.json").as_json()[
        "rejetes"
    ]
    assert refused["ligne"] == "lieu n° 5" and refused["colonne"] == "nom"


def test_an_unreadable_file_is_refused_and_nothing_is_imported():
    epn, animateur = epn_with_animateur()
    batch = services.annuaire_import_submit(
        acting_user=animateur, epn=epn, data=b"\xff\xfe", filename="x.csv"
    )
    batch.refresh_from_db()
    assert batch.state == ImportAnnuaire.State.REFUSE and "x.csv" in batch.erreurs[0]
    assert bytes(batch.contenu) == b"" and not Partenaire.objects.exists()
    with pytest.raises(ImportRejected):
        services.import_directly(acting_user=animateur, epn=epn, data=b"\xff\xfe", filename="x.csv")


def test_a_csv_with_semicolons_between_values_imports():
    epn, animateur = epn_with_animateur()
    header = ",".join(standard.FIELDS)
    row = {name: "" for name in standard.FIELDS}
    row.update(
        id="x1",
        nom="Espace X",
        commune="Rennes",
        code_postal="35000",
        adresse="1 rue",
        pivot=SIRET,
        date_maj="2024-01-01",
        services="Aide aux démarches administratives;Accès internet et matériel informatique",
    )
    data = (header + "\n" + ",".join(row[name] for name in standard.FIELDS) + "\n").encode()
    (entry,) = services.import_directly(acting_user=animateur, epn=epn, data=data, filename="x.csv").created
    assert entry.siret == SIRET
    assert entry.services == ["Aide aux démarches administratives", "Accès internet et matériel informatique"]
    assert json.loads(standard.write_cartographie_json(services.export_lieux([entry])))[0]["pivot"] == SIRET


def test_the_directory_keeps_each_multi_valued_column_of_the_standard_as_a_list():
    # STANDARD_LIST_FIELDS comes from the standard's list; the model must have a list for each.
    lists = {
        f.name for f in Partenaire._meta.get_fields() if isinstance(f, models.JSONField) and f.default is list
    }
    stored = {"typologies" if name == "typologie" else name for name in standard.MULTI_VALUED}
    assert stored <= lists
    assert set(STANDARD_LIST_FIELDS) == stored - {"typologies"}


def test_a_restart_loses_no_import_the_worker_picks_up_the_stale_job(settings):
    """A job whose thread died with the server (its heartbeat stopped) is still in its row, file
    included: ``ancrage worker-partenaires`` requeues it and runs it."""
    epn, animateur = epn_with_animateur()
    settings.ANCRAGE_JOBS_SYNC = False  # no thread will run it: the "server" died at once
    batch = services.annuaire_import_submit(acting_user=animateur, epn=epn, data=NC, filename="nc.json")
    ImportAnnuaire.objects.filter(pk=batch.pk).update(state=ImportAnnuaire.State.ANALYSE)  # it had started
    ImportAnnuaire.objects.filter(pk=batch.pk).update(updated_at=timezone.now() - timedelta(hours=2))
    out = StringIO()
    call_command("worker-partenaires", "--once", stdout=out)
    batch.refresh_from_db()
    assert batch.state == ImportAnnuaire.State.PRET and len(batch.resultat["a_creer"]) == 90
    assert "1 import d’annuaire interrompu relancé." in out.getvalue()
    # Confirmed, then the server dies again before the worker's next pass: nothing half-written.
    assert services.annuaire_import_confirm(acting_user=animateur, batch=batch, decisions={})
    assert not Partenaire.objects.exists()
    call_command("worker-partenaires", "--once", stdout=StringIO())
    batch.refresh_from_db()
    assert batch.state == ImportAnnuaire.State.TERMINE and Partenaire.objects.of_epn(epn).count() == 90


def test_only_the_epn_s_staff_relaunches_its_directory_import():
    from ancrage.partenaires import jobs

    epn, animateur = epn_with_animateur()
    _, other = epn_with_animateur()
    stale = ImportAnnuaire.objects.create(
        structure=epn, nom_fichier="nc.json", format="json", contenu=NC, state=ImportAnnuaire.State.ANALYSE
    )
    ImportAnnuaire.objects.filter(pk=stale.pk).update(updated_at=timezone.now() - timedelta(days=1))
    stale.refresh_from_db()
    with pytest.raises(PermissionDenied):
        jobs.job_retry(acting_user=other, job=stale)
    assert ImportAnnuaire.objects.get(pk=stale.pk).state == ImportAnnuaire.State.ANALYSE
    assert jobs.job_retry(acting_user=animateur, job=stale) is True
    assert ImportAnnuaire.objects.get(pk=stale.pk).state == ImportAnnuaire.State.PRET
