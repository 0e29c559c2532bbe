"""The permission matrix: for every URL of Ancrage, the status each role gets.

``test_permission_matrix.py`` walks the URL configuration; every named URL (except the admin and
static files) must have an entry here, or the test fails and says which one to add.

Roles: the six roles of ``organisations.enums.Role`` plus ``anonyme``. Columns, for URLs about an
object (see ``world.py`` for the structures behind them):

    (propre, autre_structure, autre_collectivite, autre_reseau)

- propre: an object of the role's own organisation (the EPN du Blosne for its team, the référent,
  the élu and the coordinateur; the centre social Ty-Blosne for the partner);
- autre_structure: an object of another structure of the same collectivité (the EPN de Cesson,
  in Rennes Métropole; for the partner, another partner organisation of the Blosne);
- autre_collectivite: an object of a structure of another collectivité of the same réseau (Vitré);
- autre_reseau: an object of a structure of another réseau (Fougères, in another réseau).

How to add an entry for a new view::

    "monapp:detail": Entry(
        # URL kwargs for the object owned by ``structure`` (build one with the world if needed).
        kwargs=lambda world, structure: {"pk": world.action_of(structure).pk},
        expected={
            "animateur": (200, 404, 404, 404),
            "responsable": (200, 404, 404, 404),
            "referent": (200, 200, 404, 404),
            "elu": (200, 200, 404, 404),
            "partenaire": (404, 404, 404, 404),
            "coordinateur": (200, 200, 200, 404),
            "anonyme": (302, 302, 302, 302),
        },
    ),

A URL without an object gives one status per role (``"animateur": 200``). ``method="post"`` (with
``data``) for views that only accept POST; each request runs in a transaction that is rolled back,
so a view that writes does not change the world for the next check. Exports and downloads are
views like the others: they need an entry too.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

ROLES = ("animateur", "responsable", "referent", "elu", "partenaire", "coordinateur", "anonyme")
COLUMNS = ("propre", "autre_structure", "autre_collectivite", "autre_reseau")


@dataclass(frozen=True)
class Entry:
    expected: dict[str, int | tuple[int, int, int, int]]
    kwargs: Callable | None = None  # (world, structure) -> URL kwargs, for URLs about an object
    method: str = "get"
    data: dict = field(default_factory=dict)


def _same(status: int, **overrides) -> dict:
    return {role: overrides.get(role, status) for role in ROLES}


def _everyone(status, anonymous):
    return {**_same(status), "anonyme": anonymous}


MATRIX: dict[str, Entry] = {
    # Pages --------------------------------------------------------------------------------
    "home:index": Entry(_everyone(200, 302)),
    "structures:list": Entry(_everyone(200, 302)),
    "structures:detail": Entry(
        kwargs=lambda world, structure: {"pk": structure.pk},
        expected={
            "animateur": (200, 404, 404, 404),
            "responsable": (200, 404, 404, 404),
            "referent": (200, 200, 404, 404),
            "elu": (200, 200, 404, 404),
            "partenaire": (200, 404, 404, 404),
            "coordinateur": (200, 200, 200, 404),
            "anonyme": (302, 302, 302, 302),
        },
    ),
    "journal:list": Entry(
        _same(403, responsable=200, referent=200, coordinateur=200, anonyme=302),
    ),
    # Accounts -----------------------------------------------------------------------------
    # A signed-in person is sent on from the login page.
    "accounts:login": Entry(_everyone(302, 200)),
    "accounts:logout": Entry(_everyone(302, 302), method="post"),
    # Already verified (or never asked): sent on. Anonymous: to the login page.
    "accounts:second-factor": Entry(_everyone(302, 302)),
    # Those enrolled (référent, élu, coordinateur in the demo) are sent to the code page; the
    # others may enrol of their own accord.
    "accounts:second-factor-enrol": Entry(_same(200, referent=302, elu=302, coordinateur=302, anonyme=302)),
    "accounts:password-reset": Entry(_everyone(200, 200)),
    "accounts:password-reset-done": Entry(_everyone(200, 200)),
    # A made-up link shows the "link not valid" page.
    "accounts:password-reset-confirm": Entry(
        _everyone((200,) * 4, (200,) * 4),
        kwargs=lambda world, structure: {"uidb64": "MQ", "token": "abc-123"},
    ),
    "accounts:password-reset-complete": Entry(_everyone(200, 200)),
    "accounts:invitations": Entry(_same(403, responsable=200, coordinateur=200, anonyme=302)),
    "accounts:invitation-revoke": Entry(
        method="post",
        kwargs=lambda world, structure: {"pk": world.invitation_to(structure).pk},
        expected={
            # Seen (scoping) but not theirs to manage: 403; not seen at all: 404.
            "animateur": (403, 404, 404, 404),
            "responsable": (302, 404, 404, 404),
            "referent": (403, 403, 404, 404),
            "elu": (403, 403, 404, 404),
            "partenaire": (404, 404, 404, 404),
            "coordinateur": (302, 302, 302, 404),
            "anonyme": (302, 302, 302, 302),
        },
    ),
    # The signed token is the capability: whoever holds the link sees the invitation page.
    "accounts:invitation-accept": Entry(
        kwargs=lambda world, structure: {"token": world.invitation_token(structure)},
        expected=_everyone((200,) * 4, (200,) * 4),
    ),
}
