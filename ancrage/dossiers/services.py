"""Writes on dossiers. Each service is atomic and writes its audit entry; every state change goes
through ``dossier_transition``, which asks ``workflow.check_transition`` under a row lock.

Concurrency: ``dossier_transition`` locks the dossier's row (``select_for_update``) and re-reads
its state inside the transaction. Two référents deciding at once are serialised by the lock: the
first wins, the second reads the new state and gets a ``DossierChanged`` in French. The unique
(dossier, sequence) of the history is a second guard on databases without row locks.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from ancrage.actions import services as action_services
from ancrage.audit.enums import AuditAction
from ancrage.audit.services import audit_record
from ancrage.dossiers import journal, notifications, pieces, selectors, signals
from ancrage.dossiers.enums import CREER, Cote, Etat
from ancrage.dossiers.models import (
    Annotation,
    Correction,
    Dossier,
    LigneCharge,
    LigneRessource,
    Message,
    PieceJointe,
    SupportCommunication,
)
from ancrage.dossiers.workflow import (
    DECIDED_STATES,
    DossierAction,
    DossierState,
    Effect,
    WorkflowError,
    check_transition,
    transition_for,
)
from ancrage.organisations.permissions import Permission
from ancrage.organisations.scoping import check_may


class DossierChanged(WorkflowError):
    """Someone else changed the dossier between the moment the user saw it and their action."""


class NotInvolved(WorkflowError):
    """The user neither works in the dossier's EPN nor follows it for its collectivité."""


def _check_editable(dossier: Dossier) -> None:
    if not dossier.editable_by_epn:
        raise ValidationError(
            f"Le dossier est « {dossier.get_etat_display().lower()} » : il ne peut plus être modifié. "
            "Le référent peut demander une correction, qui le rouvre."
        )


# --- creation and editing (the EPN) -------------------------------------------------------------


@transaction.atomic
def dossier_create(*, acting_user, action, titre: str = "") -> Dossier:
    check_may(acting_user, Permission.DOSSIER_WRITE, action.structure_id)
    dossier = Dossier.objects.create(
        action=action,
        structure=action.structure,
        titre=(titre or action.titre)[:200],
        presentation=action.contenu,
        created_by=acting_user if acting_user is not None and acting_user.is_authenticated else None,
    )
    _refresh(dossier)
    # Prefill the communication supports from the task matrix: who answers for communication.
    matrice = dossier.snapshot_partenariat.get("matrice", {})
    for tache in matrice.get("taches", []):
        if tache["libelle"] == "Communication":
            parties = [
                p["nom"] for p, cell in zip(matrice["parties"], tache["cellules"], strict=True) if cell
            ]
            if parties:
                SupportCommunication.objects.create(
                    dossier=dossier,
                    type="affiche",
                    description="Affiches et flyers",
                    diffuse_par=", ".join(parties),
                )
    journal.append(
        dossier,
        operation=CREER,
        etat_avant="",
        etat_apres=Etat.BROUILLON,
        acteur=acting_user,
        role=str(selectors.epn_role(acting_user, dossier.structure) or ""),
    )
    audit_record(acting_user=acting_user, action=AuditAction.CREATE, obj=dossier, structure=dossier.structure)
    signals.dossier_created.send(sender=Dossier, dossier=dossier)
    return dossier


def _refresh(dossier: Dossier) -> None:
    for name, value in selectors.action_snapshot(dossier.action).items():
        setattr(dossier, name, value)
    _copy_budget(dossier)
    dossier.snapshot_at = timezone.now()
    dossier.save()


@transaction.atomic
def dossier_refresh_from_action(*, acting_user, dossier: Dossier) -> Dossier:
    """Copy again the objectives, publics, diagnostic excerpt, partnership and budget of the action."""
    check_may(acting_user, Permission.DOSSIER_WRITE, dossier)
    _check_editable(dossier)
    _refresh(dossier)
    audit_record(
        acting_user=acting_user,
        action=AuditAction.UPDATE,
        obj=dossier,
        structure=dossier.structure,
        changes={"copie_action": ["", dossier.snapshot_at.isoformat()]},
    )
    return dossier


DOSSIER_FIELDS = ("titre", "presentation", "calendrier")


@transaction.atomic
def dossier_update(*, acting_user, dossier: Dossier, **fields) -> Dossier:
    unknown = set(fields) - set(DOSSIER_FIELDS)
    if unknown:
        raise TypeError(f"Unknown dossier fields: {sorted(unknown)}")
    check_may(acting_user, Permission.DOSSIER_WRITE, dossier)
    _check_editable(dossier)
    changes = {}
    for name, value in fields.items():
        if getattr(dossier, name) != value:
            changes[name] = [getattr(dossier, name), value]
            setattr(dossier, name, value)
    dossier.save()
    audit_record(
        acting_user=acting_user,
        action=AuditAction.UPDATE,
        obj=dossier,
        structure=dossier.structure,
        changes=changes,
    )
    return dossier


@transaction.atomic
def dossier_set_budget(
    *, acting_user, dossier: Dossier, charges: list[dict], ressources: list[dict]
) -> Dossier:
    """Replace the budget, which is the action's: the lines go to the action
    (``actions.services.action_set_budget``, which checks them and writes the action's audit
    entry); a deposited dossier still open to the EPN takes a fresh copy. An unbalanced budget is
    saved (the EPN builds it step by step) but cannot be deposited."""
    check_may(acting_user, Permission.DOSSIER_WRITE, dossier)
    _check_editable(dossier)
    summary = action_services.action_set_budget(
        acting_user=acting_user, action=dossier.action, charges=charges, ressources=ressources
    )
    if not dossier.budget_follows_action:
        _copy_budget(dossier)
    dossier.save(update_fields=["updated_at"])
    audit_record(
        acting_user=acting_user,
        action=AuditAction.UPDATE,
        obj=dossier,
        structure=dossier.structure,
        changes={
            "budget": {"charges": str(summary.total_charges), "ressources": str(summary.total_resources)}
        },
    )
    return dossier


def _copy_budget(dossier: Dossier) -> None:
    """The dossier's own copy of the action's budget: what it is deposited with."""
    action = dossier.action
    dossier.charges.all().delete()
    dossier.ressources.all().delete()
    LigneCharge.objects.bulk_create(
        LigneCharge(dossier=dossier, categorie=c.categorie, libelle=c.libelle, montant=c.montant, ordre=i)
        for i, c in enumerate(action.charges_budget.all())
    )
    LigneRessource.objects.bulk_create(
        LigneRessource(
            dossier=dossier,
            categorie=r.categorie,
            libelle=r.libelle,
            montant=r.montant,
            contributeur=r.contributeur,
            type_contributeur=r.type_contributeur,
            ordre=i,
        )
        for i, r in enumerate(action.ressources_budget.all())
    )


@transaction.atomic
def dossier_set_supports(*, acting_user, dossier: Dossier, supports: list[dict]) -> Dossier:
    check_may(acting_user, Permission.DOSSIER_WRITE, dossier)
    _check_editable(dossier)
    dossier.supports.all().delete()
    SupportCommunication.objects.bulk_create(
        SupportCommunication(
            dossier=dossier,
            type=s["type"],
            description=s.get("description", ""),
            diffuse_par=s.get("diffuse_par", ""),
            ordre=i,
        )
        for i, s in enumerate(supports)
    )
    dossier.save(update_fields=["updated_at"])
    audit_record(
        acting_user=acting_user,
        action=AuditAction.UPDATE,
        obj=dossier,
        structure=dossier.structure,
        changes={"supports": [s["type"] for s in supports]},
    )
    return dossier


@transaction.atomic
def piece_add(
    *, acting_user, dossier: Dossier, filename: str, data: bytes, description: str = ""
) -> PieceJointe:
    check_may(acting_user, Permission.DOSSIER_WRITE, dossier)
    _check_editable(dossier)
    name = pieces.safe_name(filename)
    if dossier.pieces.count() >= pieces.MAX_PIECES:
        raise ValidationError(f"Un dossier compte au plus {pieces.MAX_PIECES} pièces jointes.")
    try:
        checked = pieces.check_piece(data, name)
    except pieces.PieceRefused as error:
        raise ValidationError(str(error)) from error
    piece = PieceJointe.objects.create(
        dossier=dossier,
        nom=name,
        description=description,
        type=checked.kind,
        content_type=checked.content_type,
        taille=checked.size,
        sha256=checked.sha256,
        contenu=data,
        deposee_par=acting_user if acting_user is not None and acting_user.is_authenticated else None,
    )
    audit_record(
        acting_user=acting_user,
        action=AuditAction.CREATE,
        obj=piece,
        structure=dossier.structure,
        changes={"sha256": checked.sha256, "taille": checked.size},
    )
    return piece


@transaction.atomic
def piece_attach_system(
    *, dossier: Dossier, filename: str, data: bytes, description: str = ""
) -> PieceJointe | None:
    """A document the platform attaches itself (the signed convention, its proof file).

    Whatever the dossier's state and its number of pieces: it is a fact about the action, not an
    addition by the EPN. Attached once: a piece with the same SHA-256 is not added again (None).
    """
    checked = pieces.check_piece(data, pieces.safe_name(filename))
    if dossier.pieces.filter(sha256=checked.sha256).exists():
        return None
    piece = PieceJointe.objects.create(
        dossier=dossier,
        nom=pieces.safe_name(filename),
        description=description[:255],
        type=checked.kind,
        content_type=checked.content_type,
        taille=checked.size,
        sha256=checked.sha256,
        contenu=data,
        deposee_par=None,
    )
    audit_record(
        acting_user=None,
        action=AuditAction.CREATE,
        obj=piece,
        structure=dossier.structure,
        changes={"sha256": checked.sha256, "taille": checked.size, "origine": "plateforme"},
    )
    return piece


@transaction.atomic
def piece_delete(*, acting_user, piece: PieceJointe) -> None:
    dossier = piece.dossier
    check_may(acting_user, Permission.DOSSIER_WRITE, dossier)
    _check_editable(dossier)
    audit_record(acting_user=acting_user, action=AuditAction.DELETE, obj=piece, structure=dossier.structure)
    piece.delete()


# --- the examination ----------------------------------------------------------------------------


def deposit_problems(dossier: Dossier) -> list[str]:
    """What keeps a dossier from being deposited, in French (empty: it can be)."""
    problems = []
    if not dossier.snapshot_objectifs:
        problems.append("L’action n’a aucun objectif mesurable : ajoutez-en sur la fiche action.")
    summary = dossier.budget_summary()
    problems += summary.problems
    return problems


@transaction.atomic
def dossier_transition(
    *,
    acting_user,
    dossier: Dossier,
    action: DossierAction | str,
    expected_state: str | None = None,
    motivation: str = "",
    correction_reason: str = "",
    message: str = "",
    site_url: str = "",
    notify: bool = True,
) -> Dossier:
    """Apply one action of the workflow, or raise a ``WorkflowError`` (French message) / ValidationError.

    ``expected_state`` is the state the user saw when they chose the action: if the dossier has
    changed since, the action is refused rather than applied to a dossier the user did not see.
    """
    action = DossierAction(action)
    # The lock is taken before reading the state: whoever comes second waits, then reads the winner's.
    locked = Dossier.objects.select_for_update().select_related("structure").get(pk=dossier.pk)
    if expected_state is not None and locked.etat != expected_state:
        last = locked.traitements.order_by("-sequence").first()
        who = f" par {last.acteur_label}" if last and last.acteur_label else ""
        when = f" le {timezone.localtime(last.at):%d/%m/%Y à %H:%M}" if last else ""
        raise DossierChanged(
            f"Le dossier a changé pendant que vous le consultiez : il est maintenant "
            f"« {locked.get_etat_display().lower()} »{who}{when}. Votre action ({action.label}) n’a pas "
            "été appliquée ; rechargez la page pour voir son nouvel état."
        )

    roles = selectors.roles_on(acting_user, locked)
    if not roles:
        raise NotInvolved(
            "Vous n’intervenez pas sur ce dossier : ni l’EPN, ni le référent de sa collectivité."
        )
    transition = transition_for(locked.etat, action)
    role = selectors.role_for(roles, transition.roles if transition else ())
    open_correction = locked.open_correction()
    fields = {"motivation": motivation, "correction_reason": correction_reason, "message": message}
    target = check_transition(
        locked.etat, action, role, fields=fields, correction_open=open_correction is not None
    )
    if action in (DossierAction.DEPOSER, DossierAction.REDEPOSER):
        _refresh(locked)
        problems = deposit_problems(locked)
        if problems:
            raise ValidationError(["Le dossier ne peut pas encore être déposé :", *problems])

    before = locked.etat
    now = timezone.now()
    locked.etat = target
    if action == DossierAction.DEPOSER and locked.depose_le is None:
        locked.depose_le = now
    if DossierState(target) in DECIDED_STATES:
        locked.decide_le, locked.motivation = now, motivation.strip()
    elif action == DossierAction.ROUVRIR:
        locked.decide_le, locked.motivation = None, ""
    locked.save()

    effect = transition.effect
    if effect == Effect.OUVRIR_CORRECTION:
        Correction.objects.create(
            dossier=locked, motif=correction_reason, message=message.strip(), demandee_par=acting_user
        )
        # The request is also a message of the conversation, as in Démarches Simplifiées.
        _message(locked, acting_user, Cote.COLLECTIVITE, message.strip())
    elif effect == Effect.RESOUDRE_CORRECTION:
        open_correction.resolue_le, open_correction.resolue_par = now, acting_user
        open_correction.save(update_fields=["resolue_le", "resolue_par"])
        if message.strip():
            _message(locked, acting_user, Cote.EPN, message.strip())

    entry = journal.append(
        locked,
        operation=action.value,
        etat_avant=before,
        etat_apres=target,
        acteur=acting_user,
        role=role.value,
        motivation=motivation.strip(),
        motif_correction=correction_reason if effect == Effect.OUVRIR_CORRECTION else "",
        message=message.strip(),
    )
    audit_record(
        acting_user=acting_user,
        action=AuditAction.TRANSITION,
        obj=locked,
        structure=locked.structure,
        changes={"etat": [before, str(target)], "operation": action.value},
    )
    if notify:  # the demo loader builds histories without mailing anyone
        notifications.notify(locked, entry, site_url=site_url)
    return locked


def _message(dossier, user, cote, texte) -> Message:
    actor = user if user is not None and user.is_authenticated else None
    return Message.objects.create(
        dossier=dossier, auteur=actor, auteur_label=str(actor) if actor else "Ancrage", cote=cote, texte=texte
    )


@transaction.atomic
def message_send(*, acting_user, dossier: Dossier, texte: str) -> Message:
    texte = texte.strip()
    if not texte:
        raise ValidationError("Le message est vide.")
    roles = selectors.roles_on(acting_user, dossier)
    if not roles:
        raise PermissionDenied("Seuls l’EPN et le référent de sa collectivité échangent sur ce dossier.")
    dossier.refresh_from_db(fields=["etat"])
    if dossier.etat == Etat.BROUILLON and not selectors.is_epn_side(roles):
        raise PermissionDenied
    cote = Cote.EPN if selectors.is_epn_side(roles) else Cote.COLLECTIVITE
    message = _message(dossier, acting_user, cote, texte)
    audit_record(acting_user=acting_user, action=AuditAction.CREATE, obj=message, structure=dossier.structure)
    return message


@transaction.atomic
def annotation_add(*, acting_user, dossier: Dossier, texte: str) -> Annotation:
    texte = texte.strip()
    if not texte:
        raise ValidationError("L’annotation est vide.")
    collectivite = selectors.covering_collectivite(acting_user, dossier.structure)
    if collectivite is None:
        raise PermissionDenied("Seul le référent de la collectivité annote un dossier.")
    annotation = Annotation.objects.create(
        dossier=dossier,
        collectivite=collectivite,
        auteur=acting_user,
        auteur_label=str(acting_user),
        texte=texte,
    )
    audit_record(
        acting_user=acting_user, action=AuditAction.CREATE, obj=annotation, structure=dossier.structure
    )
    return annotation


__all__ = ["DossierChanged", "NotInvolved", "WorkflowError"]
