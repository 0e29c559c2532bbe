"""Reads of the dossiers: who may see and act on a dossier, what is copied from the action, and
the budget (the action's). No writes here."""

from __future__ import annotations

from django.db.models import Q

from ancrage.actions import selectors as action_selectors
from ancrage.actions.models import Action
from ancrage.actions.selectors import budget_summary_for_action  # noqa: F401 (the budget is the action's)
from ancrage.diagnostic.cibles import category_label
from ancrage.dossiers.enums import Etat
from ancrage.dossiers.models import Annotation, Dossier
from ancrage.organisations import permissions
from ancrage.organisations.models import Collectivite, Membership
from ancrage.organisations.permissions import Role
from ancrage.organisations.scoping import scope_for


def dossiers_visible_to(user):
    """The dossiers a user may open: the scope's, minus the brouillons of other EPNs (a draft is
    the EPN's own until it is deposited: the collectivité does not read it)."""
    scope = scope_for(user)
    dossiers = Dossier.objects.visible_to(scope)
    if scope.is_superuser:
        return dossiers
    drafting = permissions.epns_with(scope, permissions.Permission.DOSSIER_WRITE)
    return dossiers.filter(~Q(etat=Etat.BROUILLON) | Q(structure_id__in=drafting))


def covering_collectivite(user, structure, *, roles=permissions.DOSSIER_INSTRUCTORS) -> Collectivite | None:
    """The collectivité through which the user, as instructor of its dossiers, follows this EPN."""
    if user is None or not user.is_authenticated:
        return None
    memberships = (
        Membership.objects.active()
        .filter(user=user, role__in=roles, collectivite__isnull=False)
        .select_related("collectivite")
    )
    for membership in memberships:
        collectivite = membership.collectivite
        if structure.collectivite_id == collectivite.pk:
            return collectivite
        if (
            collectivite.reseau_id == structure.reseau_id
            and structure.code_commune
            and collectivite.covers(structure.code_commune)
        ):
            return collectivite
    return None


def epn_role(user, structure) -> Role | None:
    """The role through which the user acts for the EPN on its dossiers (the first by precedence)."""
    if user is None or not user.is_authenticated:
        return None
    roles = set(
        Membership.objects.active()
        .filter(user=user, structure=structure, role__in=permissions.DOSSIER_DEPOSITORS)
        .values_list("role", flat=True)
    )
    return next((role for role in permissions.PRECEDENCE if role in roles), None)


def roles_on(user, dossier: Dossier) -> set[Role]:
    """The workflow roles the user holds on this dossier (EPN side, collectivité side, or both)."""
    roles = set()
    role = epn_role(user, dossier.structure)
    if role is not None:
        roles.add(role)
    collectivite_role = collectivite_role_on(user, dossier.structure)
    if collectivite_role is not None:
        roles.add(collectivite_role)
    if not roles and getattr(user, "is_superuser", False):
        # A superuser may act on either side: as the first role of each side, by precedence.
        roles = {
            next(r for r in permissions.PRECEDENCE if r in permissions.DOSSIER_DEPOSITORS),
            next(r for r in permissions.PRECEDENCE if r in permissions.DOSSIER_INSTRUCTORS),
        }
    return roles


def collectivite_role_on(user, structure) -> Role | None:
    """The instructor's role the user holds through a collectivité following this EPN."""
    if user is None or not user.is_authenticated:
        return None
    for role in permissions.PRECEDENCE:
        if role in permissions.DOSSIER_INSTRUCTORS and covering_collectivite(user, structure, roles=(role,)):
            return role
    return None


def role_for(roles: set[Role], transition_roles) -> Role | None:
    """Which of the user's roles acts: the one the transition asks for, if the user has it."""
    for role in sorted(roles):
        if role in transition_roles:
            return role
    return next(iter(sorted(roles)), None)


def is_epn_side(roles: set[Role]) -> bool:
    return bool(roles & permissions.DOSSIER_DEPOSITORS)


def annotations_for(user, dossier: Dossier):
    """Private annotations: only référents and élus of a collectivité following the EPN read them."""
    scope = scope_for(user)
    if not scope.is_superuser and not permissions.holds_any(
        scope.roles, permissions.DOSSIER_ANNOTATION_READERS
    ):
        return Annotation.objects.none()
    return Annotation.objects.visible_to(scope).filter(dossier=dossier)


def _matrix_snapshot(action: Action) -> dict:
    matrix = action_selectors.task_matrix(action)
    return {
        "parties": [{"id": p.id, "nom": p.name, "nature": p.kind.value} for p in matrix.parties],
        "taches": [
            {"libelle": task.label, "cellules": [cells[p.id] for p in matrix.parties]}
            for task, cells in matrix.rows()
        ],
        "alertes": [w.message for w in action_selectors.check_matrix(matrix)],
    }


def diagnostic_excerpt(action: Action, cible: dict) -> dict:
    """The part of the diagnostic that justifies the action: its target, the categories of the
    target's dimension, and the sectors the action aims at (or the under-attended ones)."""
    diagnostic = action.diagnostic
    if diagnostic is None:
        return {}
    resultat = diagnostic.resultat or {}
    dimension = cible.get("dimension")
    categories = [c for c in resultat.get("categories", []) if dimension and c.get("dimension") == dimension]
    wanted = set(action.secteurs) or {
        s.get("code") for s in resultat.get("secteurs", []) if s.get("sous_frequente")
    }
    return {
        "titre": diagnostic.titre,
        "calcule_le": diagnostic.created_at.date().isoformat() if diagnostic.created_at else "",
        "unite": resultat.get("unite", diagnostic.unite),
        "dimension": dimension or "",
        "categories": categories,
        # Every sector: the chart compares the targeted ones with the territory's average rate.
        "secteurs": resultat.get("secteurs", []),
        "secteurs_vises": sorted(c for c in wanted if c),
    }


def action_snapshot(action: Action) -> dict:
    """The fields of a dossier copied from its action (and its diagnostic)."""
    cible = dict(action.cible or {})
    if cible and cible.get("dimension"):
        cible["public"] = category_label(cible.get("dimension"), cible.get("categorie"))
    return {
        "thematique": action.thematique,
        "snapshot_objectifs": [
            {"valeur_cible": o.valeur_cible, "libelle": o.libelle, "critere": o.critere}
            for o in action.objectifs.all()
        ],
        "snapshot_publics": action.publics_labels,
        "snapshot_secteurs": action.secteurs_labels,
        "snapshot_cible": cible,
        "snapshot_diagnostic": diagnostic_excerpt(action, cible),
        "snapshot_partenariat": {
            "partenaires": [
                {"nom": p.partenaire.nom, "role": p.role}
                for p in action.participations.select_related("partenaire")
            ],
            "matrice": _matrix_snapshot(action),
        },
    }


def epn_staff_emails(structure) -> list[str]:
    return sorted(
        set(
            Membership.objects.active()
            .filter(structure=structure, role__in=permissions.DOSSIER_DEPOSITORS)
            .values_list("user__email", flat=True)
        )
    )


def referent_emails(structure) -> list[str]:
    emails = set()
    for membership in (
        Membership.objects.active()
        .filter(role__in=permissions.DOSSIER_INSTRUCTORS, collectivite__reseau_id=structure.reseau_id)
        .select_related("collectivite", "user")
    ):
        collectivite = membership.collectivite
        if structure.collectivite_id == collectivite.pk or (
            structure.code_commune and collectivite.covers(structure.code_commune)
        ):
            emails.add(membership.user.email)
    return sorted(emails)
