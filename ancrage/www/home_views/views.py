from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from ancrage.audit.models import AuditEntry
from ancrage.organisations.enums import Role, StructureKind
from ancrage.organisations.models import Collectivite, Reseau, Structure
from ancrage.organisations.scoping import scope_for

# The order in which a person holding several roles sees their sections.
ROLE_ORDER = [Role.COORDINATEUR, Role.RESPONSABLE, Role.ANIMATEUR, Role.REFERENT, Role.ELU, Role.PARTENAIRE]


@login_required
def index(request):
    scope = scope_for(request.user)
    roles = [role for role in ROLE_ORDER if role.value in scope.roles]
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
    return render(request, "home/index.html", context)
