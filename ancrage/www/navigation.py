"""The main menu, by role: each role sees the entries that serve it."""

import functools

from django.urls import get_script_prefix, get_urlconf, reverse

from ancrage.organisations import permissions
from ancrage.organisations.scoping import scope_for

# (label, url name), in the menu's order. Which roles see each entry: ``permissions.MENU``.
MENU = [
    ("Tableau de bord", "home:index"),
    ("Structures", "structures:list"),
    ("Diagnostic du territoire", "diagnostic:index"),
    ("Territoire", "territoire:index"),
    ("Actions", "actions:list"),
    ("Conventions", "conventions:list"),
    ("Partenaires", "partenaires:list"),
    ("Suivi et pérennisation", "suivi:index"),
    ("Tableau du réseau", "reseau:tableau"),
    ("Dossiers à instruire", "dossiers:inbox"),
    ("Dossiers", "dossiers:list"),
    ("Journal d’activité", "journal:list"),
    ("Invitations", "accounts:invitations"),
    ("Accès à approuver", "accounts:approvals"),
]


@functools.lru_cache(maxsize=128)
def _entries(roles: frozenset[str], is_superuser: bool, script_prefix: str, urlconf) -> tuple:
    """The (label, URL) of the entries these roles see. Every page builds the menu: this is the
    same for everyone with these roles, so the URLs are reversed once (per script prefix and
    URLconf, which ``reverse`` depends on), not once per entry and request."""
    entries = []
    for label, url_name in MENU:
        menu_roles = permissions.MENU[url_name]
        if menu_roles and not is_superuser and not permissions.holds_any(roles, menu_roles):
            continue
        entries.append((label, reverse(url_name)))
    return tuple(entries)


def menu_for(user, current_path: str) -> list[dict]:
    scope = scope_for(user)
    entries = _entries(scope.roles, scope.is_superuser, get_script_prefix(), get_urlconf())
    return [{"label": label, "link": url, "active": current_path == url} for label, url in entries]
