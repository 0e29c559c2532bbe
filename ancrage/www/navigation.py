"""The main menu, by role: each role sees the entries that serve it."""

import functools

from django.urls import get_script_prefix, get_urlconf, reverse

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


@functools.lru_cache(maxsize=128)
def _entries(roles: frozenset[str], is_superuser: bool, script_prefix: str, urlconf) -> tuple:
    """The (label, URL) of the entries these roles see. Every page builds the menu: this is the
    same for everyone with these roles, so the URLs are reversed once (per script prefix and
    URLconf, which ``reverse`` depends on), not eleven times a request."""
    entries = []
    for label, url_name, menu_roles in MENU:
        if menu_roles and not is_superuser and not (roles & {r.value for r in menu_roles}):
            continue
        entries.append((label, reverse(url_name)))
    return tuple(entries)


def menu_for(user, current_path: str) -> list[dict]:
    scope = scope_for(user)
    entries = _entries(scope.roles, scope.is_superuser, get_script_prefix(), get_urlconf())
    return [{"label": label, "link": url, "active": current_path == url} for label, url in entries]
