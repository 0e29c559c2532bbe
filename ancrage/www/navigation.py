"""The main menu, by role: each role sees the entries that serve it."""

from django.urls import reverse

from ancrage.organisations.enums import Role
from ancrage.organisations.scoping import scope_for

# (label, url name, roles that see it). An empty roles tuple means every signed-in user.
MENU = [
    ("Tableau de bord", "home:index", ()),
    (
        "Structures",
        "structures:list",
        (Role.ANIMATEUR, Role.RESPONSABLE, Role.REFERENT, Role.ELU, Role.COORDINATEUR, Role.PARTENAIRE),
    ),
    (
        "Diagnostic du territoire",
        "diagnostic:index",
        (Role.ANIMATEUR, Role.RESPONSABLE, Role.REFERENT, Role.ELU, Role.COORDINATEUR),
    ),
    (
        "Actions",
        "actions:list",
        (Role.ANIMATEUR, Role.RESPONSABLE, Role.REFERENT, Role.ELU, Role.COORDINATEUR, Role.PARTENAIRE),
    ),
    (
        "Conventions",
        "conventions:list",
        (Role.ANIMATEUR, Role.RESPONSABLE, Role.REFERENT, Role.ELU, Role.COORDINATEUR, Role.PARTENAIRE),
    ),
    (
        "Partenaires",
        "partenaires:list",
        (Role.ANIMATEUR, Role.RESPONSABLE, Role.REFERENT, Role.ELU, Role.COORDINATEUR),
    ),
    (
        "Suivi et pérennisation",
        "suivi:index",
        (Role.ANIMATEUR, Role.RESPONSABLE, Role.REFERENT, Role.ELU, Role.COORDINATEUR),
    ),
    ("Dossiers à instruire", "dossiers:inbox", (Role.REFERENT,)),
    ("Dossiers", "dossiers:list", (Role.ANIMATEUR, Role.RESPONSABLE)),
    ("Journal d’activité", "journal:list", (Role.RESPONSABLE, Role.COORDINATEUR, Role.REFERENT)),
    ("Invitations", "accounts:invitations", (Role.RESPONSABLE, Role.COORDINATEUR)),
]


def menu_for(user, current_path: str) -> list[dict]:
    scope = scope_for(user)
    items = []
    for label, url_name, roles in MENU:
        if roles and not scope.is_superuser and not (scope.roles & {r.value for r in roles}):
            continue
        url = reverse(url_name)
        items.append({"label": label, "link": url, "active": current_path == url})
    return items
