"""Writes of the suivi: session sheets and their import, evaluations, the before-and-after
diagnostic, and the relationship log with each partner. Each service is atomic and leaves an
audit entry; the EPN's staff alone writes (``Permission.SUIVI_WRITE``)."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from ancrage.audit.enums import AuditAction
from ancrage.audit.services import audit_record
from ancrage.core.importing import ImportIssue, ImportRejected
from ancrage.diagnostic.models import Diagnostic
from ancrage.diagnostic.services import diagnostic_compute
from ancrage.frequentation import readers
from ancrage.frequentation.models import FrequentationImport, Usager
from ancrage.organisations.enums import StructureKind
from ancrage.organisations.models import Structure
from ancrage.organisations.permissions import Permission
from ancrage.organisations.scoping import check_may
from ancrage.suivi import selectors
from ancrage.suivi.enums import NatureEchange, SensPromotion
from ancrage.suivi.models import (
    AvantApres,
    Beneficiaire,
    DelaiRelance,
    Echange,
    Evaluation,
    Participation,
    Promotion,
)
from ancrage.territoire.services import known_sector_codes

BENEFICIAIRE_FIELDS = (
    "annee_naissance",
    "sexe",
    "csp",
    "situation",
    "code_iris",
    "code_commune",
    "premiere_visite",
)


def _user(acting_user):
    return acting_user if acting_user is not None and acting_user.is_authenticated else None


def _partner_of(epn_id: int, partenaire) -> Structure:
    if partenaire.kind != StructureKind.PARTENAIRE or partenaire.referencee_par_id != epn_id:
        raise ValidationError({"partenaire": "Ce partenaire n’est pas dans l’annuaire de l’EPN."})
    return partenaire


# --- Participation ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SheetRow:
    """One line of a session sheet (or of an imported usagers file)."""

    identifiant: str
    present: bool = True
    oriente_par: Structure | None = None
    annee_naissance: int | None = None
    sexe: str = ""
    csp: str = ""
    situation: str = ""
    code_iris: str = ""
    code_commune: str = ""
    premiere_visite: dt.date | None = None


def _frequentation_usager(epn_id: int, identifiant: str) -> Usager | None:
    """The usager of the EPN's attendance files with this identifiant (latest file first)."""
    return (
        Usager.objects.filter(dataset__structure_id=epn_id, identifiant=identifiant)
        .order_by("-dataset__created_at", "-dataset_id")
        .first()
    )


def beneficiaire_upsert(epn_id: int, row: SheetRow) -> Beneficiaire:
    """The person with this identifiant, created or completed. What the sheet says wins; a blank
    is filled from the attendance file's usager with the same identifiant."""
    beneficiaire = Beneficiaire.objects.filter(structure_id=epn_id, identifiant=row.identifiant).first()
    if beneficiaire is None:
        beneficiaire = Beneficiaire(structure_id=epn_id, identifiant=row.identifiant)
    for name in BENEFICIAIRE_FIELDS:
        value = getattr(row, name)
        if value not in (None, ""):
            setattr(beneficiaire, name, value)
    if row.code_iris and not row.code_commune:
        beneficiaire.code_commune = row.code_iris[:5]
    usager = _frequentation_usager(epn_id, row.identifiant)
    if usager is not None:
        beneficiaire.usager = usager
        for name in BENEFICIAIRE_FIELDS:
            if getattr(beneficiaire, name) in (None, "") and getattr(usager, name) not in (None, ""):
                setattr(beneficiaire, name, getattr(usager, name))
    beneficiaire.save()
    return beneficiaire


def _save_rows(seance, rows: list[SheetRow]) -> tuple[int, int]:
    epn_id = seance.action.structure_id
    created = updated = 0
    for row in rows:
        if row.oriente_par is not None:
            _partner_of(epn_id, row.oriente_par)
        beneficiaire = beneficiaire_upsert(epn_id, row)
        _, was_created = Participation.objects.update_or_create(
            seance=seance,
            beneficiaire=beneficiaire,
            defaults={"present": row.present, "oriente_par": row.oriente_par},
        )
        created += was_created
        updated += not was_created
    return created, updated


@transaction.atomic
def participation_sheet_save(*, acting_user, seance, rows: list[SheetRow], removed: list[str] = ()) -> dict:
    """Record the sheet of a session: one line per person (present or excused), and remove the
    people ``removed`` names (identifiants)."""
    epn_id = seance.action.structure_id
    check_may(acting_user, Permission.SUIVI_WRITE, epn_id)
    identifiants = [r.identifiant for r in rows]
    doubles = sorted({i for i in identifiants if identifiants.count(i) > 1})
    if doubles:
        raise ValidationError(f"Identifiant en double sur la feuille : {', '.join(doubles)}.")
    created, updated = _save_rows(seance, rows)
    deleted, _ = Participation.objects.filter(
        seance=seance, beneficiaire__identifiant__in=list(removed)
    ).delete()
    counts = {"ajoutees": created, "modifiees": updated, "retirees": deleted}
    audit_record(
        acting_user=acting_user,
        action=AuditAction.UPDATE,
        obj=seance,
        structure=seance.action.structure,
        changes={"feuille_de_presence": counts},
    )
    return counts


def partner_by_name(epn_id: int) -> dict[str, Structure]:
    """The partners of the EPN's directory by folded name ("orienté par" is typed freely)."""
    names = {}
    for partner in Structure.objects.filter(kind=StructureKind.PARTENAIRE, referencee_par_id=epn_id):
        names[readers.fold_label(partner.nom)] = partner
        # "Centre social Ty-Blosne (démo)" is also found as "Centre social Ty-Blosne".
        names.setdefault(readers.fold_label(partner.nom.replace("(démo)", "")), partner)
    return names


def read_participants(seance, data: bytes, filename: str) -> list[SheetRow]:
    """Read a usagers file (the diagnostic's format) for a session sheet; every problem located.

    Raises ``ImportRejected``: the reader's own issues, then each "orienté par" that names no
    partner of the EPN's directory.
    """
    epn = seance.action.structure
    known = known_sector_codes(epn)
    frequentation = readers.read_usagers(
        data, filename, secteurs_connus=known or None, current_year=selectors.today().year
    )
    partners = partner_by_name(epn.pk)
    issues = []
    rows = []
    for usager in frequentation.individus:
        partner = None
        if usager.oriente_par:
            partner = partners.get(readers.fold_label(usager.oriente_par))
            if partner is None:
                issues.append(
                    ImportIssue(
                        f"« {usager.oriente_par} » n’est pas un partenaire de l’annuaire de l’EPN "
                        "(ajoutez-le à l’annuaire ou corrigez le nom).",
                        file=frequentation.fichier,
                        line=usager.ligne,
                        column="oriente_par",
                    )
                )
        annee = usager.annee_naissance
        rows.append(
            SheetRow(
                identifiant=usager.identifiant,
                present=True,
                oriente_par=partner,
                annee_naissance=annee,
                sexe=usager.sexe or "",
                csp=usager.csp or "",
                situation=usager.situation or "",
                code_iris=usager.code_iris or "",
                code_commune=usager.code_commune or "",
                premiere_visite=usager.premiere_visite,
            )
        )
    if issues:
        raise ImportRejected(issues)
    return rows


@transaction.atomic
def participation_import(*, acting_user, seance, data: bytes, filename: str) -> dict:
    """Import a usagers file as the people present at a session: all or nothing."""
    check_may(acting_user, Permission.SUIVI_WRITE, seance.action.structure_id)
    rows = read_participants(seance, data, filename)
    created, updated = _save_rows(seance, rows)
    counts = {"ajoutees": created, "modifiees": updated}
    audit_record(
        acting_user=acting_user,
        action=AuditAction.IMPORT,
        obj=seance,
        structure=seance.action.structure,
        changes={"fichier": filename, "sha256": hashlib.sha256(data).hexdigest(), **counts},
    )
    return counts


# --- Evaluation and before / after ----------------------------------------------------------------------


@transaction.atomic
def evaluation_save(*, acting_user, action, difficultes: str, enseignements: str) -> Evaluation:
    check_may(acting_user, Permission.SUIVI_WRITE, action.structure_id)
    evaluation, created = Evaluation.objects.get_or_create(action=action)
    before = {"difficultes": evaluation.difficultes, "enseignements": evaluation.enseignements}
    evaluation.difficultes = difficultes.strip()
    evaluation.enseignements = enseignements.strip()
    evaluation.updated_by = _user(acting_user)
    evaluation.save()
    audit_record(
        acting_user=acting_user,
        action=AuditAction.CREATE if created else AuditAction.UPDATE,
        obj=evaluation,
        structure=action.structure,
        changes={
            k: [before[k], getattr(evaluation, k)] for k in before if before[k] != getattr(evaluation, k)
        },
    )
    return evaluation


def diagnostic_before(action) -> Diagnostic | None:
    """The diagnostic the action was built from, else the EPN's latest one computed on data that
    ends before the action starts."""
    if action.diagnostic_id:
        return action.diagnostic
    period = selectors.period_of(action.seances.all())
    diagnostics = Diagnostic.objects.for_structure(action.structure).latest_first()
    if period is not None:
        diagnostics = diagnostics.filter(periode_fin__lt=period[0])
    return diagnostics.first()


def frequentations_after(action):
    """The EPN's attendance files that reach beyond the action's end: candidates for the 'after'."""
    period = selectors.period_of(action.seances.all())
    files = FrequentationImport.objects.for_structure(action.structure).filter(unite="personnes")
    if period is None:
        return files.none()
    return files.filter(periode_fin__gt=period[1]).order_by("-periode_fin", "-id")


@transaction.atomic
def avant_apres_compute(*, acting_user, action, frequentation: FrequentationImport) -> AvantApres:
    """Run the diagnostic again on an attendance file of the period after the action."""
    check_may(acting_user, Permission.SUIVI_WRITE, action.structure_id)
    if frequentation.structure_id != action.structure_id:
        raise ValidationError("Ce fichier de fréquentation appartient à un autre lieu.")
    if not frequentations_after(action).filter(pk=frequentation.pk).exists():
        raise ValidationError(
            "Ce fichier ne couvre pas la période qui suit l’action : choisissez un fichier de "
            "fréquentation dont les dates vont au-delà de la dernière séance."
        )
    avant = diagnostic_before(action)
    apres = diagnostic_compute(
        acting_user=acting_user,
        structure=action.structure,
        frequentation=frequentation,
        niveau=avant.niveau if avant else "iris",
        titre=f"Après l’action « {action.titre} »",
        reference_year=frequentation.periode_fin.year if frequentation.periode_fin else None,
    )
    record = AvantApres.objects.create(action=action, avant=avant, apres=apres, created_by=_user(acting_user))
    audit_record(
        acting_user=acting_user,
        action=AuditAction.CREATE,
        obj=record,
        structure=action.structure,
        changes={"avant": avant.pk if avant else None, "apres": apres.pk, "fichier": frequentation.fichier},
    )
    return record


# --- Relationship with partners ---------------------------------------------------------------------


@transaction.atomic
def echange_create(
    *, acting_user, epn, partenaire, date: dt.date, nature: str, resume: str, personnes: str = ""
) -> Echange:
    check_may(acting_user, Permission.SUIVI_WRITE, epn.pk)
    _partner_of(epn.pk, partenaire)
    if nature not in NatureEchange.values:
        raise ValidationError({"nature": "Nature d’échange inconnue."})
    if not resume.strip():
        raise ValidationError({"resume": "Résumez l’échange en quelques mots."})
    if date > selectors.today():
        raise ValidationError({"date": "Un échange se note une fois qu’il a eu lieu."})
    echange = Echange.objects.create(
        structure=epn,
        partenaire=partenaire,
        date=date,
        nature=nature,
        personnes=personnes.strip(),
        resume=resume.strip(),
        created_by=_user(acting_user),
    )
    audit_record(
        acting_user=acting_user,
        action=AuditAction.CREATE,
        obj=echange,
        structure=epn,
        changes={"partenaire": partenaire.nom, "date": date.isoformat(), "nature": nature},
    )
    return echange


@transaction.atomic
def echange_delete(*, acting_user, echange: Echange) -> None:
    check_may(acting_user, Permission.SUIVI_WRITE, echange.structure_id)
    audit_record(acting_user=acting_user, action=AuditAction.DELETE, obj=echange, structure=echange.structure)
    echange.delete()


@transaction.atomic
def promotion_create(
    *, acting_user, epn, partenaire, date: dt.date, sens: str, description: str
) -> Promotion:
    check_may(acting_user, Permission.SUIVI_WRITE, epn.pk)
    _partner_of(epn.pk, partenaire)
    if sens not in SensPromotion.values:
        raise ValidationError({"sens": "Dites qui a promu qui."})
    if not description.strip():
        raise ValidationError({"description": "Décrivez ce qui a été fait."})
    promotion = Promotion.objects.create(
        structure=epn,
        partenaire=partenaire,
        date=date,
        sens=sens,
        description=description.strip(),
        created_by=_user(acting_user),
    )
    audit_record(
        acting_user=acting_user,
        action=AuditAction.CREATE,
        obj=promotion,
        structure=epn,
        changes={"partenaire": partenaire.nom, "date": date.isoformat(), "sens": sens},
    )
    return promotion


@transaction.atomic
def promotion_delete(*, acting_user, promotion: Promotion) -> None:
    check_may(acting_user, Permission.SUIVI_WRITE, promotion.structure_id)
    audit_record(
        acting_user=acting_user, action=AuditAction.DELETE, obj=promotion, structure=promotion.structure
    )
    promotion.delete()


@transaction.atomic
def delai_relance_set(*, acting_user, epn, jours: int | None, partenaire=None) -> DelaiRelance | None:
    """Set the reminder delay of one partner, or the EPN's default (``partenaire`` None).
    ``jours`` None removes it (back to the EPN's default, or to 90 days)."""
    check_may(acting_user, Permission.SUIVI_WRITE, epn.pk)
    if partenaire is not None:
        _partner_of(epn.pk, partenaire)
    existing = DelaiRelance.objects.filter(structure=epn, partenaire=partenaire).first()
    before = existing.jours if existing else None
    if jours is None:
        if existing:
            existing.delete()
        result = None
    else:
        if not 1 <= jours <= 3650:
            raise ValidationError({"jours": "Un délai entre 1 et 3 650 jours."})
        result = existing or DelaiRelance(structure=epn, partenaire=partenaire)
        result.jours = jours
        result.save()
    audit_record(
        acting_user=acting_user,
        action=AuditAction.UPDATE,
        obj=partenaire or epn,
        structure=epn,
        changes={"delai_relance": [before, jours]},
    )
    return result
