"""Writes on fiches action, their partners, task matrix, sessions, meetings and comments.

Each service is atomic and leaves its audit entry. Only the EPN's staff (animateur, responsable)
write an action; anyone who sees it (the partners party to it included) may comment.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from ancrage.actions import budget
from ancrage.actions.enums import TRANSITIONS, RoleTache, Statut, Tache, TypePartie
from ancrage.actions.models import (
    Action,
    ActionPartenaire,
    Affectation,
    ChangementStatut,
    ChargeAction,
    Commentaire,
    Decision,
    Objectif,
    RessourceAction,
    Reunion,
    Seance,
)
from ancrage.audit.enums import AuditAction
from ancrage.audit.services import audit_record, model_changes, snapshot
from ancrage.diagnostic.models import Diagnostic
from ancrage.organisations.enums import StructureKind
from ancrage.organisations.models import Structure
from ancrage.organisations.permissions import Permission
from ancrage.organisations.scoping import check_may
from ancrage.partenaires.publics import PUBLIC_KEYS, public_key, public_label

ACTION_FIELDS = (
    "titre",
    "thematique",
    "services",
    "type",
    "publics",
    "secteurs",
    "secteurs_noms",
    "contenu",
    "lieu",
)


def _check_epn(epn: Structure) -> None:
    if epn.kind != StructureKind.EPN:
        raise ValidationError("Une action appartient à un lieu de médiation numérique (EPN).")


@transaction.atomic
def action_create(*, acting_user, epn: Structure, titre: str, **fields) -> Action:
    check_may(acting_user, Permission.ACTION_WRITE, epn.pk)
    _check_epn(epn)
    allowed = set(ACTION_FIELDS) | {"diagnostic", "cible_rang", "cible"}
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"Unknown action fields: {sorted(unknown)}")
    if not titre.strip():
        raise ValidationError({"titre": "Le titre est obligatoire."})
    action = Action.objects.create(
        structure=epn,
        titre=titre.strip(),
        created_by=acting_user if acting_user is not None and acting_user.is_authenticated else None,
        **fields,
    )
    audit_record(
        acting_user=acting_user,
        action=AuditAction.CREATE,
        obj=action,
        structure=epn,
        changes=model_changes(action, (*ACTION_FIELDS, "statut", "cible_rang"), {}),
    )
    return action


def prefill_from_cible(diagnostic: Diagnostic, rang: int) -> dict:
    """The fields of a new action taken from a target of a saved diagnostic (a frozen copy)."""
    cible = diagnostic.cible(rang)
    if cible is None:
        raise ValidationError(f"Le diagnostic « {diagnostic} » n’a pas de cible de rang {rang}.")
    key = public_key(cible.get("dimension"), cible.get("categorie"))
    publics = [key] if key else []
    secteur = cible.get("secteur")
    noms = {s["code"]: s.get("nom") or s["code"] for s in diagnostic.resultat.get("secteurs", [])}
    thematique = (cible.get("thematique") or {}).get("famille", "")
    services = [
        s.get("libelle") for s in (cible.get("thematique") or {}).get("services", []) if s.get("libelle")
    ]
    who = public_label(key) if key else "habitants"
    where = f" — {noms.get(secteur, secteur)}" if secteur else ""
    return {
        "titre": f"{thematique[:1].upper()}{thematique[1:]} : {who}{where}"[:200]
        if thematique
        else f"{who}{where}",
        "thematique": thematique,
        "services": services,
        "publics": publics,
        "secteurs": [secteur] if secteur else [],
        "secteurs_noms": {secteur: noms.get(secteur, secteur)} if secteur else {},
        "contenu": cible.get("explication", ""),
        "diagnostic": diagnostic,
        "cible_rang": rang,
        "cible": dict(cible),
    }


@transaction.atomic
def action_update(*, acting_user, action: Action, **fields) -> Action:
    check_may(acting_user, Permission.ACTION_WRITE, action.structure_id)
    unknown = set(fields) - set(ACTION_FIELDS)
    if unknown:
        raise TypeError(f"Unknown action fields: {sorted(unknown)}")
    before = snapshot(action, ACTION_FIELDS)
    for name, value in fields.items():
        setattr(action, name, value)
    if not action.titre.strip():
        raise ValidationError({"titre": "Le titre est obligatoire."})
    action.save()
    changes = model_changes(action, ACTION_FIELDS, before)
    if changes:
        audit_record(
            acting_user=acting_user,
            action=AuditAction.UPDATE,
            obj=action,
            structure=action.structure,
            changes=changes,
        )
    return action


@transaction.atomic
def action_transition(*, acting_user, action: Action, vers: str, commentaire: str = "") -> Action:
    """Move the action along its state machine; any other move is refused in French."""
    check_may(acting_user, Permission.ACTION_WRITE, action.structure_id)
    action = Action.objects.select_for_update().get(pk=action.pk)
    de = action.statut
    if vers not in TRANSITIONS.get(de, ()):
        target = Statut(vers).label if vers in Statut.values else vers
        allowed = ", ".join(f"« {Statut(s).label} »" for s in TRANSITIONS.get(de, ())) or "aucun"
        raise ValidationError(
            f"Une action « {Statut(de).label} » ne peut pas passer à « {target} ». "
            f"États possibles : {allowed}."
        )
    action.statut = vers
    action.save(update_fields=["statut", "updated_at"])
    ChangementStatut.objects.create(
        action=action,
        de=de,
        vers=vers,
        commentaire=commentaire,
        par=acting_user if acting_user is not None and acting_user.is_authenticated else None,
    )
    audit_record(
        acting_user=acting_user,
        action=AuditAction.TRANSITION,
        obj=action,
        structure=action.structure,
        changes={"statut": [de, vers], **({"commentaire": commentaire} if commentaire else {})},
    )
    return action


@transaction.atomic
def objectif_add(
    *,
    acting_user,
    action: Action,
    libelle: str,
    valeur_cible: int,
    critere_public: str = "",
    critere_secteur: str = "",
) -> Objectif:
    check_may(acting_user, Permission.ACTION_WRITE, action.structure_id)
    if critere_public and critere_public not in PUBLIC_KEYS and critere_public not in action.publics:
        raise ValidationError({"critere_public": "Public inconnu."})
    if valeur_cible is None or valeur_cible < 0:
        raise ValidationError({"valeur_cible": "Le nombre visé est un entier positif."})
    ordre = action.objectifs.count()
    objectif = Objectif.objects.create(
        action=action,
        libelle=libelle.strip(),
        valeur_cible=valeur_cible,
        critere_public=critere_public,
        critere_secteur=critere_secteur.strip(),
        ordre=ordre,
    )
    audit_record(
        acting_user=acting_user,
        action=AuditAction.CREATE,
        obj=objectif,
        structure=action.structure,
        changes={"action": action.pk, "objectif": str(objectif), "critere": objectif.critere},
    )
    return objectif


@transaction.atomic
def objectif_delete(*, acting_user, objectif: Objectif) -> None:
    check_may(acting_user, Permission.ACTION_WRITE, objectif.action.structure_id)
    audit_record(
        acting_user=acting_user,
        action=AuditAction.DELETE,
        obj=objectif,
        structure=objectif.action.structure,
        changes={"action": objectif.action_id, "objectif": str(objectif)},
    )
    objectif.delete()


@transaction.atomic
def seance_add(*, acting_user, action: Action, titre: str, debut, fin, lieu: str = "") -> Seance:
    check_may(acting_user, Permission.ACTION_WRITE, action.structure_id)
    if fin <= debut:
        raise ValidationError({"fin": "La fin doit être après le début."})
    seance = Seance.objects.create(
        action=action, titre=titre.strip(), debut=debut, fin=fin, lieu=lieu.strip()
    )
    audit_record(
        acting_user=acting_user,
        action=AuditAction.CREATE,
        obj=seance,
        structure=action.structure,
        changes={
            "action": action.pk,
            "debut": debut.isoformat(),
            "fin": fin.isoformat(),
            "lieu": seance.lieu,
        },
    )
    return seance


@transaction.atomic
def seance_delete(*, acting_user, seance: Seance) -> None:
    check_may(acting_user, Permission.ACTION_WRITE, seance.action.structure_id)
    audit_record(
        acting_user=acting_user,
        action=AuditAction.DELETE,
        obj=seance,
        structure=seance.action.structure,
        changes={"action": seance.action_id, "titre": seance.titre},
    )
    seance.delete()


@transaction.atomic
def action_partenaire_add(
    *, acting_user, action: Action, partenaire: Structure, role: str = "", score: int | None = None
) -> ActionPartenaire:
    """Invite a partner of the EPN's directory into the action."""
    check_may(acting_user, Permission.ACTION_WRITE, action.structure_id)
    if partenaire.kind != StructureKind.PARTENAIRE or partenaire.referencee_par_id != action.structure_id:
        raise ValidationError("Ce partenaire n’est pas dans l’annuaire de l’EPN.")
    participation, created = ActionPartenaire.objects.get_or_create(
        action=action, partenaire=partenaire, defaults={"role": role, "score_recommandation": score}
    )
    if created:
        audit_record(
            acting_user=acting_user,
            action=AuditAction.CREATE,
            obj=participation,
            structure=action.structure,
            changes={"action": action.pk, "partenaire": partenaire.nom, "role": role, "score": score},
        )
    return participation


@transaction.atomic
def action_partenaire_remove(*, acting_user, participation: ActionPartenaire) -> None:
    action = participation.action
    check_may(acting_user, Permission.ACTION_WRITE, action.structure_id)
    Affectation.objects.filter(action=action, partenaire=participation.partenaire).delete()
    # Its budget lines stay (money does not vanish with a partner), as a financeur outside the
    # partnership: the convention no longer counts it as a party's commitment.
    RessourceAction.objects.filter(action=action, partie=f"partenaire-{participation.partenaire_id}").update(
        partie="", type_contributeur=budget.ContributorKind.FINANCEUR
    )
    audit_record(
        acting_user=acting_user,
        action=AuditAction.DELETE,
        obj=participation,
        structure=action.structure,
        changes={"action": action.pk, "partenaire": participation.partenaire.nom},
    )
    participation.delete()


def _party(action: Action, key: str) -> tuple[str, int | None]:
    """``"epn"``, ``"collectivite"`` or ``"partenaire-<id>"`` -> (partie_type, partenaire id)."""
    if key == TypePartie.EPN:
        return TypePartie.EPN, None
    if key == TypePartie.COLLECTIVITE:
        if not action.structure.collectivite_id:
            raise ValidationError("L’EPN n’est rattaché à aucune collectivité.")
        return TypePartie.COLLECTIVITE, None
    if key.startswith("partenaire-") and key.removeprefix("partenaire-").isdigit():
        partner_id = int(key.removeprefix("partenaire-"))
        if action.participations.filter(partenaire_id=partner_id).exists():
            return TypePartie.PARTENAIRE, partner_id
    raise ValidationError(f"« {key} » n’est pas une partie de l’action.")


@transaction.atomic
def matrice_update(*, acting_user, action: Action, rows: dict[str, tuple[str, set[str] | list[str]]]) -> None:
    """Set the task matrix: for each task, the accountable party (or "") and the contributors.

    Tasks not in ``rows`` are left as they are.
    """
    check_may(acting_user, Permission.ACTION_WRITE, action.structure_id)
    changes = {}
    for tache, (responsable, contributeurs) in rows.items():
        Tache(tache)
        before = sorted(a.party_key + ":" + a.role for a in action.affectations.filter(tache=tache))
        action.affectations.filter(tache=tache).delete()
        if responsable:
            partie_type, partner_id = _party(action, responsable)
            Affectation.objects.create(
                action=action,
                tache=tache,
                partie_type=partie_type,
                partenaire_id=partner_id,
                role=RoleTache.RESPONSABLE,
            )
        for key in sorted(set(contributeurs) - {responsable}):
            partie_type, partner_id = _party(action, key)
            Affectation.objects.create(
                action=action,
                tache=tache,
                partie_type=partie_type,
                partenaire_id=partner_id,
                role=RoleTache.CONTRIBUTEUR,
            )
        after = sorted(a.party_key + ":" + a.role for a in action.affectations.filter(tache=tache))
        if before != after:
            changes[tache] = [before, after]
    if changes:
        audit_record(
            acting_user=acting_user,
            action=AuditAction.UPDATE,
            obj=action,
            structure=action.structure,
            changes={"repartition_des_taches": changes},
        )


def _assign(action: Action, tache: str, key: str) -> None:
    """Make ``key`` accountable for ``tache``; the former one stays as a contributor."""
    partie_type, partner_id = _party(action, key)
    former = action.affectations.filter(tache=tache, role=RoleTache.RESPONSABLE).first()
    action.affectations.filter(tache=tache, partie_type=partie_type, partenaire_id=partner_id).delete()
    if former and former.party_key != key:
        former.role = RoleTache.CONTRIBUTEUR
        former.save(update_fields=["role"])
    Affectation.objects.create(
        action=action,
        tache=tache,
        partie_type=partie_type,
        partenaire_id=partner_id,
        role=RoleTache.RESPONSABLE,
    )


REUNION_FIELDS = ("titre", "debut", "fin", "lieu", "participants", "ordre_du_jour", "compte_rendu")


@transaction.atomic
def reunion_create(*, acting_user, action: Action, titre: str, debut, fin, **fields) -> Reunion:
    check_may(acting_user, Permission.ACTION_WRITE, action.structure_id)
    if fin <= debut:
        raise ValidationError({"fin": "La fin doit être après le début."})
    reunion = Reunion.objects.create(action=action, titre=titre.strip(), debut=debut, fin=fin, **fields)
    audit_record(
        acting_user=acting_user,
        action=AuditAction.CREATE,
        obj=reunion,
        structure=action.structure,
        changes={"action": action.pk, **model_changes(reunion, REUNION_FIELDS, {})},
    )
    return reunion


@transaction.atomic
def reunion_update(*, acting_user, reunion: Reunion, **fields) -> Reunion:
    check_may(acting_user, Permission.ACTION_WRITE, reunion.action.structure_id)
    before = snapshot(reunion, REUNION_FIELDS)
    for name, value in fields.items():
        if name not in REUNION_FIELDS:
            raise TypeError(name)
        setattr(reunion, name, value)
    if reunion.fin <= reunion.debut:
        raise ValidationError({"fin": "La fin doit être après le début."})
    changes = model_changes(reunion, REUNION_FIELDS, before)
    if changes:
        if {"debut", "fin", "lieu", "titre"} & set(changes):
            reunion.sequence += 1  # calendars take the new version of the event
        reunion.save()
        audit_record(
            acting_user=acting_user,
            action=AuditAction.UPDATE,
            obj=reunion,
            structure=reunion.action.structure,
            changes=changes,
        )
    return reunion


@transaction.atomic
def decision_add(*, acting_user, reunion: Reunion, texte: str, tache: str = "", partie: str = "") -> Decision:
    """Record a decision; when it gives a task to a party, the task matrix follows it."""
    action = reunion.action
    check_may(acting_user, Permission.ACTION_WRITE, action.structure_id)
    if not texte.strip():
        raise ValidationError({"texte": "La décision est vide."})
    if bool(tache) != bool(partie):
        raise ValidationError("Pour confier une tâche, choisissez la tâche et la partie.")
    partie_type, partner_id = ("", None)
    if tache:
        Tache(tache)
        partie_type, partner_id = _party(action, partie)
        _assign(action, tache, partie)
    decision = Decision.objects.create(
        reunion=reunion, texte=texte.strip(), tache=tache, partie_type=partie_type, partenaire_id=partner_id
    )
    audit_record(
        acting_user=acting_user,
        action=AuditAction.CREATE,
        obj=decision,
        structure=action.structure,
        changes={"reunion": reunion.pk, "texte": decision.texte, "tache": tache, "partie": partie},
    )
    return decision


@transaction.atomic
def commentaire_add(
    *, acting_user, action: Action, texte: str, reunion: Reunion | None = None
) -> Commentaire:
    """Anyone who sees the action may comment on it: the partners party to it included."""
    if not Action.objects.visible_to(acting_user).filter(pk=action.pk).exists():
        raise PermissionDenied("Vous ne voyez pas cette action.")
    if reunion is not None and reunion.action_id != action.pk:
        raise ValidationError("Cette réunion n’est pas celle de l’action.")
    if not texte.strip():
        raise ValidationError({"texte": "Le commentaire est vide."})
    commentaire = Commentaire.objects.create(
        action=action, reunion=reunion, auteur=acting_user, texte=texte.strip()
    )
    audit_record(
        acting_user=acting_user,
        action=AuditAction.CREATE,
        obj=commentaire,
        structure=action.structure,
        changes={"action": action.pk, "reunion": reunion.pk if reunion else None},
    )
    return commentaire


# --- Budget -----------------------------------------------------------------------------------------


def _amount(value, where: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValidationError(f"{where} : montant invalide ({value}).") from None


def budget_parties(action: Action) -> dict[str, tuple[str, budget.ContributorKind]]:
    """Who may bring a resource, by party key: the EPN, its collectivité, the action's partners."""
    parties = {TypePartie.EPN.value: (action.structure.nom, budget.ContributorKind.PORTEUR)}
    if action.structure.collectivite_id:
        parties[TypePartie.COLLECTIVITE.value] = (
            action.structure.collectivite.nom,
            budget.ContributorKind.FINANCEUR,
        )
    for participation in action.participations.select_related("partenaire"):
        parties[f"partenaire-{participation.partenaire_id}"] = (
            participation.partenaire.nom,
            budget.ContributorKind.PARTENAIRE,
        )
    return parties


def _resource_party(parties, line: dict) -> tuple[str, str, budget.ContributorKind]:
    """(party key, name, kind) of a resource line.

    The action's page names the party (``partie``); the dossier's page and the old dossier budgets
    name the contributor and its qualité, and the party is found by its name."""
    label = line.get("libelle", "")
    name = str(line.get("contributeur", "")).strip()
    kind = line.get("type_contributeur") or ""
    if "partie" in line:
        key = line["partie"] or ""
        if key:
            if key not in parties:
                raise ValidationError(f"Ressource « {label} » : « {key} » n’est pas une partie de l’action.")
            return key, *parties[key]
        if not name:
            raise ValidationError(f"Ressource « {label} » : indiquez le nom du financeur.")
        return "", name, budget.ContributorKind(kind or budget.ContributorKind.FINANCEUR)
    kind = budget.ContributorKind(kind or budget.ContributorKind.FINANCEUR)
    if kind == budget.ContributorKind.PORTEUR:
        return TypePartie.EPN.value, name or parties[TypePartie.EPN.value][0], kind
    for key, (party_name, party_kind) in parties.items():
        if key != TypePartie.EPN.value and party_name.casefold() == name.casefold():
            return key, name, party_kind
    return "", name, kind


@transaction.atomic
def action_set_budget(*, acting_user, action: Action, charges: list[dict], ressources: list[dict]):
    """Replace the action's budget prévisionnel; returns its ``budget.BudgetSummary``.

    Each line is checked by the pure ``budget`` module (French message naming the line). An
    unbalanced budget is saved, since it is built step by step; the dossier refuses its deposit.
    """
    check_may(acting_user, Permission.ACTION_WRITE, action.structure_id)
    parties = budget_parties(action)
    try:
        expense_lines = [
            budget.ExpenseLine(
                c["libelle"], c["categorie"], _amount(c["montant"], f"Charge « {c['libelle']} »")
            )
            for c in charges
        ]
        resource_lines = []
        for r in ressources:
            key, name, kind = _resource_party(parties, r)
            resource_lines.append(
                budget.ResourceLine(
                    r["libelle"],
                    r["categorie"],
                    _amount(r["montant"], f"Ressource « {r['libelle']} »"),
                    name,
                    kind,
                    key,
                )
            )
    except (budget.BudgetError, ValueError) as error:
        raise ValidationError(str(error)) from error
    before = budget_record(action)
    action.charges_budget.all().delete()
    action.ressources_budget.all().delete()
    ChargeAction.objects.bulk_create(
        ChargeAction(action=action, categorie=line.category, libelle=line.label, montant=line.amount, ordre=i)
        for i, line in enumerate(expense_lines)
    )
    RessourceAction.objects.bulk_create(
        RessourceAction(
            action=action,
            categorie=line.category,
            libelle=line.label,
            montant=line.amount,
            partie=line.party,
            contributeur=line.contributor.strip(),
            type_contributeur=line.contributor_kind,
            ordre=i,
        )
        for i, line in enumerate(resource_lines)
    )
    after = budget_record(action)
    action.save(update_fields=["updated_at"])
    if before != after:
        audit_record(
            acting_user=acting_user,
            action=AuditAction.UPDATE,
            obj=action,
            structure=action.structure,
            changes={"budget": [before, after]},
        )
    return budget.summarise(expense_lines, resource_lines)


def budget_record(action: Action) -> list[str]:
    """The budget's lines as the audit trail keeps them: « compte libellé : montant (apporté par) »."""
    rows = [f"{c.categorie} {c.libelle} : {c.montant}" for c in action.charges_budget.all()]
    rows += [
        f"{r.categorie} {r.libelle} : {r.montant} ({r.contributeur})" for r in action.ressources_budget.all()
    ]
    return rows
