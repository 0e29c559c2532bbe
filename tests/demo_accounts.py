"""The demo's accounts and places, for page tests that run on the loaded demo (``demo`` fixture)."""

from ancrage.accounts.models import User
from ancrage.organisations.models import Structure


def login(client, local: str) -> None:
    """Sign in as ``<local>@demo.ancrage.fr`` (animateur, responsable, referent, elu, …)."""
    client.force_login(User.objects.get(email=f"{local}@demo.ancrage.fr"))


def blosne() -> Structure:
    return Structure.objects.get(nom="EPN du Blosne (démo)")
