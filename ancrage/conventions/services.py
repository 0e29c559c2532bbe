"""Writes on conventions: drafting, versions, comments, the validation circuit, signature,
résiliation, avenants and custom models.

Each service is atomic and leaves its audit entry. The EPN's staff draft and submit; the parties
comment; the partners give their visa and the élu signs, each through ``convention_decide``,
which locks the convention's row so that two decisions on the same step never both count.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import replace

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from ancrage.accounts.models import User
from ancrage.accounts.second_factor import confirmed_device
from ancrage.audit import context
from ancrage.audit.enums import AuditAction
from ancrage.audit.services import audit_record, model_changes, snapshot
from ancrage.conventions import circuit as pure
from ancrage.conventions import jobs, notifications, preuve, selectors
from ancrage.conventions.content import ContentError
from ancrage.conventions.custom_models import CustomModelError, check_custom_model
from ancrage.conventions.documents import generate_pdf, sha256_hex
from ancrage.conventions.enums import CanalCode, DecisionChoice, Etat, EvenementNature, JobState
from ancrage.conventions.modeles import MODELS, build_document
from ancrage.conventions.models import (
    CodeSignature,
    Commentaire,
    Convention,
    Decision,
    Delegation,
    GenerationJob,
    ModelePersonnalise,
)
from ancrage.conventions.platform import platform_certificate
from ancrage.conventions.signature import Signatory, SignatureError, sign_pdf
from ancrage.core.keys import journal_key
from ancrage.core.log_privacy import mask
from ancrage.core.mail import site_url
from ancrage.core.wording import de_nom
from ancrage.dossiers.services import piece_attach_system
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


def _person(user, organisation: str, qualite: str, party: str) -> dict:
    return {
        "nom": user.get_full_name() or user.email,
        "organisation": organisation,
        "qualite": qualite,
        "partie": party,
    }


def _circuit_definition(convention: Convention) -> dict:
    """Every party signs: the EPN (one of its responsables), each partner (one of its members)
    side by side, then the collectivité (one of its élus), which signs last. Each signatory is
    frozen by name: whoever joins an organisation after the submission signs nothing of this
    round. A person named for two parties can sign for only one (``circuit.TwoParties``)."""
    steps, people = [], {}
    partners = list(convention.partenaires.order_by("nom"))
    members = (
        Membership.objects.active()
        .filter(role=permissions.CONVENTION_SIGNER_FOR_PARTNER, structure__in=partners)
        .select_related("user")
        .order_by("user_id")
    )
    by_partner: dict[int, list] = {}
    for membership in members:
        by_partner.setdefault(membership.structure_id, []).append(membership.user)
    missing = [p.nom for p in partners if p.pk not in by_partner]
    if missing:
        raise ValidationError(
            "Chaque partenaire signe dans Ancrage, mais ces organisations n’y ont pas encore "
            f"de compte : {', '.join(missing)}. Invitez l’un de leurs contacts (menu « Invitations »)."
        )
    responsables = sorted(
        {
            m.user
            for m in Membership.objects.active()
            .filter(role=permissions.CONVENTION_SIGNER_FOR_EPN, structure_id=convention.structure_id)
            .select_related("user")
        },
        key=lambda u: u.pk,
    )
    if not responsables:
        raise ValidationError(
            "L’EPN n’a pas de responsable avec un compte : personne ne peut signer pour lui."
        )

    def step(label, users, organisation, qualite, party, group):
        keys = [selectors.user_key(u.pk) for u in users]
        for user, key in zip(users, keys, strict=True):
            people.setdefault(key, _person(user, organisation, qualite, party))
        steps.append({"label": label, "people": keys, "mode": "un", "kind": "signature", "group": group})

    epn = convention.structure
    step(f"Signature {de_nom(epn.nom)}", responsables, epn.nom, "Responsable de l’EPN", selectors.EPN_KEY, 0)
    for partner in partners:
        users = sorted({u for u in by_partner[partner.pk]}, key=lambda u: u.pk)
        step(
            f"Signature {de_nom(partner.nom)}",
            users,
            partner.nom,
            "Représentant·e de la structure partenaire",
            selectors.partner_key(partner.pk),
            0,
        )
    if convention.collectivite_id:
        elus = sorted(
            {
                m.user
                for m in Membership.objects.active()
                .filter(
                    role=permissions.CONVENTION_SIGNER_FOR_COLLECTIVITE,
                    collectivite_id=convention.collectivite_id,
                )
                .select_related("user")
            },
            key=lambda u: u.pk,
        )
        organisation = convention.collectivite.nom
        if not elus:
            raise ValidationError(
                f"Aucun·e élu·e {de_nom(organisation)} n’a de compte signataire dans Ancrage : "
                "la convention ne peut pas être signée."
            )
        step(
            f"Signature {de_nom(organisation)}",
            elus,
            organisation,
            "Élu·e signataire",
            selectors.COLLECTIVITE_KEY,
            1,
        )
    # A person who is the only possible signatory of two parties could never complete the circuit.
    only = {}
    for item in steps:
        if len(item["people"]) == 1:
            key = item["people"][0]
            if key in only:
                raise ValidationError(
                    f"{people[key]['nom']} est la seule personne pouvant signer à l’étape « {only[key]} » "
                    f"et à l’étape « {item['label']} » : une même personne ne peut pas engager deux "
                    "parties. Invitez un autre représentant."
                )
            only[key] = item["label"]
    definition = {"steps": steps, "people": people}
    try:
        selectors.circuit_of(Convention(circuit=definition))
    except pure.CircuitError as exc:
        raise ValidationError(exc.message) from exc
    return definition


def _circuit_summary(convention: Convention) -> list[dict]:
    people = convention.circuit.get("people", {})
    return [
        {
            "etape": index,
            "libelle": item["label"],
            "nature": item["kind"],
            "mode": item["mode"],
            "groupe": item.get("group"),
            "signataires": [
                {
                    "personne": key,
                    **{k: people.get(key, {}).get(k, "") for k in ("nom", "qualite", "organisation")},
                }
                for key in item["people"]
            ],
        }
        for index, item in enumerate(convention.circuit.get("steps", []))
    ]


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
    preuve.append(
        convention,
        EvenementNature.SOUMISE,
        acting_user=acting_user,
        version=version.numero,
        document_sha256=version.pdf_sha256,
        circuit=_circuit_summary(convention),
    )
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
    preuve.append(convention, EvenementNature.RETRAIT, acting_user=acting_user)
    audit_record(
        acting_user=acting_user,
        action=AuditAction.TRANSITION,
        obj=convention,
        structure=convention.structure,
        changes={"etat": [before, convention.etat], "tour": convention.tour},
    )
    return convention


class _Round:
    """The convention (locked), its circuit and the current round's decisions and delegations."""

    def __init__(self, convention: Convention, *, tour: int | None = None):
        self.convention = convention = (
            Convention.objects.select_for_update(of=("self",))
            .select_related("structure", "collectivite", "version_soumise", "action", "modele_personnalise")
            .get(pk=convention.pk)
        )
        if convention.etat != Etat.EN_VALIDATION:
            etat = convention.get_etat_display().lower()
            raise ValidationError(f"La convention n’est pas en validation (elle est « {etat} »).")
        if tour is not None and tour != convention.tour:
            raise ValidationError(
                "La convention a été retirée ou soumise à nouveau depuis l’affichage de la page : "
                "rechargez-la."
            )
        self.circuit = selectors.circuit_of(convention)
        self.decisions = list(convention.decisions.filter(tour=convention.tour).order_by("id"))
        self.delegation_rows = list(convention.delegations.filter(tour=convention.tour).order_by("id"))
        self.delegations = selectors.round_delegations(convention, self.delegation_rows)
        self.actions = selectors.round_actions(convention, self.decisions)
        self.expected = convention.version_soumise.pdf_sha256
        self.progress = pure.progress(
            self.circuit, self.actions, expected_document_hash=self.expected, delegations=self.delegations
        )

    def turn(self, acting_user, etape: int | None = None) -> selectors.Turn:
        """The step and capacity ``acting_user`` decides in; otherwise the circuit's explanation."""
        turns = selectors.turns_for(acting_user, self.convention, self.progress, self.delegation_rows)
        if etape is not None:
            turns = [t for t in turns if t.step == etape]
        if turns:
            return turns[0]
        mine = selectors.person_keys_of(acting_user, self.convention)
        for index, item in enumerate(self.convention.circuit.get("steps", [])):
            if etape is not None and index != etape:
                continue
            for key in item["people"]:
                if key in mine:
                    # Not this person's turn: the pure circuit says why (already decided, step 1…).
                    action = pure.CircuitAction(step=index, person=key, decision=pure.Decision.VALIDER)
                    try:
                        pure.decide(self.circuit, self.actions, action, delegations=self.delegations)
                    except pure.CircuitError as exc:
                        raise ValidationError(exc.message) from exc
        raise PermissionDenied("Vous n’intervenez pas dans le circuit de cette convention.")


def _record(
    acting_user,
    rnd: _Round,
    turn: selectors.Turn,
    *,
    decision: str,
    commentaire: str,
    document_sha256: str | None,
    canal: str = "",
) -> Decision:
    convention, circuit = rnd.convention, rnd.circuit
    action = pure.CircuitAction(
        step=turn.step,
        person=turn.person,
        decision=decision,
        comment=commentaire.strip(),
        document_hash=document_sha256 or rnd.expected,
        on_behalf_of=turn.on_behalf_of,
    )
    try:
        after = pure.decide(
            circuit, rnd.actions, action, expected_document_hash=rnd.expected, delegations=rnd.delegations
        )
    except pure.CircuitError as exc:
        raise ValidationError(exc.message) from exc
    step = circuit.steps[action.step]
    people = convention.circuit["people"]
    slot = people.get(turn.on_behalf_of or turn.person, {})
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
                personne=turn.person,
                par=user,
                nom=(user.get_full_name() or user.email) if user else "Système",
                qualite=slot.get("qualite", ""),
                organisation=slot.get("organisation", ""),
                decision=action.decision.value,
                commentaire=action.comment,
                document_sha256=action.document_hash,
                adresse_ip=where.ip_address,
                origine=where.origin,
                canal=canal,
                pour_le_compte_de=turn.on_behalf_of or "",
                pour_le_compte_de_nom=slot.get("nom", "") if turn.on_behalf_of else "",
            )
    except IntegrityError as exc:  # the unique constraint, should the lock ever be missing
        raise ValidationError("Cette décision a déjà été enregistrée.") from exc
    details = {
        "etape": step.label,
        "personne": turn.person,
        "organisation": row.organisation,
        "qualite": row.qualite,
        "document_sha256": row.document_sha256,
    }
    if turn.on_behalf_of:
        details["par_delegation_de"] = row.pour_le_compte_de_nom
    if row.decision == DecisionChoice.REJETER:
        preuve.append(
            convention, EvenementNature.REFUS, acting_user=acting_user, motif=row.commentaire, **details
        )
    elif step.kind == pure.StepKind.SIGNATURE:
        preuve.append(convention, EvenementNature.SIGNATURE, acting_user=acting_user, canal=canal, **details)
    else:
        preuve.append(convention, EvenementNature.VISA, acting_user=acting_user, **details)
    changes = {
        "tour": convention.tour,
        "etape": step.label,
        "decision": row.decision,
        "personne": turn.person,
        "document_sha256": row.document_sha256,
    }
    if canal:
        changes["canal"] = canal
    if turn.on_behalf_of:
        changes["par_delegation_de"] = turn.on_behalf_of
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
        _seal(convention, [*rnd.decisions, row])
        changes["etat"] = [convention.etat, target.value]
        changes["pdf_signe_sha256"] = convention.pdf_signe_sha256
        convention.etat = target.value
        convention.save(update_fields=["etat", "pdf_signe", "pdf_signe_sha256", "signee_le", "updated_at"])
        sealed = preuve.append(
            convention,
            EvenementNature.SCELLEE,
            pdf_scelle_sha256=convention.pdf_signe_sha256,
            signataires=[s for s in _signatories_payload([*rnd.decisions, row])],
        )
        changes["preuve_tete"] = sealed.hash
        attach_to_dossiers(convention)
        notifications.sealed(convention)
    # A signature is told to the EPN's staff; the steps it opened are asked for.
    notifications.decided(convention, row, rnd.progress, after)
    audit_record(
        acting_user=acting_user,
        action=AuditAction.TRANSITION if "etat" in changes else AuditAction.UPDATE,
        obj=convention,
        structure=convention.structure,
        changes=changes,
    )
    return row


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
    etape: int | None = None,
) -> Decision:
    """A visa or a refusal (with its reason) by a person of a current step.

    A signature is not decided here: it needs a one-time code (``convention_sign``). The
    convention's row is locked for the whole decision, and the round and the document hash the
    person saw are checked under the lock: of two concurrent decisions that cannot both count
    (the same party twice, two élus signing, a refusal racing a signature), exactly one wins and
    the other gets a French explanation.
    """
    _check_can_read(acting_user, convention)
    rnd = _Round(convention, tour=tour)
    turn = rnd.turn(acting_user, etape)
    if person is not None and person not in (turn.person, turn.on_behalf_of):
        raise PermissionDenied("Vous ne pouvez pas décider au nom de cette partie.")
    if decision == DecisionChoice.VALIDER and turn.kind == pure.StepKind.SIGNATURE:
        raise ValidationError(
            "Une signature se confirme par un code à usage unique : ouvrez la page de signature."
        )
    return _record(
        acting_user, rnd, turn, decision=decision, commentaire=commentaire, document_sha256=document_sha256
    )


# --- Signature codes ---------------------------------------------------------------------------------

CODE_DIGITS = 6
CODE_TTL = dt.timedelta(minutes=10)
CODE_MAX_ATTEMPTS = 5
# A new code at most every minute, and at most five per hour, for one person and one convention.
CODE_RESEND_DELAY = dt.timedelta(minutes=1)
CODE_MAX_PER_HOUR = 5


def _code_digest(challenge: CodeSignature, code: str) -> str:
    """HMAC of the code bound to everything it confirms: worthless for another signature."""
    message = "|".join(
        str(v)
        for v in (
            "ancrage.code-signature.v1",
            challenge.convention_id,
            challenge.tour,
            challenge.etape,
            challenge.personne,
            challenge.user_id,
            challenge.document_sha256,
            code,
        )
    )
    return hmac.new(journal_key(), message.encode(), hashlib.sha256).hexdigest()


def _send_code_email(user, convention: Convention, code: str, expires_at) -> None:
    context_ = {
        "user": user,
        "convention": convention,
        "code": code,
        "minutes": int(CODE_TTL.total_seconds() // 60),
        "expires_at": timezone.localtime(expires_at),
        "sha256": convention.version_soumise.pdf_sha256,
    }
    send_mail(
        subject=f"Votre code de signature : {convention.reference}",
        message=render_to_string("conventions/emails/code_signature.txt", context_),
        from_email=None,
        recipient_list=[user.email],
    )


@transaction.atomic
def signature_code_send(
    *, acting_user, convention: Convention, etape: int | None = None, tour: int | None = None, deliver=None
) -> CodeSignature:
    """Send a one-time code (6 digits, 10 minutes, 5 attempts) to the person who is to sign.

    ``deliver(user, convention, code, expires_at)`` sends it; by default an e-mail (French
    template). Only a person whose signature the circuit waits for gets one; a new code voids
    the previous ones; resending is limited (one a minute, five an hour).
    """
    _check_can_read(acting_user, convention)
    rnd = _Round(convention, tour=tour)
    turn = rnd.turn(acting_user, etape)
    if turn.kind != pure.StepKind.SIGNATURE:
        raise ValidationError("Un visa ne demande pas de code : seule une signature en demande un.")
    try:  # no code for a signature the circuit would refuse (a second party, a changed round)
        dry_run = pure.CircuitAction(
            turn.step, turn.person, pure.Decision.VALIDER, on_behalf_of=turn.on_behalf_of
        )
        pure.decide(rnd.circuit, rnd.actions, dry_run, delegations=rnd.delegations)
    except pure.CircuitError as exc:
        raise ValidationError(exc.message) from exc
    convention = rnd.convention
    now = timezone.now()
    recent = CodeSignature.objects.filter(
        convention=convention,
        user=acting_user,
        tour=convention.tour,
        canal=CanalCode.EMAIL,
        created_at__gte=now - dt.timedelta(hours=1),
    )
    if recent.filter(created_at__gt=now - CODE_RESEND_DELAY).exists():
        raise ValidationError(
            "Un code vient de vous être envoyé : attendez une minute avant d’en demander un autre."
        )
    if recent.count() >= CODE_MAX_PER_HOUR:
        raise ValidationError(
            "Vous avez demandé trop de codes en une heure : réessayez plus tard ou prévenez l’EPN."
        )
    CodeSignature.objects.filter(
        convention=convention, user=acting_user, used_at__isnull=True, expires_at__gt=now
    ).update(expires_at=now)
    challenge = CodeSignature(
        convention=convention,
        tour=convention.tour,
        etape=turn.step,
        personne=turn.on_behalf_of or turn.person,
        user=acting_user,
        document_sha256=rnd.expected,
        canal=CanalCode.EMAIL,
        expires_at=now + CODE_TTL,
    )
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    challenge.code_hmac = _code_digest(challenge, code)
    challenge.save()
    preuve.append(
        convention,
        EvenementNature.CODE_ENVOYE,
        acting_user=acting_user,
        canal=CanalCode.EMAIL.value,
        etape=turn.label,
        destinataire=mask(acting_user.email),
        expire_le=challenge.expires_at.replace(microsecond=0).isoformat(),
    )
    (deliver or _send_code_email)(acting_user, convention, code, challenge.expires_at)
    return challenge


def _check_code(rnd: _Round, acting_user, turn, code: str, canal: str) -> tuple[CodeSignature | None, str]:
    """(the challenge, "") when the code is right; (challenge or None, French reason) when not."""
    convention = rnd.convention
    now = timezone.now()
    code = (code or "").strip().replace(" ", "")
    personne = turn.on_behalf_of or turn.person
    if canal == CanalCode.TOTP:
        device = confirmed_device(acting_user)
        if device is None:
            return None, "Vous n’avez pas d’application d’authentification : demandez un code par e-mail."
        challenge, _ = CodeSignature.objects.select_for_update().get_or_create(
            convention=convention,
            tour=convention.tour,
            etape=turn.step,
            personne=personne,
            user=acting_user,
            canal=CanalCode.TOTP,
            used_at__isnull=True,
            defaults={"document_sha256": rnd.expected, "expires_at": now + CODE_TTL},
        )
        if challenge.tentatives >= CODE_MAX_ATTEMPTS:
            return (
                challenge,
                "Trop d’essais manqués : la signature par application est bloquée pour ce circuit.",
            )
        if not (code.isdigit() and len(code) == CODE_DIGITS and device.verify_token(code)):
            return challenge, "Ce code ne correspond pas à celui de votre application d’authentification."
        return challenge, ""
    challenge = (
        CodeSignature.objects.select_for_update()
        .filter(convention=convention, user=acting_user, canal=CanalCode.EMAIL, tour=convention.tour)
        .order_by("-created_at", "-id")
        .first()
    )
    if challenge is None:
        return None, "Demandez d’abord un code : il vous est envoyé par e-mail."
    if challenge.used_at is not None:
        return None, "Ce code a déjà servi : demandez-en un nouveau."
    if challenge.tentatives >= CODE_MAX_ATTEMPTS:
        return None, "Trop d’essais manqués : ce code est bloqué. Demandez-en un nouveau."
    if challenge.expires_at <= now:
        return None, "Ce code a expiré (il vaut 10 minutes) : demandez-en un nouveau."
    if (challenge.etape, challenge.personne, challenge.document_sha256) != (
        turn.step,
        personne,
        rnd.expected,
    ):
        return None, "Ce code a été envoyé pour une autre signature : demandez-en un nouveau."
    if not hmac.compare_digest(challenge.code_hmac, _code_digest(challenge, code)):
        return challenge, "Ce code n’est pas le bon."
    return challenge, ""


def convention_sign(
    *,
    acting_user,
    convention: Convention,
    code: str,
    canal: str = CanalCode.EMAIL,
    tour: int | None = None,
    document_sha256: str | None = None,
    etape: int | None = None,
) -> Decision:
    """A signature, confirmed by the one-time code (e-mail) or the TOTP app's code.

    A wrong code counts as a missed attempt, which is kept (with its proof event) even though
    the signature is refused: that write commits before the refusal is raised.
    """
    failure = _sign(
        acting_user=acting_user,
        convention=convention,
        code=code,
        canal=CanalCode(canal),
        tour=tour,
        document_sha256=document_sha256,
        etape=etape,
    )
    if isinstance(failure, str):
        raise ValidationError(failure)
    return failure


@transaction.atomic
def _sign(*, acting_user, convention, code, canal, tour, document_sha256, etape):
    _check_can_read(acting_user, convention)
    rnd = _Round(convention, tour=tour)
    turn = rnd.turn(acting_user, etape)
    if turn.kind != pure.StepKind.SIGNATURE:
        raise ValidationError("Cette étape est un visa : elle ne demande pas de code.")
    challenge, reason = _check_code(rnd, acting_user, turn, code, canal)
    if reason:
        if challenge is not None:
            challenge.tentatives += 1
            challenge.save(update_fields=["tentatives"])
            left = CODE_MAX_ATTEMPTS - challenge.tentatives
            if (
                reason in ("Ce code n’est pas le bon.",)
                or canal == CanalCode.TOTP
                and "ne correspond" in reason
            ):
                reason += (
                    f" Il vous reste {left} essai{'s' if left > 1 else ''}."
                    if left > 0
                    else " C’était le dernier essai : demandez un nouveau code."
                )
        preuve.append(
            rnd.convention,
            EvenementNature.CODE_REFUSE,
            acting_user=acting_user,
            canal=canal.value,
            etape=turn.label,
            motif=reason,
        )
        return reason  # committed: the attempt counts
    challenge.used_at = timezone.now()
    challenge.save(update_fields=["used_at"])
    preuve.append(
        rnd.convention,
        EvenementNature.CODE_VERIFIE,
        acting_user=acting_user,
        canal=canal.value,
        etape=turn.label,
    )
    return _record(
        acting_user,
        rnd,
        turn,
        decision=DecisionChoice.VALIDER,
        commentaire="",
        document_sha256=document_sha256,
        canal=canal.value,
    )


# --- Delegation --------------------------------------------------------------------------------------


def deputies_for(convention: Convention, etape: int) -> list:
    """Who may be named deputy for a step: the active members of the step's organisation."""
    item = convention.circuit["steps"][etape]
    people = convention.circuit.get("people", {})
    party = next((people[k].get("partie") for k in item["people"] if k in people), "")
    if party == selectors.EPN_KEY:
        members = Membership.objects.active().filter(structure_id=convention.structure_id)
    elif party == selectors.COLLECTIVITE_KEY:
        members = Membership.objects.active().filter(collectivite_id=convention.collectivite_id)
    elif party.startswith("partenaire-"):
        members = Membership.objects.active().filter(structure_id=int(party.split("-", 1)[1]))
    else:
        return []
    listed = {int(k.split("-", 1)[1]) for k in item["people"] if k.startswith("user-")}
    return list(
        User.objects.filter(pk__in=members.values("user_id"), is_active=True)
        .exclude(pk__in=listed)
        .order_by("last_name", "first_name", "pk")
    )


@transaction.atomic
def convention_delegate(
    *, acting_user, convention: Convention, etape: int, delegataire, tour: int | None = None
):
    """A signatory names a deputy of the same organisation, who will sign « par délégation »."""
    _check_can_read(acting_user, convention)
    rnd = _Round(convention, tour=tour)
    convention = rnd.convention
    me = selectors.user_key(acting_user.pk)
    if delegataire.pk not in {u.pk for u in deputies_for(convention, etape)}:
        raise ValidationError(
            "Le délégataire doit être membre de la même organisation que vous, avec un compte actif."
        )
    delegation = pure.Delegation(etape, me, selectors.user_key(delegataire.pk))
    try:
        pure.check_delegation(rnd.circuit, rnd.progress, rnd.delegations, delegation)
    except pure.CircuitError as exc:
        raise ValidationError(exc.message) from exc
    who = convention.circuit["people"].get(me, {})
    row = Delegation.objects.create(
        convention=convention,
        tour=convention.tour,
        etape=etape,
        personne=me,
        delegant=acting_user,
        delegataire=delegataire,
        delegataire_personne=delegation.deputy,
        delegant_nom=who.get("nom") or acting_user.get_full_name() or acting_user.email,
        delegataire_nom=delegataire.get_full_name() or delegataire.email,
        organisation=who.get("organisation", ""),
        adresse_ip=context.current().ip_address,
    )
    preuve.append(
        convention,
        EvenementNature.DELEGATION,
        acting_user=acting_user,
        etape=rnd.circuit.steps[etape].label,
        delegant=row.delegant_nom,
        delegataire=row.delegataire_nom,
        delegataire_id=delegataire.pk,
        organisation=row.organisation,
    )
    audit_record(
        acting_user=acting_user,
        action=AuditAction.CREATE,
        obj=row,
        structure=convention.structure,
        changes={"etape": etape, "delegataire": delegataire.pk},
    )
    notifications.delegated(convention, row)
    return row


# --- Seal ------------------------------------------------------------------------------------------


def _signatories_payload(decisions: list[Decision]) -> list[dict]:
    return [
        {
            "nom": d.nom,
            "qualite": d.qualite,
            "organisation": d.organisation,
            "le": d.at.replace(microsecond=0).isoformat() if d.at else None,
            "canal": d.canal,
            "par_delegation_de": d.pour_le_compte_de_nom,
        }
        for d in decisions
        if d.decision == DecisionChoice.VALIDER and d.nature == pure.StepKind.SIGNATURE
    ]


def _final_pdf(convention: Convention, signed_on: dt.date) -> tuple[bytes, tuple | None, str]:
    """The document to seal: the approved version regenerated with « Fait à …, le <date> ».

    The regeneration is kept only if the undated document has the text of the approved one
    (``ConventionVersion.texte_sha256``), so the date is the only change; otherwise (a
    party renamed since the submission, a custom model, which LibreOffice renders outside the
    request) the approved PDF is sealed as it is, and the proof file says why.
    """
    version = convention.version_soumise
    with version.pdf.open("rb") as handle:
        approved = handle.read()
    if sha256_hex(approved) != version.pdf_sha256:
        raise ValidationError(
            "Le PDF enregistré ne correspond plus à son empreinte : la signature est refusée."
        )
    box = None
    if version.cadre_signature:
        page, rect = version.cadre_signature
        box = (int(page), tuple(int(v) for v in rect))
    if convention.modele_personnalise_id or convention.modele not in MODELS:
        return approved, box, "modèle personnalisé : le document approuvé est scellé tel quel"
    try:
        content = selectors.content_for(convention, version=version.numero)
        undated = build_document(convention.modele, content)
        dated = build_document(convention.modele, replace(content, signature_date=signed_on))
    except ContentError as exc:
        return approved, box, f"document non régénéré : {exc}"
    if undated.plain_text() != dated.plain_text().replace(dated.closing, undated.closing):
        return approved, box, "document non régénéré : la date n’est pas la seule différence"
    if version.texte_sha256:
        same = sha256_hex(undated.plain_text().encode()) == version.texte_sha256
    else:  # a version generated before its text was hashed: compare the rendered PDFs
        same = generate_pdf(convention.modele, content).sha256 == version.pdf_sha256
    if not same:
        return approved, box, "document non régénéré : le contenu a changé depuis la soumission"
    final = generate_pdf(convention.modele, replace(content, signature_date=signed_on))
    return final.content, final.signature_box, ""


def _seal(convention: Convention, decisions: list[Decision]) -> None:
    """Seal the final PDF with the platform certificate; the stamp lists every signatory.

    The final PDF is the approved version with the date of the last signature filled in
    (``_final_pdf``); the proof file keeps both hashes. The seal runs here, in the same
    transaction as the state change.
    """
    signed = [
        d for d in decisions if d.decision == DecisionChoice.VALIDER and d.nature == pure.StepKind.SIGNATURE
    ]
    last = max(timezone.localtime(d.at) for d in signed) if signed else timezone.localtime()
    pdf, box, note = _final_pdf(convention, last.date())
    preuve.append(
        convention,
        EvenementNature.DOCUMENT_FINAL,
        document_approuve_sha256=convention.version_soumise.pdf_sha256,
        document_final_sha256=sha256_hex(pdf),
        date_signature=last.date().isoformat(),
        remarque=note,
    )
    signatories = [
        Signatory(
            name=d.nom
            + (f" (par délégation de {d.pour_le_compte_de_nom})" if d.pour_le_compte_de_nom else ""),
            role=d.qualite,
            organisation=d.organisation,
            signed_on=timezone.localtime(d.at),
        )
        for d in signed
    ]
    try:
        sealed = sign_pdf(
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
    convention.pdf_signe.save(f"signee-{sealed.sha256[:12]}.pdf", ContentFile(sealed.content), save=False)
    convention.pdf_signe_sha256 = sealed.sha256
    convention.signee_le = timezone.now()


# --- The dossier ----------------------------------------------------------------------------------


def attach_to_dossiers(convention: Convention, dossiers=None) -> int:
    """Attach the signed convention and its proof file to the action's dossiers (once each).

    Called when the circuit ends, and by ``dossiers.services.dossier_create`` (through the
    ``dossier_created`` signal) for a dossier created later. Returns how many files were added.
    """
    if not convention.pdf_signe or convention.action_id is None:
        return 0
    if dossiers is None:
        dossiers = list(convention.action.dossiers.all())
    if not dossiers:
        return 0
    with convention.pdf_signe.open("rb") as handle:
        signed = handle.read()
    reference = convention.reference or f"convention-{convention.pk}"
    files = [
        (f"{reference}-signee.pdf", signed, f"Convention signée « {convention.titre} » (PDF scellé)"),
        (
            f"{reference}-preuve-tour-{convention.tour}.pdf",
            preuve.as_pdf(convention),
            f"Fichier de preuve de la signature de « {convention.titre} »",
        ),
    ]
    added = 0
    for dossier in dossiers:
        for name, data, description in files:
            added += bool(
                piece_attach_system(dossier=dossier, filename=name, data=data, description=description)
            )
    return added


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
