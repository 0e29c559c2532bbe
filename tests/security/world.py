"""The world the permission matrix runs in: the demo, plus what makes each column meaningful."""

from functools import cached_property

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from ancrage.accounts import services as account_services
from ancrage.accounts.models import User
from ancrage.demo.loader import load_demo
from ancrage.organisations import services
from ancrage.organisations.enums import CollectiviteType, Role, StructureKind
from ancrage.organisations.models import Collectivite, Structure

DEMO_EMAILS = {
    "animateur": "animateur@demo.ancrage.fr",
    "responsable": "responsable@demo.ancrage.fr",
    "referent": "referent@demo.ancrage.fr",
    "elu": "elu@demo.ancrage.fr",
    "partenaire": "partenaire@demo.ancrage.fr",
    "coordinateur": "coordinateur@demo.ancrage.fr",
}


class World:
    def __init__(self):
        load_demo()
        blosne = Structure.objects.get(nom="EPN du Blosne (démo)")
        rennes_metropole = Collectivite.objects.get(nom="Rennes Métropole")
        self.cesson = services.structure_create(
            acting_user=None,
            reseau=blosne.reseau,
            nom="EPN de Cesson-Sévigné (matrice)",
            collectivite=rennes_metropole,
            code_commune="35051",
        )
        other_reseau = services.reseau_create(acting_user=None, nom="Réseau d’ailleurs (matrice)")
        fougeres = services.collectivite_create(
            acting_user=None, reseau=other_reseau, type=CollectiviteType.COMMUNE, code="35115"
        )
        self.fougeres_epn = services.structure_create(
            acting_user=None,
            reseau=other_reseau,
            nom="EPN de Fougères (matrice)",
            collectivite=fougeres,
            code_commune="35115",
        )
        self.fougeres_partner = services.structure_create(
            acting_user=None,
            reseau=other_reseau,
            nom="Association de Fougères (matrice)",
            kind=StructureKind.PARTENAIRE,
            code_commune="35115",
            referencee_par=self.fougeres_epn,
        )
        self.blosne = blosne
        self.vitre_epn = Structure.objects.get(nom="Espace numérique de Vitré (démo)")
        self._invitations = {}

    @cached_property
    def columns(self) -> dict[str, tuple[Structure, Structure, Structure, Structure]]:
        """For each role, the structure behind each column (see matrix.py)."""
        epn_columns = (self.blosne, self.cesson, self.vitre_epn, self.fougeres_epn)
        partner_columns = (
            Structure.objects.get(nom="Centre social Ty-Blosne (démo)"),
            Structure.objects.get(nom="CCAS de Rennes (démo)"),
            Structure.objects.get(nom="Association Vitré Entraide (démo)"),
            self.fougeres_partner,
        )
        return {
            role: partner_columns if role == "partenaire" else epn_columns
            for role in (*DEMO_EMAILS, "anonyme")
        }

    def user(self, role: str) -> User | None:
        return User.objects.get(email=DEMO_EMAILS[role]) if role in DEMO_EMAILS else None

    def invitation_to(self, structure: Structure):
        """A pending invitation to ``structure``, created (by a superuser) once."""
        if structure.pk not in self._invitations:
            admin = User.objects.filter(is_superuser=True).first() or User.objects.create_superuser(
                email="admin@matrice.test", username="admin@matrice.test", password="x" * 16
            )
            role = Role.ANIMATEUR if structure.is_epn else Role.PARTENAIRE
            self._invitations[structure.pk] = account_services.invitation_create(
                acting_user=admin,
                email=f"invite-{structure.pk}@matrice.test",
                role=role,
                target=structure,
                site_url="http://testserver/",
            )
        return self._invitations[structure.pk]

    def invitation_token(self, structure: Structure) -> str:
        return account_services.invitation_token(self.invitation_to(structure))


def login(client, user, *, verified: bool = True) -> None:
    """Sign in; with ``verified``, as after the second factor (the demo devices)."""
    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if verified and device is not None:
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
