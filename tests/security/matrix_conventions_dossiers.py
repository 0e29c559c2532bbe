"""Permission-matrix entries for the conventions and the dossiers (merged into ``MATRIX``).

The records behind each column are built here, once per structure, like those of ``world.py``:
a draft convention of the EPN with the partner organisation as its party, a dossier built from
the EPN's action with one attachment, and a finished generation job.
"""

import datetime as dt
import hashlib

from ancrage.accounts.models import User
from ancrage.conventions import services as convention_services
from ancrage.dossiers import services as dossier_services
from ancrage.dossiers.models import PieceJointe
from tests.security.matrix import NOWHERE, PARTY, PARTY_NO_WRITE, Entry, _reads, _writes


def _admin():
    return User.objects.filter(is_superuser=True).first() or User.objects.create_superuser(
        email="admin@matrice.test", username="admin@matrice.test", password="x" * 16
    )


def convention_of(world, structure):
    def build():
        partner = world.fiche_of(structure).structure if structure.is_epn else structure
        return convention_services.convention_create(
            acting_user=_admin(),
            epn=world.epn_of(structure),
            titre=f"Convention de {structure.nom} (matrice)",
            objet="Ateliers numériques (matrice)",
            date_debut=dt.date(2030, 1, 1),
            partenaires=[partner],
        )

    return world._once("convention", structure, build)


def dossier_of(world, structure):
    return world._once(
        "dossier",
        structure,
        lambda: dossier_services.dossier_create(acting_user=_admin(), action=world.action_of(structure)),
    )


def piece_of(world, structure):
    def build():
        dossier = dossier_of(world, structure)
        content = b"%PDF-1.4 matrice"
        return PieceJointe.objects.create(
            dossier=dossier,
            nom="piece-matrice.pdf",
            type="pdf",
            content_type="application/pdf",
            taille=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            contenu=content,
        )

    return world._once("piece", structure, build)


def job_of(world, structure):
    """A finished generation job (ANCRAGE_JOBS_SYNC runs it inline) and so a version."""

    def build():
        job = convention_services.convention_version_request(
            acting_user=_admin(), convention=convention_of(world, structure)
        )
        job.refresh_from_db()
        return job

    return world._once("generation", structure, build)


def _draft(ok: int = 200) -> dict:
    return {
        **{role: NOWHERE for role in _reads()},
        "animateur": (ok, 404, 404, 404),
        "responsable": (ok, 404, 404, 404),
        "anonyme": (302, 302, 302, 302),
    }


def _convention(world, structure):
    return {"pk": convention_of(world, structure).pk}


def _dossier(world, structure):
    return {"pk": dossier_of(world, structure).pk}


# A partner reads the conventions its organisation is party to, and may comment and decide on
# them; it sees no dossier (a dossier is between the EPN and its collectivité).
CONVENTIONS_DOSSIERS = {
    "conventions:list": Entry({**{r: 200 for r in _reads()}, "anonyme": 302}),
    "conventions:detail": Entry(kwargs=_convention, expected=_reads(partner=PARTY)),
    "conventions:history": Entry(kwargs=_convention, expected=_reads(partner=PARTY)),
    "conventions:update": Entry(kwargs=_convention, expected=_writes(partner=PARTY_NO_WRITE)),
    "conventions:generate": Entry(
        method="post", kwargs=_convention, expected=_writes(302, partner=PARTY_NO_WRITE)
    ),
    "conventions:commentaire_add": Entry(
        method="post",
        kwargs=_convention,
        data={"texte": "Commentaire (matrice)"},
        expected=_reads(302, partner=(302, 404, 404, 404)),
    ),
    "conventions:submit": Entry(
        method="post", kwargs=_convention, expected=_writes(302, partner=PARTY_NO_WRITE)
    ),
    "conventions:withdraw": Entry(
        method="post", kwargs=_convention, expected=_writes(302, partner=PARTY_NO_WRITE)
    ),
    "conventions:decide": Entry(
        method="post", kwargs=_convention, expected=_reads(302, partner=(302, 404, 404, 404))
    ),
    # A draft asks nobody to sign: the signing page sends its readers back to the convention.
    "conventions:sign": Entry(kwargs=_convention, expected=_reads(302, partner=(302, 404, 404, 404))),
    "conventions:refuse": Entry(
        method="post", kwargs=_convention, expected=_reads(302, partner=(302, 404, 404, 404))
    ),
    "conventions:delegate": Entry(method="post", kwargs=_convention, expected=_reads(404, partner=NOWHERE)),
    "conventions:proof": Entry(
        kwargs=lambda w, s: {**_convention(w, s), "tour": 1, "fmt": "pdf"},
        expected=_reads(404, partner=NOWHERE),
    ),
    "conventions:terminate": Entry(kwargs=_convention, expected=_writes(partner=PARTY_NO_WRITE)),
    "conventions:avenant": Entry(
        method="post", kwargs=_convention, expected=_writes(302, partner=PARTY_NO_WRITE)
    ),
    "conventions:signed": Entry(kwargs=_convention, expected=_reads(404, partner=NOWHERE)),
    "conventions:job": Entry(kwargs=lambda w, s: {"pk": job_of(w, s).pk}, expected=_reads(partner=PARTY)),
    "conventions:download": Entry(
        kwargs=lambda w, s: {"pk": job_of(w, s).version_id, "fmt": "pdf"}, expected=_reads(partner=PARTY)
    ),
    "conventions:create": Entry(
        {
            "animateur": 200,
            "responsable": 200,
            "referent": 403,
            "elu": 403,
            "partenaire": 403,
            "coordinateur": 403,
            "anonyme": 302,
        }
    ),
    "conventions:modeles": Entry(
        {
            "animateur": 200,
            "responsable": 200,
            "referent": 403,
            "elu": 403,
            "partenaire": 403,
            "coordinateur": 403,
            "anonyme": 302,
        }
    ),
    "dossiers:list": Entry({**{r: 200 for r in _reads()}, "anonyme": 302}),
    "dossiers:inbox": Entry({**{r: 200 for r in _reads()}, "anonyme": 302}),
    # The export lists what the person sees: everyone signed in gets a file, filtered by scope.
    "dossiers:export": Entry(
        kwargs=lambda w, s: {"fmt": "csv"},
        expected={**{r: (200, 200, 200, 200) for r in _reads()}, "anonyme": (302, 302, 302, 302)},
    ),
    # The world's dossiers are drafts: a draft is the EPN's own work, the collectivité sees a
    # dossier once it is submitted. So only the EPN's team reads or writes them.
    "dossiers:detail": Entry(kwargs=_dossier, expected=_draft()),
    "dossiers:pdf": Entry(kwargs=_dossier, expected=_draft()),
    "dossiers:edit": Entry(kwargs=_dossier, expected=_draft()),
    "dossiers:create": Entry(kwargs=lambda w, s: {"action_pk": w.action_of(s).pk}, expected=_draft()),
    "dossiers:refresh": Entry(method="post", kwargs=_dossier, expected=_draft(302)),
    "dossiers:transition": Entry(
        method="post", kwargs=_dossier, data={"action": "deposer"}, expected=_draft(302)
    ),
    "dossiers:message_add": Entry(method="post", kwargs=_dossier, expected=_draft(302)),
    "dossiers:piece_add": Entry(method="post", kwargs=_dossier, expected=_draft(302)),
    "dossiers:piece": Entry(kwargs=lambda w, s: {"pk": piece_of(w, s).pk}, expected=_draft()),
    "dossiers:piece_delete": Entry(
        method="post", kwargs=lambda w, s: {"pk": piece_of(w, s).pk}, expected=_draft(302)
    ),
    # Deciding and annotating belong to the référent: the EPN's team is refused, others see nothing.
    "dossiers:decision": Entry(kwargs=_dossier, expected=_draft(403)),
    # Annotating: the service refuses the EPN's team and the page redirects with the message.
    "dossiers:annotation_add": Entry(method="post", kwargs=_dossier, expected=_draft(302)),
    # No decision yet: there is no attestation to download.
    "dossiers:attestation": Entry(kwargs=_dossier, expected=_draft(404)),
}
