from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from ancrage.actions.enums import Statut
from ancrage.actions.models import Action
from ancrage.audit.models import AuditEntry
from ancrage.conventions import selectors as convention_selectors
from ancrage.conventions.enums import Etat as ConventionEtat
from ancrage.conventions.models import Convention
from ancrage.diagnostic.cibles import category_label
from ancrage.diagnostic.models import Diagnostic
from ancrage.dossiers.models import Correction, Dossier
from ancrage.dossiers.workflow import DossierState
from ancrage.frequentation.models import FrequentationImport
from ancrage.organisations import permissions
from ancrage.organisations.enums import StructureKind
from ancrage.organisations.models import Collectivite, Reseau, Structure
from ancrage.organisations.permissions import Target
from ancrage.organisations.scoping import scope_for
from ancrage.territoire.services import secteur_noms

ACTIONS_OPEN = [Statut.IDEE, Statut.EN_CONSTRUCTION, Statut.VALIDEE, Statut.EN_COURS]
DOSSIERS_TO_EXAMINE = [DossierState.EN_CONSTRUCTION, DossierState.EN_INSTRUCTION]
SHOWN = 5  # items of each "next step" list; the full lists are one link away
CONVENTIONS_LOOKED_AT = 20  # conventions in their circuit checked for "waiting for me"


def _epn_next_steps(scope) -> dict:
    """For an EPN's staff: import attendance, act on the latest targets, follow actions and dossiers."""
    epn_ids = scope.staff_epn_ids
    diagnostic = Diagnostic.objects.filter(structure_id__in=epn_ids).order_by("-created_at", "-id").first()
    cibles = diagnostic.cibles[:3] if diagnostic else []
    corrections = Dossier.objects.filter(
        structure_id__in=epn_ids, etat=DossierState.EN_CONSTRUCTION, pk__in=_open_corrections()
    )
    return {
        "latest_frequentation": FrequentationImport.objects.filter(structure_id__in=epn_ids)
        .order_by("-created_at")
        .first(),
        "latest_diagnostic": diagnostic,
        "latest_cibles": [
            {
                **c,
                "public": category_label(c["dimension"], c["categorie"])
                if c["dimension"]
                else "tous les habitants",
            }
            for c in cibles
        ],
        "noms_secteurs": secteur_noms(diagnostic.structure_id, [c["secteur"] for c in cibles])
        if cibles
        else {},
        "open_actions": Action.objects.filter(structure_id__in=epn_ids, statut__in=ACTIONS_OPEN).order_by(
            "-updated_at", "-id"
        )[:SHOWN],
        "dossiers_to_correct": list(corrections[:SHOWN]),
        "draft_dossiers": Dossier.objects.filter(structure_id__in=epn_ids, etat=DossierState.BROUILLON)[
            :SHOWN
        ],
    }


def _open_corrections():
    return Correction.objects.filter(resolue_le__isnull=True).values("dossier_id")


def _conventions_waiting_for(user, scope) -> list:
    """Conventions in their circuit whose current step waits for this person (visa or signature)."""
    candidates = (
        Convention.objects.visible_to(scope)
        .filter(etat=ConventionEtat.EN_VALIDATION)
        .select_related("structure")
        .prefetch_related("decisions", "delegations")
        .order_by("-updated_at", "-id")[:CONVENTIONS_LOOKED_AT]
    )
    waiting = []
    for convention in candidates:
        delegations = list(convention.delegations.all())
        progress = convention_selectors.circuit_progress(
            convention, list(convention.decisions.all()), delegations
        )
        if convention_selectors.waiting_keys_for(user, convention, progress, delegations):
            waiting.append(convention)
    return waiting


@login_required
def index(request):
    scope = scope_for(request.user)
    # A person holding several roles sees their sections in the order of precedence.
    roles = [role for role in permissions.PRECEDENCE if role.value in scope.roles]
    role_values = {r.value for r in roles}
    structures = Structure.objects.visible_to(scope).select_related("collectivite")
    context = {
        "title": f"Tableau de bord — {roles[0].label}" if roles else "Tableau de bord",
        "roles": roles,
        "role_values": [r.value for r in roles],
        "my_epns": structures.filter(id__in=scope.staff_epn_ids),
        "territory_epns": structures.filter(kind=StructureKind.EPN).exclude(id__in=scope.staff_epn_ids),
        "my_partner_orgs": structures.filter(id__in=scope.partner_ids).select_related("referencee_par"),
        "collectivites": Collectivite.objects.visible_to(scope).filter(id__in=scope.collectivite_ids),
        "reseaux": Reseau.objects.visible_to(scope).filter(id__in=scope.reseau_ids),
        "partner_count": structures.filter(
            kind=StructureKind.PARTENAIRE, referencee_par__in=scope.staff_epn_ids
        ).count(),
        "recent_activity": AuditEntry.objects.filter(actor=request.user)[:5],
    }
    if permissions.holds_any(role_values, permissions.EPN_TEAM):
        context.update(_epn_next_steps(scope))
    if permissions.holds_any(role_values, permissions.DOSSIER_INSTRUCTORS):
        context["dossiers_to_examine"] = (
            Dossier.objects.visible_to(scope)
            .filter(etat__in=DOSSIERS_TO_EXAMINE)
            # A dossier sent back for a correction waits for its EPN, not for the référent.
            .exclude(etat=DossierState.EN_CONSTRUCTION, pk__in=_open_corrections())
            .select_related("structure")[:SHOWN]
        )
    if permissions.holds_any(role_values, permissions.CONVENTION_DECIDERS):
        context["conventions_waiting"] = _conventions_waiting_for(request.user, scope)
    if permissions.holds_any(role_values, permissions.roles_of(Target.PARTENAIRE)):
        context["partner_actions"] = (
            Action.objects.visible_to(scope)
            .filter(partenaires__in=scope.partner_ids)
            .select_related("structure")
            .distinct()
            .order_by("-updated_at", "-id")[:SHOWN]
        )
    return render(request, "home/index.html", context)
