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
``data``) for views that only accept POST; ``data`` may also be a function ``(world, structure) ->
dict`` when it names objects (the query of a GET, the fields of a POST). Each request runs in a
transaction that is rolled back, so a view that writes does not change the world for the next check.
Exports and downloads are views like the others: they need an entry too.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from tests.suivi import world as suivi_world

ROLES = ("animateur", "responsable", "referent", "elu", "partenaire", "coordinateur", "anonyme")
COLUMNS = ("propre", "autre_structure", "autre_collectivite", "autre_reseau")


@dataclass(frozen=True)
class Entry:
    expected: dict[str, int | tuple[int, int, int, int]]
    kwargs: Callable | None = None  # (world, structure) -> URL kwargs, for URLs about an object
    method: str = "get"
    data: dict | Callable = field(default_factory=dict)  # or (world, structure) -> dict

    def data_for(self, world, structure) -> dict:
        return self.data(world, structure) if callable(self.data) else self.data


def _same(status: int, **overrides) -> dict:
    return {role: overrides.get(role, status) for role in ROLES}


def _everyone(status, anonymous):
    return {**_same(status), "anonyme": anonymous}


NOWHERE = (404, 404, 404, 404)
TO_LOGIN = (302, 302, 302, 302)
# Deciding on an access awaiting approval (accounts:invitation-approve and -refuse).
_APPROVALS = {
    "animateur": NOWHERE,
    "responsable": NOWHERE,
    "referent": (302, 302, 404, 404),
    "elu": (302, 302, 404, 404),
    "partenaire": (302, 404, 404, 404),
    "coordinateur": NOWHERE,
    "anonyme": TO_LOGIN,
}


def _reads(ok: int = 200, *, partner: tuple = NOWHERE) -> dict:
    """A page about an EPN's record: its team, its territory (référent, élu) and its réseau read it.

    ``partner``: what the partner account gets (only records its organisation is party to).
    """
    return {
        "animateur": (ok, 404, 404, 404),
        "responsable": (ok, 404, 404, 404),
        "referent": (ok, ok, 404, 404),
        "elu": (ok, ok, 404, 404),
        "partenaire": partner,
        "coordinateur": (ok, ok, ok, 404),
        "anonyme": TO_LOGIN,
    }


def _writes(ok: int = 200, *, partner: tuple = NOWHERE) -> dict:
    """A write on an EPN's record: only its team; those who read the record get 403, others 404."""
    return {
        "animateur": (ok, 404, 404, 404),
        "responsable": (ok, 404, 404, 404),
        "referent": (403, 403, 404, 404),
        "elu": (403, 403, 404, 404),
        "partenaire": partner,
        "coordinateur": (403, 403, 403, 404),
        "anonyme": TO_LOGIN,
    }


def _agenda_manage() -> dict:
    """Its managers act on their own organisation's feed; nobody else finds it (404)."""
    own = (302, 404, 404, 404)
    return {**_same(NOWHERE, anonyme=TO_LOGIN), "animateur": own, "responsable": own, "partenaire": own}


# A partner party to the action reads it (and its meetings) but does not write it.
PARTY = (200, 404, 404, 404)
PARTY_NO_WRITE = (403, 404, 404, 404)

MATRIX: dict[str, Entry] = {
    # Pages --------------------------------------------------------------------------------
    "home:index": Entry(_everyone(200, 302)),
    # The public verification of a signed convention: anyone, logged in or not.
    "verification:verifier": Entry(_same(200)),
    # The demo's e-mails (its one-time codes, its links): a page of the demo only, 404 elsewhere,
    # the suite's settings included (tests/www/test_demo_courriels.py reads it in the demo).
    "demo:courriels": Entry(_same(404)),
    "demo:piece_jointe": Entry(
        kwargs=lambda world, structure: {"courriel": 1, "piece": 1},
        expected=_same(NOWHERE),
    ),
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
    # Each signed-in person sees what they may approve (often nothing) and what awaits approval.
    "accounts:approvals": Entry(_everyone(200, 302)),
    # Only the organisation's people approve: an élu or référent of the collectivité (the EPN's
    # collectivité here), a member of the partner organisation; nobody else even finds it.
    "accounts:invitation-approve": Entry(
        method="post",
        kwargs=lambda world, structure: {"pk": world.awaiting_approval_to(structure).pk},
        expected=_APPROVALS,
    ),
    "accounts:invitation-refuse": Entry(
        method="post",
        kwargs=lambda world, structure: {"pk": world.awaiting_approval_to(structure).pk},
        expected=_APPROVALS,
    ),
    # The signed token is the capability: whoever holds the link sees the invitation page.
    "accounts:invitation-accept": Entry(
        kwargs=lambda world, structure: {"token": world.invitation_token(structure)},
        expected=_everyone((200,) * 4, (200,) * 4),
    ),
    # Diagnostic ---------------------------------------------------------------------------
    # One EPN in the scope (the team): straight to it; several (or none): the list.
    "diagnostic:index": Entry(_everyone(200, 302) | {"animateur": 302, "responsable": 302}),
    "diagnostic:compare": Entry(
        kwargs=lambda world, structure: {},
        data=lambda world, structure: {
            "avant": world.diagnostics_of(structure)[0].pk,
            "apres": world.diagnostics_of(structure)[1].pk,
        },
        expected=_reads(),
    ),
    # The blank file format: nobody's data.
    "diagnostic:modele_usagers": Entry(_everyone(200, 302)),
    "diagnostic:epn": Entry(
        kwargs=lambda world, structure: {"structure_id": world.epn_of(structure).pk}, expected=_reads()
    ),
    "diagnostic:import": Entry(
        kwargs=lambda world, structure: {"structure_id": world.epn_of(structure).pk, "kind": "population"},
        expected=_writes(),
    ),
    # Without a chosen attendance file the team is sent back to the EPN's page.
    "diagnostic:compute": Entry(
        method="post",
        kwargs=lambda world, structure: {"structure_id": world.epn_of(structure).pk},
        expected=_writes(302),
    ),
    "diagnostic:priorites": Entry(
        kwargs=lambda world, structure: {"structure_id": world.epn_of(structure).pk}, expected=_reads()
    ),
    "diagnostic:secteurs": Entry(
        kwargs=lambda world, structure: {"structure_id": world.epn_of(structure).pk}, expected=_reads()
    ),
    "diagnostic:job": Entry(
        kwargs=lambda world, structure: {"pk": world.import_job_of(structure).pk}, expected=_reads()
    ),
    # The usagers' (pseudonymous) records stay with the EPN that collected them.
    "diagnostic:usagers_export": Entry(
        kwargs=lambda world, structure: {"pk": world.frequentation_of(structure).pk}, expected=_writes()
    ),
    "diagnostic:frequentation_delete": Entry(
        method="post",
        kwargs=lambda world, structure: {"pk": world.frequentation_of(structure).pk},
        expected=_writes(302),
    ),
    # Withdrawing or restoring a population base: without an action the team is sent back.
    "diagnostic:population": Entry(
        method="post",
        kwargs=lambda world, structure: {"pk": world.population_of(structure).pk},
        expected=_writes(302),
    ),
    "diagnostic:detail": Entry(
        kwargs=lambda world, structure: {"pk": world.diagnostic_of(structure).pk}, expected=_reads()
    ),
    "diagnostic:pdf": Entry(
        kwargs=lambda world, structure: {"pk": world.diagnostic_of(structure).pk}, expected=_reads()
    ),
    "diagnostic:export_csv": Entry(
        kwargs=lambda world, structure: {"pk": world.diagnostic_of(structure).pk}, expected=_reads()
    ),
    "diagnostic:export_xlsx": Entry(
        kwargs=lambda world, structure: {"pk": world.diagnostic_of(structure).pk}, expected=_reads()
    ),
    "diagnostic:delete": Entry(
        method="post",
        kwargs=lambda world, structure: {"pk": world.diagnostic_of(structure).pk},
        expected=_writes(302),
    ),
    # Partner directory ----------------------------------------------------------------------
    # The directory is the EPN's own knowledge: a partner account sees none of it, not even the
    # entry of its own organisation. The list shows only what the scope allows.
    "partenaires:list": Entry(_everyone(200, 302)),
    "partenaires:create": Entry(_same(403, animateur=200, responsable=200, anonyme=302)),
    "partenaires:detail": Entry(
        kwargs=lambda world, structure: {"pk": world.fiche_of(structure).pk}, expected=_reads()
    ),
    "partenaires:update": Entry(
        kwargs=lambda world, structure: {"pk": world.fiche_of(structure).pk}, expected=_writes()
    ),
    "partenaires:contact_add": Entry(
        method="post",
        kwargs=lambda world, structure: {"pk": world.fiche_of(structure).pk},
        data={"nom": "Nouveau contact (matrice)"},
        expected=_writes(302),
    ),
    "partenaires:contact_delete": Entry(
        method="post",
        kwargs=lambda world, structure: {"pk": world.contact_of(structure).pk},
        expected=_writes(302),
    ),
    "partenaires:import": Entry(_same(403, animateur=200, responsable=200, anonyme=302)),
    "partenaires:import_preview": Entry(
        kwargs=lambda world, structure: {"pk": world.annuaire_import_of(structure).pk}, expected=_writes()
    ),
    "partenaires:export_csv": Entry(
        kwargs=lambda world, structure: {"epn_pk": world.epn_of(structure).pk}, expected=_reads()
    ),
    "partenaires:export_json": Entry(
        kwargs=lambda world, structure: {"epn_pk": world.epn_of(structure).pk}, expected=_reads()
    ),
    "partenaires:export_tableur": Entry(
        kwargs=lambda world, structure: {"epn_pk": world.epn_of(structure).pk}, expected=_reads()
    ),
    # The EPN's own place (its record in the standard): its team alone fills it in and downloads it.
    "partenaires:lieu_epn": Entry(
        kwargs=lambda world, structure: {"epn_pk": world.epn_of(structure).pk}, expected=_writes()
    ),
    "partenaires:lieu_epn_csv": Entry(
        kwargs=lambda world, structure: {"epn_pk": world.epn_of(structure).pk}, expected=_writes()
    ),
    "partenaires:lieu_epn_json": Entry(
        kwargs=lambda world, structure: {"epn_pk": world.epn_of(structure).pk}, expected=_writes()
    ),
    # Actions --------------------------------------------------------------------------------
    # A partner reads the actions its organisation is party to (their meetings, tasks and
    # calendars) and comments on them; the EPN's team alone writes them.
    "actions:list": Entry(_everyone(200, 302)),
    "actions:create": Entry(_same(403, animateur=200, responsable=200, anonyme=302)),
    "actions:detail": Entry(
        kwargs=lambda world, structure: {"pk": world.action_of(structure).pk}, expected=_reads(partner=PARTY)
    ),
    "actions:update": Entry(
        kwargs=lambda world, structure: {"pk": world.action_of(structure).pk},
        expected=_writes(partner=PARTY_NO_WRITE),
    ),
    "actions:transition": Entry(
        method="post",
        kwargs=lambda world, structure: {"pk": world.action_of(structure).pk},
        data={"vers": "en_construction"},
        expected=_writes(302, partner=PARTY_NO_WRITE),
    ),
    "actions:objectif_add": Entry(
        method="post",
        kwargs=lambda world, structure: {"pk": world.action_of(structure).pk},
        data={"libelle": "participants (matrice)", "valeur_cible": 5},
        expected=_writes(302, partner=PARTY_NO_WRITE),
    ),
    "actions:objectif_delete": Entry(
        method="post",
        kwargs=lambda world, structure: {"pk": world.objectif_of(structure).pk},
        expected=_writes(302, partner=PARTY_NO_WRITE),
    ),
    "actions:seance_add": Entry(
        method="post",
        kwargs=lambda world, structure: {"pk": world.action_of(structure).pk},
        data={"titre": "Séance (matrice)", "debut": "2030-05-06T10:00", "fin": "2030-05-06T12:00"},
        expected=_writes(302, partner=PARTY_NO_WRITE),
    ),
    "actions:seance_delete": Entry(
        method="post",
        kwargs=lambda world, structure: {"pk": world.seance_of(structure).pk},
        expected=_writes(302, partner=PARTY_NO_WRITE),
    ),
    "actions:ics": Entry(
        kwargs=lambda world, structure: {"pk": world.action_of(structure).pk}, expected=_reads(partner=PARTY)
    ),
    # Recommendations come from the EPN's directory: not for the partner.
    "actions:recommandations": Entry(
        kwargs=lambda world, structure: {"pk": world.action_of(structure).pk}, expected=_reads()
    ),
    "actions:partenaire_add": Entry(
        method="post",
        kwargs=lambda world, structure: {"pk": world.action_of(structure).pk},
        data=lambda world, structure: {"partenaire": world.other_partner_of(structure).pk, "role": "Relaie"},
        expected=_writes(302, partner=PARTY_NO_WRITE),
    ),
    "actions:partenaire_remove": Entry(
        method="post",
        kwargs=lambda world, structure: {"pk": world.participation_of(structure).pk},
        expected=_writes(302, partner=PARTY_NO_WRITE),
    ),
    "actions:matrice": Entry(
        kwargs=lambda world, structure: {"pk": world.action_of(structure).pk}, expected=_reads(partner=PARTY)
    ),
    # The budget is the EPN's and its collectivité's, as the dossier's: the partner party to the
    # action reads its own contribution in the convention, not this page.
    "actions:budget": Entry(
        kwargs=lambda world, structure: {"pk": world.action_of(structure).pk}, expected=_reads()
    ),
    "actions:reunion_create": Entry(
        kwargs=lambda world, structure: {"pk": world.action_of(structure).pk},
        expected=_writes(partner=PARTY_NO_WRITE),
    ),
    # Whoever sees the action may comment on it (services.commentaire_add).
    "actions:commentaire_add": Entry(
        method="post",
        kwargs=lambda world, structure: {"pk": world.action_of(structure).pk},
        data={"texte": "Commentaire (matrice)"},
        expected=_reads(302, partner=(302, 404, 404, 404)),
    ),
    "actions:reunion": Entry(
        kwargs=lambda world, structure: {"pk": world.reunion_of(structure).pk}, expected=_reads(partner=PARTY)
    ),
    "actions:reunion_update": Entry(
        kwargs=lambda world, structure: {"pk": world.reunion_of(structure).pk},
        expected=_writes(partner=PARTY_NO_WRITE),
    ),
    "actions:decision_add": Entry(
        method="post",
        kwargs=lambda world, structure: {"pk": world.reunion_of(structure).pk},
        data={"texte": "Décision (matrice)"},
        expected=_writes(302, partner=PARTY_NO_WRITE),
    ),
    "actions:reunion_ics": Entry(
        kwargs=lambda world, structure: {"pk": world.reunion_of(structure).pk}, expected=_reads(partner=PARTY)
    ),
    # Calendar feeds: the EPN's team manages its EPN's, a partner's member its organisation's;
    # the feed itself answers whoever holds its secret address, without login.
    "agenda:gerer": Entry(_same(403, animateur=200, responsable=200, partenaire=200, anonyme=302)),
    "agenda:regenerer": Entry(
        method="post",
        kwargs=lambda world, structure: {"pk": structure.pk},
        expected=_agenda_manage(),
    ),
    "agenda:desactiver": Entry(
        method="post",
        kwargs=lambda world, structure: {"pk": structure.pk},
        expected=_agenda_manage(),
    ),
    "agenda:flux": Entry(
        kwargs=lambda world, structure: world.agenda_of(structure),
        expected=_same((200, 200, 200, 200)),
    ),
    # Suivi ----------------------------------------------------------------------------------
    # The suivi is the EPN's own record (pseudonymous people, its notes on its partners): its
    # team writes it, its territory and its réseau read it, a partner account sees none of it.
    "suivi:index": Entry(_everyone(200, 302)),
    "suivi:tableau": Entry(
        kwargs=lambda world, structure: {"structure_id": world.epn_of(structure).pk}, expected=_reads()
    ),
    "suivi:bilan": Entry(
        kwargs=lambda world, structure: {"structure_id": world.epn_of(structure).pk}, expected=_reads()
    ),
    "suivi:relance_defaut": Entry(
        method="post",
        kwargs=lambda world, structure: {"structure_id": world.epn_of(structure).pk},
        data={"jours": 60},
        expected=_writes(302),
    ),
    "suivi:partenaire": Entry(
        kwargs=lambda world, structure: {"pk": world.fiche_of(structure).structure.pk}, expected=_reads()
    ),
    "suivi:echange_add": Entry(
        method="post",
        kwargs=lambda world, structure: {"pk": world.fiche_of(structure).structure.pk},
        data={"date": "2026-01-05", "nature": "appel", "resume": "Appel (matrice)"},
        expected=_writes(302),
    ),
    "suivi:promotion_add": Entry(
        method="post",
        kwargs=lambda world, structure: {"pk": world.fiche_of(structure).structure.pk},
        data={"date": "2026-01-05", "sens": "epn", "description": "Affiche (matrice)"},
        expected=_writes(302),
    ),
    "suivi:relance": Entry(
        method="post",
        kwargs=lambda world, structure: {"pk": world.fiche_of(structure).structure.pk},
        data={"jours": 30},
        expected=_writes(302),
    ),
    "suivi:echange_delete": Entry(
        method="post",
        kwargs=lambda world, structure: {"pk": suivi_world.echange_of(world, structure).pk},
        expected=_writes(302),
    ),
    "suivi:promotion_delete": Entry(
        method="post",
        kwargs=lambda world, structure: {"pk": suivi_world.promotion_of(world, structure).pk},
        expected=_writes(302),
    ),
    # A partner party to the action reads the action, not its participants nor its results.
    "suivi:action": Entry(
        kwargs=lambda world, structure: {"pk": world.action_of(structure).pk}, expected=_reads()
    ),
    "suivi:evaluation": Entry(
        method="post",
        kwargs=lambda world, structure: {"pk": world.action_of(structure).pk},
        data={"difficultes": "Difficultés (matrice)", "enseignements": ""},
        expected=_writes(302),
    ),
    # Without an attendance file after the action, the team is sent back with a message.
    "suivi:avant_apres": Entry(
        method="post",
        kwargs=lambda world, structure: {"pk": world.action_of(structure).pk},
        expected=_writes(302),
    ),
    "suivi:feuille": Entry(
        kwargs=lambda world, structure: {"pk": world.seance_of(structure).pk}, expected=_writes()
    ),
    "suivi:import": Entry(
        kwargs=lambda world, structure: {"pk": world.seance_of(structure).pk}, expected=_writes()
    ),
}

# The network dashboard: the réseau's coordinateur only (figures of their réseau's EPNs); every
# other role is refused, a partner included.
_NETWORK = _same(403, coordinateur=200, anonyme=302)
MATRIX["reseau:tableau"] = Entry(_NETWORK)
MATRIX["reseau:bilan"] = Entry(_NETWORK)
MATRIX["reseau:export"] = Entry(
    kwargs=lambda world, structure: {"fmt": "xlsx"},
    expected={role: (status,) * 4 for role, status in _NETWORK.items()},
)

# One usager's data (RGPD: access, portability, erasure): the EPN's responsable only. Others who
# see the EPN get 403; everyone else 404.
MATRIX["frequentation:usager"] = Entry(
    kwargs=lambda world, structure: {"structure_id": structure.pk},
    expected={
        "animateur": (403, 404, 404, 404),
        "responsable": (200, 404, 404, 404),
        "referent": (403, 403, 404, 404),
        "elu": (403, 403, 404, 404),
        "partenaire": NOWHERE,
        "coordinateur": (403, 403, 403, 404),
        "anonyme": TO_LOGIN,
    },
)

# Conventions and dossiers: their entries and records live in a module of their own.
from tests.security.matrix_conventions_dossiers import CONVENTIONS_DOSSIERS  # noqa: E402

MATRIX.update(CONVENTIONS_DOSSIERS)


# The collectivité's pages, about the collectivité of the column's EPN (for the partner, of the EPN
# whose directory it is in): the territory view is its référent's and élu's; its priorities are read
# by whoever sees it or an EPN attached to it, and changed by its référent only.
def _collectivite_of(world, structure):
    return {"pk": world.epn_of(structure).collectivite_id}


MATRIX["territoire:index"] = Entry(_everyone(200, 302) | {"referent": 302, "elu": 302})
MATRIX["territoire:detail"] = Entry(
    kwargs=_collectivite_of,
    expected={
        **{role: NOWHERE for role in ROLES},
        "referent": (200, 200, 404, 404),
        "elu": (200, 200, 404, 404),
    }
    | {"anonyme": TO_LOGIN},
)
MATRIX["territoire:priorites"] = Entry(
    kwargs=_collectivite_of,
    method="post",
    data={"action": "reinitialiser"},
    expected={
        "animateur": (403, 403, 404, 404),
        "responsable": (403, 403, 404, 404),
        "referent": (302, 302, 404, 404),
        "elu": (403, 403, 404, 404),
        "partenaire": NOWHERE,
        "coordinateur": (403, 403, 403, 404),
        "anonyme": TO_LOGIN,
    },
)


def _animateur_token(world, structure):
    """One API token of the animateur (the same whatever the column): only its owner revokes it."""
    from ancrage.accounts.models import ApiToken

    owner = world.user("animateur")
    token = ApiToken.objects.filter(user=owner).first() or ApiToken.objects.create(
        user=owner, nom="matrice", prefixe="ancrage_matr", empreinte="0" * 64
    )
    return {"pk": token.pk}


# The account page and its API tokens: everyone signed in has one; a token is revoked by its
# owner only (404 for anyone else, whoever sees the owner's EPN).
MATRIX["accounts:account"] = Entry(_everyone(200, 302))
MATRIX["accounts:api-token-revoke"] = Entry(
    kwargs=_animateur_token,
    method="post",
    expected={**{role: NOWHERE for role in ROLES}, "animateur": (302, 302, 302, 302), "anonyme": TO_LOGIN},
)

# The REST API knows only its tokens (tests/www/test_api.py, test_api_schemathesis.py): a session,
# whatever its roles, gets 401 on every endpoint. Its schema and documentation page are public.
_API_UNAUTHORIZED = {role: (401, 401, 401, 401) for role in ROLES}
MATRIX["api:api-root"] = Entry(_everyone(404, 404))  # django-ninja's root: nothing there
MATRIX["api:openapi-json"] = Entry(_everyone(200, 200))
MATRIX["api:openapi-view"] = Entry(_everyone(200, 200))
for _name in ("api:moi", "api:lieux", "api:partenaires", "api:diagnostics", "api:actions"):
    MATRIX[_name] = Entry(_everyone(401, 401))
for _name in ("api:conventions", "api:dossiers", "api:reseau-indicateurs"):
    MATRIX[_name] = Entry(_everyone(401, 401))
MATRIX["api:lieu"] = Entry(
    kwargs=lambda world, structure: {"lieu_id": structure.pk}, expected=_API_UNAUTHORIZED
)
MATRIX["api:partenaire"] = Entry(
    kwargs=lambda world, structure: {"partenaire_id": structure.pk}, expected=_API_UNAUTHORIZED
)
for _name, _kwarg in (("api:diagnostic", "diagnostic_id"), ("api:diagnostic-resultat", "diagnostic_id")):
    MATRIX[_name] = Entry(
        kwargs=lambda world, structure, k=_kwarg: {k: structure.pk}, expected=_API_UNAUTHORIZED
    )
for _name, _kwarg in (("api:action", "action_id"), ("api:seances", "action_id")):
    MATRIX[_name] = Entry(
        kwargs=lambda world, structure, k=_kwarg: {k: world.action_of(structure).pk},
        expected=_API_UNAUTHORIZED,
    )
for _name in ("api:convention", "api:convention-pdf-signe"):
    MATRIX[_name] = Entry(
        kwargs=lambda world, structure: {"convention_id": structure.pk}, expected=_API_UNAUTHORIZED
    )
MATRIX["api:dossier"] = Entry(
    kwargs=lambda world, structure: {"dossier_id": structure.pk}, expected=_API_UNAUTHORIZED
)
