"""Writes on conventions: drafting, versions, comments, the validation circuit, signature,
résiliation, avenants and custom models.

Each service is atomic and leaves its audit entry. The EPN's staff draft and submit; the parties
comment; the partners give their visa and the élu signs, each through ``convention_decide``,
which locks the convention's row so that two decisions on the same step never both count.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from ancrage.audit import context
from ancrage.audit.enums import AuditAction
from ancrage.audit.services import audit_record, model_changes, snapshot
from ancrage.conventions import circuit as pure
from ancrage.conventions import jobs, notifications, selectors
from ancrage.conventions.custom_models import CustomModelError, check_custom_model
from ancrage.conventions.documents import sha256_hex
from ancrage.conventions.enums import DecisionChoice, Etat, JobState
from ancrage.conventions.modeles import MODELS
from ancrage.conventions.models import (
    Commentaire,
    Convention,
    Decision,
    GenerationJob,
    ModelePersonnalise,
)
from ancrage.conventions.platform import platform_certificate
from ancrage.conventions.signature import Signatory, SignatureError, sign_pdf
from ancrage.core.mail import site_url
from ancrage.core.wording import de_nom
from ancrage.organisations import permissions
from ancrage.organisations.enums import StructureKind
from ancrage.organisations.models import Membership, Structure
from ancrage.organisations.permissions import Permission
from ancrage.organisations.scoping import check_may, scope_for

CONVENTION_FIELDS = (
    "titre",
    "reference",
    "modele",
    "modele_personnalise",
    "objet",
    "objectifs",
    "publics",
    "engagements",
    "finances",
    "modalites_versement",
    "indicateurs",
    "locaux",
    "equipements",
    "creneaux",
    "classes",
    "encadrement",
    "lieu_signature",
    "juridiction",
    "date_debut",
    "duree_mois",
    "reconduction_tacite",
    "reconductions_max",
    "preavis_mois",
    "delai_alerte_jours",
)


def _user(acting_user):
    return acting_user if acting_user is not None and acting_user.is_authenticated else None


def _check_can_read(acting_user, convention: Convention) -> None:
    if acting_user is None:
        return
    if not Convention.objects.visible_to(acting_user).filter(pk=convention.pk).exists():
        raise PermissionDenied("Cette convention ne vous concerne pas.")


def _check_fields(epn: Structure, fields: dict, partenaires) -> None:
    errors = {}
    if "titre" in fields and not str(fields["titre"]).strip():
        errors["titre"] = "Le titre est obligatoire."
    if "objet" in fields and not str(fields["objet"]).strip():
        errors["objet"] = "Décrivez l’objet de la convention."
    if fields.get("duree_mois") is not None and fields["duree_mois"] < 1:
        errors["duree_mois"] = "La durée est d’au moins un mois."
    modele, perso = fields.get("modele"), fields.get("modele_personnalise")
    if perso is not None and perso.structure_id != epn.pk:
        errors["modele_personnalise"] = "Ce modèle appartient à un autre EPN."
    if perso is None and modele is not None and modele not in MODELS:
        errors["modele"] = "Choisissez un modèle de convention."
    if partenaires is not None:
        for partner in partenaires:
            if partner.kind != StructureKind.PARTENAIRE or partner.reseau_id != epn.reseau_id:
                errors["partenaires"] = (
                    f"« {partner.nom} » n’est pas une organisation partenaire de ce réseau."
                )
    if errors:
        raise ValidationError(errors)


# --- Drafting ---------------------------------------------------------------------------------------


@transaction.atomic
def convention_create(
    *,
    acting_user,
    epn: Structure,
    titre: str,
    objet: str,
    date_debut: dt.date,
    partenaires=(),
    action=None,
    **fields,
) -> Convention:
    check_may(acting_user, Permission.CONVENTION_WRITE, epn.pk)
    if epn.kind != StructureKind.EPN:
        raise ValidationError("Une convention est portée par un lieu de médiation numérique (EPN).")
    if action is not None and action.structure_id != epn.pk:
        raise ValidationError("L’action appartient à un autre EPN.")
    unknown = set(fields) - set(CONVENTION_FIELDS) - {"avenant_de", "numero_avenant"}
    if unknown:
        raise TypeError(f"Unknown convention fields: {sorted(unknown)}")
    fields.setdefault("modele", "partenariat_generique")
    _check_fields(epn, {"titre": titre, "objet": objet, **fields}, partenaires)
    convention = Convention.objects.create(
        structure=epn,
        collectivite=epn.collectivite,
        action=action,
        titre=titre.strip(),
        objet=objet.strip(),
        date_debut=date_debut,
        created_by=_user(acting_user),
        **fields,
    )
    convention.partenaires.set(partenaires)
    if not convention.reference:
        convention.reference = f"CONV-{convention.date_debut.year}-{convention.pk:04d}"
        convention.save(update_fields=["reference"])
    audit_record(
        acting_user=acting_user,
        action=AuditAction.CREATE,
        obj=convention,
        structure=epn,
        changes={
            **model_changes(convention, ("titre", "modele", "date_debut", "duree_mois", "action"), {}),
            "partenaires": [p.pk for p in partenaires],
        },
    )
    return convention


def convention_create_from_action(*, acting_user, action, **overrides) -> Convention:
    """A draft prefilled from the action: partners, commitments from the task matrix, budget."""
    fields = selectors.prefill_from_action(action)
    fields.update(overrides)
    return convention_create(acting_user=acting_user, epn=action.structure, action=action, **fields)


@transaction.atomic
def convention_update(*, acting_user, convention: Convention, partenaires=None, **fields) -> Convention:
    check_may(acting_user, Permission.CONVENTION_WRITE, convention)
    unknown = set(fields) - set(CONVENTION_FIELDS)
    if unknown:
        raise TypeError(f"Unknown convention fields: {sorted(unknown)}")
    convention = Convention.objects.select_for_update().get(pk=convention.pk)
    if convention.etat != Etat.BROUILLON:
        raise ValidationError(
            "Seul un brouillon se modifie. Retirez la convention du circuit pour la corriger, "
            "ou rédigez un avenant si elle est signée."
        )
    _check_fields(convention.structure, fields, partenaires)
    before = snapshot(convention, CONVENTION_FIELDS)
    before_partners = sorted(convention.partenaires.values_list("pk", flat=True))
    for name, value in fields.items():
        setattr(convention, name, value)
    if "modele_personnalise" in fields and fields["modele_personnalise"] is not None:
        convention.modele = ""
    if "finances" not in fields:
        _follow_the_budget(convention)
    convention.edition += 1
    convention.save()
    changes = model_changes(convention, CONVENTION_FIELDS, before)
    if partenaires is not None:
        convention.partenaires.set(partenaires)
        after = sorted(p.pk for p in partenaires)
        if after != before_partners:
            changes["partenaires"] = [before_partners, after]
    audit_record(
        acting_user=acting_user,
        action=AuditAction.UPDATE,
        obj=convention,
        structure=convention.structure,
        changes=changes,
    )
    return convention


def _follow_the_budget(convention: Convention) -> bool:
    """A draft drafted from an action quotes the action's budget as it is now (its financial
    clause is generated from it). True when the lines changed."""
    if not convention.action_id:
        return False
    lines = selectors.budget_of_action(convention.action)
    if lines == convention.finances:
        return False
    convention.finances = lines
    return True


@transaction.atomic
def convention_version_request(*, acting_user, convention: Convention) -> GenerationJob:
    """Ask for a new version (DOCX + PDF); the work runs in the background (``jobs``)."""
    check_may(acting_user, Permission.CONVENTION_WRITE, convention)
    convention = Convention.objects.select_for_update().get(pk=convention.pk)
    if convention.etat != Etat.BROUILLON:
        raise ValidationError("Une nouvelle version ne se génère que pour un brouillon.")
    running = convention.jobs.filter(state__in=[JobState.EN_ATTENTE, JobState.EN_COURS]).first()
    if running is None and _follow_the_budget(convention):
        # The action's budget changed since the last edit: the new version quotes the new one.
        convention.edition += 1
        convention.save(update_fields=["finances", "edition", "updated_at"])
        audit_record(
            acting_user=acting_user,
            action=AuditAction.UPDATE,
            obj=convention,
            structure=convention.structure,
            changes={"finances": "repris du budget de l’action"},
        )
    if running is not None:
        # Asking again for a generation whose worker died relaunches it (what "Relancer" does).
        if jobs.is_stale(running) and jobs.requeue_stale(running):
            audit_record(
                acting_user=acting_user,
                action=AuditAction.UPDATE,
                obj=running,
                structure=convention.structure,
                changes={"relance": running.get_state_display(), "tentative": running.attempt},
            )
            jobs.schedule(running.pk)
            running.refresh_from_db()
        return running
    job = GenerationJob.objects.create(convention=convention, created_by=_user(acting_user))
    audit_record(
        acting_user=acting_user,
        action=AuditAction.CREATE,
        obj=job,
        structure=convention.structure,
        changes={"edition": convention.edition},
    )
    jobs.schedule(job.pk)
    return job


@transaction.atomic
def convention_comment_add(*, acting_user, convention: Convention, texte: str) -> Commentaire:
    """Any party who sees the convention comments the draft (or the version under validation)."""
    _check_can_read(acting_user, convention)
    if not texte.strip():
        raise ValidationError({"texte": "Le commentaire est vide."})
    if convention.etat not in (Etat.BROUILLON, Etat.EN_VALIDATION):
        raise ValidationError("La convention est signée : les commentaires sont clos.")
    scope = scope_for(acting_user) if acting_user is not None else None
    organisation = ""
    if scope is not None and scope.partner_ids:
        partner = convention.partenaires.filter(pk__in=scope.partner_ids).first()
        organisation = partner.nom if partner else ""
    elif scope is not None and convention.structure_id in scope.staff_epn_ids:
        organisation = convention.structure.nom
    elif (
        convention.collectivite_id
        and scope is not None
        and convention.collectivite_id in scope.collectivite_ids
    ):
        organisation = convention.collectivite.nom
    comment = Commentaire.objects.create(
        convention=convention,
        version=convention.versions.order_by("-numero").first(),
        auteur=_user(acting_user),
        organisation=organisation,
        texte=texte.strip(),
    )
    audit_record(
        acting_user=acting_user,
        action=AuditAction.CREATE,
        obj=comment,
        structure=convention.structure,
        changes={"convention": convention.pk},
    )
    return comment


# --- Circuit ----------------------------------------------------------------------------------------


def _circuit_definition(convention: Convention) -> dict:
    """A visa by each partner (all of them, in parallel), then the signature of one élu of the
    collectivité — or, for an EPN attached to none, of one of its responsables (the roles are
    ``permissions.CONVENTION_VISA`` and ``CONVENTION_SIGNER_FOR_*``)."""
    steps, people = [], {}
    partners = list(convention.partenaires.order_by("nom"))
    with_account = set(
        Membership.objects.active()
        .filter(role=permissions.CONVENTION_VISA, structure__in=partners)
        .values_list("structure_id", flat=True)
    )
    missing = [p.nom for p in partners if p.pk not in with_account]
    if missing:
        raise ValidationError(
            "Chaque partenaire donne son visa dans Ancrage, mais ces organisations n’y ont pas encore "
            f"de compte : {', '.join(missing)}. Invitez l’un de leurs contacts (menu « Invitations »)."
        )
    if partners:
        keys = [selectors.partner_key(p.pk) for p in partners]
        steps.append({"label": "Visa des partenaires", "people": keys, "mode": "tous", "kind": "visa"})
        for partner, key in zip(partners, keys, strict=True):
            people[key] = {"organisation": partner.nom, "qualite": "Partenaire"}
    if convention.collectivite_id:
        signers = Membership.objects.active().filter(
            role=permissions.CONVENTION_SIGNER_FOR_COLLECTIVITE, collectivite_id=convention.collectivite_id
        )
        organisation, qualite = convention.collectivite.nom, "Élu·e signataire"
        label = f"Signature {de_nom(organisation)}"
        nobody = (
            f"Aucun·e élu·e {de_nom(organisation)} n’a de compte signataire dans Ancrage : "
            "la convention ne peut pas être signée."
        )
    else:
        signers = Membership.objects.active().filter(
            role=permissions.CONVENTION_SIGNER_FOR_EPN, structure_id=convention.structure_id
        )
        organisation, qualite = convention.structure.nom, "Responsable de l’EPN"
        label = f"Signature {de_nom(organisation)}"
        nobody = "L’EPN n’a pas de responsable avec un compte : personne ne peut signer la convention."
    signer_ids = sorted({m.user_id for m in signers})
    if not signer_ids:
        raise ValidationError(nobody)
    keys = [selectors.user_key(uid) for uid in signer_ids]
    steps.append({"label": label, "people": keys, "mode": "un", "kind": "signature"})
    for key in keys:
        people[key] = {"organisation": organisation, "qualite": qualite}
    definition = {"steps": steps, "people": people}
    try:
        selectors.circuit_of(Convention(circuit=definition))
    except pure.CircuitError as exc:
        raise ValidationError(exc.message) from exc
    return definition


@transaction.atomic
def convention_submit(*, acting_user, convention: Convention) -> Convention:
    """Submit the latest version to the circuit: a new round starts at step 1."""
    check_may(acting_user, Permission.CONVENTION_WRITE, convention)
    convention = Convention.objects.select_for_update().get(pk=convention.pk)
    version = convention.versions.order_by("-numero").first()
    if version is None or version.edition != convention.edition:
        raise ValidationError(
            "Générez d’abord une version à jour du document : c’est elle que les parties valident."
        )
    try:
        target = pure.check_convention_transition(convention.etat, pure.ConventionEvent.SOUMETTRE)
    except pure.CircuitError as exc:
        raise ValidationError(exc.message) from exc
    convention.circuit = _circuit_definition(convention)
    convention.tour += 1
    convention.etat = target.value
    convention.version_soumise = version
    convention.save(update_fields=["circuit", "tour", "etat", "version_soumise", "updated_at"])
    audit_record(
        acting_user=acting_user,
        action=AuditAction.TRANSITION,
        obj=convention,
        structure=convention.structure,
        changes={
            "etat": [Etat.BROUILLON, convention.etat],
            "tour": convention.tour,
            "version": version.numero,
            "document_sha256": version.pdf_sha256,
        },
    )
    notifications.submitted(convention)
    return convention


@transaction.atomic
def convention_withdraw(*, acting_user, convention: Convention) -> Convention:
    """The EPN takes its convention back to correct it before anyone rejects it."""
    check_may(acting_user, Permission.CONVENTION_WRITE, convention)
    convention = Convention.objects.select_for_update().get(pk=convention.pk)
    try:
        target = pure.check_convention_transition(convention.etat, pure.ConventionEvent.RETIRER)
    except pure.CircuitError as exc:
        raise ValidationError(exc.message) from exc
    before = convention.etat
    convention.etat = target.value
    convention.save(update_fields=["etat", "updated_at"])
    audit_record(
        acting_user=acting_user,
        action=AuditAction.TRANSITION,
        obj=convention,
        structure=convention.structure,
        changes={"etat": [before, convention.etat], "tour": convention.tour},
    )
    return convention


def _person_for(
    acting_user, convention: Convention, progress: pure.CircuitProgress, person: str | None
) -> str:
    mine = selectors.person_keys_of(acting_user, convention)
    if person is not None:
        if person not in mine:
            raise PermissionDenied("Vous ne pouvez pas décider au nom de cette partie.")
        return person
    current = progress.current
    if current is not None:
        waiting = [p for p in current.waiting_for if p in mine]
        if waiting:
            return waiting[0]
        already = [p for p in current.step.people if p in mine]
        if already:
            return already[0]  # the pure circuit then says "already decided"
    # Not in the current step: the pure circuit explains whose turn it is.
    for step in convention.circuit.get("steps", []):
        for key in step["people"]:
            if key in mine:
                return key
    raise PermissionDenied("Vous n’intervenez pas dans le circuit de cette convention.")


@transaction.atomic
def convention_decide(
    *,
    acting_user,
    convention: Convention,
    decision: str,
    commentaire: str = "",
    tour: int | None = None,
    document_sha256: str | None = None,
    person: str | None = None,
) -> Decision:
    """A visa, a rejection or the signature, by a person of the current step.

    The convention's row is locked for the whole decision, and the round and the document hash
    the person saw are checked under the lock: of two concurrent decisions that cannot both
    count (the same party twice, two élus signing, a rejection racing a visa), exactly one wins
    and the other gets a French explanation.
    """
    _check_can_read(acting_user, convention)
    convention = (
        Convention.objects.select_for_update(of=("self",))
        .select_related("structure", "collectivite", "version_soumise")
        .get(pk=convention.pk)
    )
    if convention.etat != Etat.EN_VALIDATION:
        raise ValidationError(
            f"La convention n’est pas en validation (elle est « {convention.get_etat_display().lower()} »)."
        )
    if tour is not None and tour != convention.tour:
        raise ValidationError(
            "La convention a été retirée ou soumise à nouveau depuis l’affichage de la page : rechargez-la."
        )
    circuit = selectors.circuit_of(convention)
    round_decisions = list(convention.decisions.filter(tour=convention.tour).order_by("id"))
    actions = selectors.round_actions(convention, round_decisions)
    expected = convention.version_soumise.pdf_sha256
    before = pure.progress(circuit, actions, expected_document_hash=expected)
    key = _person_for(acting_user, convention, before, person)
    action = pure.CircuitAction(
        step=before.current.index if before.current else len(circuit.steps) - 1,
        person=key,
        decision=decision,
        comment=commentaire.strip(),
        document_hash=document_sha256 or expected,
    )
    try:
        after = pure.decide(circuit, actions, action, expected_document_hash=expected)
    except pure.CircuitError as exc:
        raise ValidationError(exc.message) from exc
    step = circuit.steps[action.step]
    who = convention.circuit["people"].get(key, {})
    where = context.current()
    user = _user(acting_user)
    try:
        with transaction.atomic():
            row = Decision.objects.create(
                convention=convention,
                tour=convention.tour,
                etape=action.step,
                etape_libelle=step.label,
                nature=step.kind.value,
                personne=key,
                par=user,
                nom=(user.get_full_name() or user.email) if user else "Système",
                qualite=who.get("qualite", ""),
                organisation=who.get("organisation", ""),
                decision=action.decision.value,
                commentaire=action.comment,
                document_sha256=action.document_hash,
                adresse_ip=where.ip_address,
                origine=where.origin,
            )
    except IntegrityError as exc:  # the unique constraint, should the lock ever be missing
        raise ValidationError("Cette décision a déjà été enregistrée.") from exc
    changes = {
        "tour": convention.tour,
        "etape": step.label,
        "decision": row.decision,
        "personne": key,
        "document_sha256": row.document_sha256,
    }
    if after.outcome == pure.CircuitOutcome.REJETE:
        target = pure.check_convention_transition(
            convention.etat, pure.ConventionEvent.REJETER, fields={"comment": action.comment}
        )
        changes["etat"] = [convention.etat, target.value]
        convention.etat = target.value
        convention.save(update_fields=["etat", "updated_at"])
        notifications.refused(convention, row)
    elif after.outcome == pure.CircuitOutcome.VALIDE:
        target = pure.check_convention_transition(convention.etat, pure.ConventionEvent.SIGNER)
        _seal(convention, [*round_decisions, row])
        changes["etat"] = [convention.etat, target.value]
        changes["pdf_signe_sha256"] = convention.pdf_signe_sha256
        convention.etat = target.value
        convention.save(update_fields=["etat", "pdf_signe", "pdf_signe_sha256", "signee_le", "updated_at"])
        notifications.sealed(convention)
    audit_record(
        acting_user=acting_user,
        action=AuditAction.TRANSITION if "etat" in changes else AuditAction.UPDATE,
        obj=convention,
        structure=convention.structure,
        changes=changes,
    )
    notifications.decided(convention, row, before, after)
    return row


def _seal(convention: Convention, decisions: list[Decision]) -> None:
    """Seal the validated PDF with the platform certificate; the stamp lists every signatory.

    The sealed bytes are those of the version every party validated (its hash is on each
    decision), so the signed file ties back to the circuit's history. The seal is quick (a
    fraction of a second), so it runs here, in the same transaction as the state change.
    """
    version = convention.version_soumise
    with version.pdf.open("rb") as handle:
        pdf = handle.read()
    if sha256_hex(pdf) != version.pdf_sha256:
        raise ValidationError(
            "Le PDF enregistré ne correspond plus à son empreinte : la signature est refusée."
        )
    signatories = [
        Signatory(
            name=d.nom,
            role=f"{d.qualite} ({'visa' if d.nature == 'visa' else 'signature'})",
            organisation=d.organisation,
            signed_on=timezone.localtime(d.at),
        )
        for d in decisions
        if d.decision == DecisionChoice.VALIDER
    ]
    box = None
    if version.cadre_signature:
        page, rect = version.cadre_signature
        box = (int(page), tuple(int(v) for v in rect))
    try:
        signed = sign_pdf(
            pdf,
            signatories,
            box=box,
            location=convention.lieu_signature,
            timestamp_url=settings.ANCRAGE_TSA_URL,
            timestamp_timeout=settings.ANCRAGE_TSA_TIMEOUT,
            verification_url=site_url(reverse("verification:verifier")),
            **platform_certificate().signer_kwargs(),
        )
    except SignatureError as exc:
        raise ValidationError(str(exc)) from exc
    convention.pdf_signe.save(f"signee-{signed.sha256[:12]}.pdf", ContentFile(signed.content), save=False)
    convention.pdf_signe_sha256 = signed.sha256
    convention.signee_le = timezone.now()


# --- After the signature ---------------------------------------------------------------------------


@transaction.atomic
def convention_terminate(
    *, acting_user, convention: Convention, motif: str, date_effet: dt.date
) -> Convention:
    """Résiliation: from ``date_effet`` on, the convention is résiliée (computed from the date)."""
    check_may(acting_user, Permission.CONVENTION_WRITE, convention)
    convention = Convention.objects.select_for_update().get(pk=convention.pk)
    current = selectors.effective_etat(convention)
    try:
        pure.check_convention_transition(
            current, pure.ConventionEvent.RESILIER, fields={"motivation": motif, "effective_date": date_effet}
        )
    except pure.CircuitError as exc:
        raise ValidationError(exc.message) from exc
    convention.motif_resiliation = motif.strip()
    convention.resiliee_le = date_effet
    if date_effet <= selectors.today():
        convention.etat = Etat.RESILIEE
    convention.save(update_fields=["motif_resiliation", "resiliee_le", "etat", "updated_at"])
    audit_record(
        acting_user=acting_user,
        action=AuditAction.TRANSITION,
        obj=convention,
        structure=convention.structure,
        changes={
            "etat": [current, Etat.RESILIEE.value],
            "resiliee_le": date_effet,
            "motif": convention.motif_resiliation,
        },
    )
    return convention


@transaction.atomic
def convention_avenant_create(*, acting_user, convention: Convention) -> Convention:
    """A draft avenant to the original of ``convention``, prefilled with its current terms."""
    check_may(acting_user, Permission.CONVENTION_WRITE, convention)
    original = Convention.objects.select_for_update().get(pk=convention.original.pk)
    try:
        numero = pure.check_new_avenant(selectors.series_terms(original), original.pk, selectors.today())
    except pure.CircuitError as exc:
        raise ValidationError(exc.message) from exc
    latest = original.avenants.order_by("-created_at", "-id").first() or original
    fields = {name: getattr(latest, name) for name in CONVENTION_FIELDS}
    fields.update(
        titre=f"Avenant n° {numero} à la {original.titre[:1].lower()}{original.titre[1:]}",
        reference=f"{original.reference}-AV{numero}",
        objet=f"Le présent avenant modifie la convention {original.reference} signée entre les parties. "
        + latest.objet,
    )
    return convention_create(
        acting_user=acting_user,
        epn=original.structure,
        action=original.action,
        partenaires=list(latest.partenaires.all()),
        avenant_de=original,
        numero_avenant=numero,
        **fields,
    )


# --- Custom models -----------------------------------------------------------------------------------


@transaction.atomic
def modele_upload(*, acting_user, epn: Structure, nom: str, filename: str, data: bytes) -> ModelePersonnalise:
    """Keep an EPN's own DOCX model once its tags are checked; a bad model is refused in French."""
    check_may(acting_user, Permission.CONVENTION_WRITE, epn.pk)
    try:
        checked = check_custom_model(data, filename)
    except CustomModelError as exc:
        raise ValidationError({"fichier": str(exc)}) from exc
    modele = ModelePersonnalise(
        structure=epn,
        nom=nom.strip() or filename,
        nom_fichier=filename[:255],
        sha256=sha256_hex(data),
        variables=sorted(checked.variables),
        created_by=_user(acting_user),
    )
    modele.fichier.save(f"{modele.sha256[:16]}.docx", ContentFile(data), save=False)
    modele.save()
    audit_record(
        acting_user=acting_user,
        action=AuditAction.CREATE,
        obj=modele,
        structure=epn,
        changes={"nom": modele.nom, "sha256": modele.sha256},
    )
    return modele
