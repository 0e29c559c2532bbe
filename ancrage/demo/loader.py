"""The demo: Rennes Métropole and Vitré, two EPNs, their partners, and one account per role; and
Villeurbanne (Rhône), a third EPN in a network of its own, whose diagnostic shows the map.

Every person and structure here is made up and named "(démo)"; the collectivités and their
communes are real (COG 2026). Loading is idempotent: a second run changes nothing.
"""

from importlib import import_module
from types import SimpleNamespace

from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from ancrage.accounts.models import User
from ancrage.accounts.second_factor import DEMO_TOTP_KEY_HEX, TOTP_ROLES
from ancrage.accounts.services import totp_device_create_confirmed, user_create
from ancrage.accounts.validators import DEMO_PASSWORD
from ancrage.organisations import services
from ancrage.organisations.enums import CollectiviteType, Role, StructureKind
from ancrage.organisations.models import Reseau

DEMO_RESEAU = "Réseau des lieux de médiation numérique d’Ille-et-Vilaine (démo)"
DEMO_RESEAU_RHONE = "Réseau des lieux de médiation numérique du Rhône (démo)"

DEMO_ACCOUNTS = [
    ("animateur@demo.ancrage.fr", "Animateur·rice de l’EPN du Blosne (Rennes)"),
    ("responsable@demo.ancrage.fr", "Responsable de l’EPN du Blosne (Rennes)"),
    ("referent@demo.ancrage.fr", "Référente de Rennes Métropole"),
    ("elu@demo.ancrage.fr", "Élu de Rennes Métropole, signataire"),
    ("partenaire@demo.ancrage.fr", "Partenaire : centre social Ty-Blosne"),
    ("partenaire2@demo.ancrage.fr", "Partenaire : CCAS de Rennes"),
    ("coordinateur@demo.ancrage.fr", "Coordinatrice du réseau départemental"),
    ("animateur2@demo.ancrage.fr", "Animateur de l’espace numérique de Vitré"),
    (
        "animateur3@demo.ancrage.fr",
        "Animatrice de l’EPN de Villeurbanne (Rhône) : le diagnostic avec la carte",
    ),
]

PEOPLE = {
    "animateur@demo.ancrage.fr": ("Camille", "Le Goff"),
    "responsable@demo.ancrage.fr": ("Yann", "Morvan"),
    "referent@demo.ancrage.fr": ("Soizic", "Bréhier"),
    "elu@demo.ancrage.fr": ("Loïc", "Tanguy"),
    "partenaire@demo.ancrage.fr": ("Nadia", "Benali"),
    "partenaire2@demo.ancrage.fr": ("Gwenola", "Le Bihan"),
    "coordinateur@demo.ancrage.fr": ("Maëlle", "Jégou"),
    "animateur2@demo.ancrage.fr": ("Erwan", "Gicquel"),
    "animateur3@demo.ancrage.fr": ("Inès", "Bouvier"),
}


# Each domain adds its demo records in a module of its own, with a ``load(world)`` function
# called once the organisations and accounts exist. Order matters: later modules may use what
# earlier ones created (``world`` is shared and may be extended).
DEMO_MODULES: list[str] = []
DEMO_MODULES.append("ancrage.demo.diagnostic")  # population, attendance and saved diagnostics
DEMO_MODULES.append("ancrage.demo.actions")  # after the diagnostic: it builds on its targets
DEMO_MODULES.append("ancrage.demo.dossiers")  # after the actions: a dossier is assembled from one
DEMO_MODULES.append("ancrage.demo.conventions")  # after the actions: drafted from the seniors action
DEMO_MODULES.append("ancrage.demo.suivi")  # last: participation, partners' log, before / after


def is_loaded() -> bool:
    return Reseau.objects.filter(nom=DEMO_RESEAU).exists()


@transaction.atomic
def load_demo(*, conventions: bool = True) -> bool:
    """Load the demo once. Returns False when it was already there.

    ``conventions=False`` leaves out the demo's conventions, whose documents (DOCX, PDF, seal)
    are most of its loading time: for tests that never read one.
    """
    if is_loaded():
        return False
    system = None  # demo records are written by the system, not by a person
    reseau = services.reseau_create(acting_user=system, nom=DEMO_RESEAU)
    rennes_metropole = services.collectivite_create(
        acting_user=system, reseau=reseau, type=CollectiviteType.EPCI, code="243500139"
    )
    vitre = services.collectivite_create(
        acting_user=system, reseau=reseau, type=CollectiviteType.COMMUNE, code="35360"
    )

    blosne = services.structure_create(
        acting_user=system,
        reseau=reseau,
        nom="EPN du Blosne (démo)",
        typologie="MUNI",
        collectivite=rennes_metropole,
        code_commune="35238",
    )
    # A second EPN of Rennes Métropole, in Cesson-Sévigné: the territory view adds both up, and
    # the collectivité's priorities reach both. It has no account of its own.
    cesson = services.structure_create(
        acting_user=system,
        reseau=reseau,
        nom="Espace numérique de Cesson-Sévigné (démo)",
        typologie="MUNI",
        collectivite=rennes_metropole,
        code_commune="35051",
    )
    vitre_epn = services.structure_create(
        acting_user=system,
        reseau=reseau,
        nom="Espace numérique de Vitré (démo)",
        typologie="MUNI",
        collectivite=vitre,
        code_commune="35360",
    )
    # Villeurbanne: IGN publishes the IRIS outlines of the Rhône, not of Ille-et-Vilaine (see
    # data/SOURCE.md), so the map is shown on this EPN's diagnostic. Its own network: the
    # coordinatrice of Ille-et-Vilaine does not see it.
    reseau_rhone = services.reseau_create(acting_user=system, nom=DEMO_RESEAU_RHONE)
    villeurbanne = services.collectivite_create(
        acting_user=system, reseau=reseau_rhone, type=CollectiviteType.COMMUNE, code="69266"
    )
    villeurbanne_epn = services.structure_create(
        acting_user=system,
        reseau=reseau_rhone,
        nom="EPN de Villeurbanne (démo)",
        typologie="MUNI",
        collectivite=villeurbanne,
        code_commune="69266",
    )
    partners = {}
    for nom, typologie, commune, epn in [
        ("Centre social Ty-Blosne (démo)", "CS", "35238", blosne),
        ("CCAS de Rennes (démo)", "CCAS", "35238", blosne),
        ("Mission locale du bassin rennais (démo)", "ML", "35238", blosne),
        ("Médiathèque de Cesson-Sévigné (démo)", "BIB", "35051", blosne),
        ("Association Vitré Entraide (démo)", "ASSO", "35360", vitre_epn),
    ]:
        partners[nom] = services.structure_create(
            acting_user=system,
            reseau=reseau,
            nom=nom,
            kind=StructureKind.PARTENAIRE,
            typologie=typologie,
            code_commune=commune,
            referencee_par=epn,
        )

    targets = {
        "animateur@demo.ancrage.fr": (Role.ANIMATEUR, blosne),
        "responsable@demo.ancrage.fr": (Role.RESPONSABLE, blosne),
        "referent@demo.ancrage.fr": (Role.REFERENT, rennes_metropole),
        "elu@demo.ancrage.fr": (Role.ELU, rennes_metropole),
        "partenaire@demo.ancrage.fr": (Role.PARTENAIRE, partners["Centre social Ty-Blosne (démo)"]),
        "partenaire2@demo.ancrage.fr": (Role.PARTENAIRE, partners["CCAS de Rennes (démo)"]),
        "coordinateur@demo.ancrage.fr": (Role.COORDINATEUR, reseau),
        "animateur2@demo.ancrage.fr": (Role.ANIMATEUR, vitre_epn),
        "animateur3@demo.ancrage.fr": (Role.ANIMATEUR, villeurbanne_epn),
    }
    users = {}
    for email, (role, target) in targets.items():
        first_name, last_name = PEOPLE[email]
        user = User.objects.filter(email=email).first() or user_create(
            acting_user=system,
            email=email,
            first_name=first_name,
            last_name=last_name,
            password=DEMO_PASSWORD,
        )
        services.membership_grant(acting_user=system, user=user, role=role, target=target)
        if role.value in TOTP_ROLES and not TOTPDevice.objects.filter(user=user).exists():
            # The public demo key (README): the demo also works with ANCRAGE_REQUIRE_TOTP on.
            totp_device_create_confirmed(
                acting_user=system, user=user, key_hex=DEMO_TOTP_KEY_HEX, name="Démonstration"
            )
        users[email.split("@")[0]] = user

    world = SimpleNamespace(
        reseau=reseau,
        rennes_metropole=rennes_metropole,
        vitre=vitre,
        blosne=blosne,
        cesson=cesson,
        vitre_epn=vitre_epn,
        villeurbanne_epn=villeurbanne_epn,
        partners=partners,
        users=users,
    )
    for module in DEMO_MODULES:
        if conventions or module != "ancrage.demo.conventions":
            import_module(module).load(world)
    return True
