"""The world the permission matrix runs in: the demo, plus what makes each column meaningful.

Each ``*_of(structure)`` method returns a record of ``structure`` (created once, on first use, with
the apps' services): for an EPN, a record the EPN owns; for a partner organisation, a record of the
EPN that references it (a diagnostic, a directory entry…) or one the partner is party to (an action
and its meetings). So each column of the matrix points at a record of the column's structure.
"""

import secrets
from datetime import datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from ancrage.accounts import services as account_services
from ancrage.accounts.models import Invitation, User
from ancrage.actions import agenda
from ancrage.actions import services as action_services
from ancrage.actions.models import Action, ActionPartenaire, FluxAgenda, Objectif, Reunion, Seance
from ancrage.demo import loader
from ancrage.diagnostic.models import Diagnostic, ImportJob
from ancrage.frequentation.models import FrequentationImport, Source, Unite
from ancrage.organisations import permissions, services
from ancrage.organisations.enums import CollectiviteType, Role, StructureKind
from ancrage.organisations.models import Collectivite, Structure
from ancrage.partenaires import services as partenaire_services
from ancrage.partenaires.models import Contact, ImportAnnuaire, Partenaire
from ancrage.territoire.models import PopulationImport

PARIS = ZoneInfo("Europe/Paris")

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
        # The demo without its conventions: the matrix builds a convention per column itself
        # (matrix_conventions_dossiers.py), and rendering and sealing the demo's PDFs would cost
        # about 4 of the 6 seconds of every build, once per URL.
        loader.load_demo(conventions=False)
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
        self._cache: dict[tuple[str, int], object] = {}

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

    def awaiting_approval_to(self, structure: Structure):
        """An invitation accepted by a newcomer and awaiting approval: as élu of the EPN's
        collectivité, or as partner of the partner organisation."""

        def build():
            role, target = (
                (Role.ELU, structure.collectivite) if structure.is_epn else (Role.PARTENAIRE, structure)
            )
            now = timezone.now()
            # Made by nobody in particular (an inviter who left): the role waits for its approver.
            invitation = Invitation.objects.create(
                email=f"a-approuver-{structure.pk}@matrice.test",
                role=role,
                nonce=secrets.token_hex(16),
                sent_at=now,
                expires_at=now + timedelta(days=7),
                **{permissions.target_field(role): target},
            )
            account_services.invitation_accept(invitation=invitation, password="une phrase de passe 2026")
            invitation.refresh_from_db()
            return invitation

        return self._once("awaiting_approval", structure, build)

    def invitation_token(self, structure: Structure) -> str:
        return account_services.invitation_token(self.invitation_to(structure))

    def forget_lazy_records(self) -> None:
        """Forget the records built on demand: a test's savepoint, rolled back, took them away."""
        self._cache.clear()
        self._invitations.clear()

    # Records of each structure (see the module docstring) -----------------------------------

    def _once(self, key: str, structure: Structure, build):
        if (key, structure.pk) not in self._cache:
            self._cache[(key, structure.pk)] = build()
        return self._cache[(key, structure.pk)]

    @staticmethod
    def epn_of(structure: Structure) -> Structure:
        """The EPN itself, or the EPN whose directory the partner organisation is in."""
        return structure if structure.is_epn else structure.referencee_par

    def agenda_of(self, structure: Structure) -> dict:
        """The URL kwargs of the structure's calendar feed, turned on once."""

        def build():
            flux, _ = FluxAgenda.objects.get_or_create(structure=structure, defaults={"sel": "matrice"})
            return {"pk": flux.pk, "cle": agenda.cle(flux)}

        return self._once("agenda", structure, build)

    def diagnostics_of(self, structure: Structure) -> list[Diagnostic]:
        """Two saved diagnostics of the structure's EPN (oldest first), to compare."""

        def build():
            epn = self.epn_of(structure)
            existing = list(Diagnostic.objects.filter(structure=epn).order_by("created_at", "id"))
            model = Diagnostic.objects.filter(niveau="commune").first()
            while len(existing) < 2:
                existing.append(
                    Diagnostic.objects.create(
                        structure=epn,
                        titre=f"Diagnostic {len(existing) + 1} de {epn.nom}",
                        niveau="commune",
                        resultat=model.resultat,
                        parametres=model.parametres,
                    )
                )
            return existing[-2:]

        return self._once("diagnostics", structure, build)

    def diagnostic_of(self, structure: Structure) -> Diagnostic:
        return self.diagnostics_of(structure)[-1]

    def frequentation_of(self, structure: Structure) -> FrequentationImport:
        def build():
            epn = self.epn_of(structure)
            return FrequentationImport.objects.filter(
                structure=epn
            ).first() or FrequentationImport.objects.create(
                structure=epn,
                source=Source.ANCRAGE,
                unite=Unite.PERSONNES,
                fichier=f"usagers-{epn.pk}.csv",
                sha256="0" * 64,
            )

        return self._once("frequentation", structure, build)

    def population_of(self, structure: Structure) -> PopulationImport:
        def build():
            epn = self.epn_of(structure)
            return PopulationImport.objects.filter(structure=epn).first() or PopulationImport.objects.create(
                structure=epn, fichier=f"population-{epn.pk}.csv", sha256="0" * 64, millesime=2016
            )

        return self._once("population", structure, build)

    def import_job_of(self, structure: Structure) -> ImportJob:
        """An import of the structure's EPN waiting for its confirmation."""
        return self._once(
            "import_job",
            structure,
            lambda: ImportJob.objects.create(
                structure=self.epn_of(structure),
                kind=ImportJob.Kind.POPULATION,
                fichier="population-matrice.csv",
                sha256="0" * 64,
                state=ImportJob.State.PRET,
            ),
        )

    def fiche_of(self, structure: Structure) -> Partenaire:
        """A directory entry: the partner organisation's own, or one in the EPN's directory."""

        def build():
            if not structure.is_epn:
                existing = Partenaire.objects.filter(structure=structure).first()
                return existing or partenaire_services.partenaire_fiche_create(
                    acting_user=None, structure=structure
                )
            return partenaire_services.partenaire_create(
                acting_user=None, epn=structure, nom=f"Partenaire de {structure.nom}", commune="Ici"
            )

        return self._once("fiche", structure, build)

    def contact_of(self, structure: Structure) -> Contact:
        return self._once(
            "contact",
            structure,
            lambda: partenaire_services.contact_create(
                acting_user=None, partenaire=self.fiche_of(structure), nom="Contact (matrice)"
            ),
        )

    def annuaire_import_of(self, structure: Structure) -> ImportAnnuaire:
        """A directory file of the structure's EPN, between its dry run and its application."""
        return self._once(
            "annuaire_import",
            structure,
            lambda: ImportAnnuaire.objects.create(
                structure=self.epn_of(structure),
                nom_fichier="annuaire-matrice.csv",
                format="csv",
                contenu=b"",
                resultat={"lus": 0, "a_creer": [], "rejetes": []},
            ),
        )

    def action_of(self, structure: Structure) -> Action:
        """An action of the EPN, or of its EPN with the partner organisation as its only partner;
        with an objective, a session and a meeting with a decision."""

        def build():
            epn = self.epn_of(structure)
            partner = self.fiche_of(structure).structure if structure.is_epn else structure
            action = action_services.action_create(
                acting_user=None, epn=epn, titre=f"Action de {structure.nom} (matrice)"
            )
            action_services.action_partenaire_add(
                acting_user=None, action=action, partenaire=partner, role="Mobilise"
            )
            action_services.objectif_add(
                acting_user=None, action=action, libelle="participants", valeur_cible=10
            )
            start = datetime(2030, 3, 4, 14, tzinfo=PARIS)
            action_services.seance_add(
                acting_user=None, action=action, titre="Atelier", debut=start, fin=start + timedelta(hours=2)
            )
            reunion = action_services.reunion_create(
                acting_user=None,
                action=action,
                titre="Réunion préalable (matrice)",
                debut=start - timedelta(days=30),
                fin=start - timedelta(days=30) + timedelta(hours=1),
            )
            action_services.decision_add(acting_user=None, reunion=reunion, texte="Décision (matrice)")
            return action

        return self._once("action", structure, build)

    def objectif_of(self, structure: Structure) -> Objectif:
        return self.action_of(structure).objectifs.first()

    def seance_of(self, structure: Structure) -> Seance:
        return self.action_of(structure).seances.first()

    def reunion_of(self, structure: Structure) -> Reunion:
        return self.action_of(structure).reunions.first()

    def participation_of(self, structure: Structure) -> ActionPartenaire:
        return self.action_of(structure).participations.first()

    def other_partner_of(self, structure: Structure) -> Structure:
        """A partner organisation of the EPN's directory that is not yet in ``action_of``."""
        return self._once(
            "other_partner",
            structure,
            lambda: services.structure_create(
                acting_user=None,
                reseau=self.epn_of(structure).reseau,
                nom=f"Autre partenaire de {structure.nom} (matrice)",
                kind=StructureKind.PARTENAIRE,
                referencee_par=self.epn_of(structure),
            ),
        )


def login(client, user, *, verified: bool = True) -> None:
    """Sign in; with ``verified``, as after the second factor (the demo devices)."""
    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if verified and device is not None:
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
