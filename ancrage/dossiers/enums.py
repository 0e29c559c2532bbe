"""Choices of the dossier de projet, defined once from the pure modules (``workflow``, ``budget``)
so that the database, the forms and the state machine can never disagree on a value."""

from django.db import models

# The budget's choices are the action's: the dossier copies the action's budget.
from ancrage.actions.enums import CategorieCharge, CategorieRessource, TypeContributeur  # noqa: F401
from ancrage.dossiers.workflow import (
    ACTION_LABELS,
    STATE_LABELS,
    CorrectionReason,
    DossierAction,
    DossierState,
)

Etat = models.TextChoices("Etat", [(s.name, (s.value, STATE_LABELS[s])) for s in DossierState])

# The history also records the creation of the dossier, which is no transition of the workflow.
CREER = "creer"
Operation = models.TextChoices(
    "Operation",
    [("CREER", (CREER, "Création du dossier"))]
    + [(a.name, (a.value, ACTION_LABELS[a][0].upper() + ACTION_LABELS[a][1:])) for a in DossierAction],
)

MotifCorrection = models.TextChoices(
    "MotifCorrection", [(r.name, (r.value, r.label)) for r in CorrectionReason]
)


class TypeSupport(models.TextChoices):
    AFFICHE = "affiche", "Affiche"
    FLYER = "flyer", "Flyer, dépliant"
    RESEAUX_SOCIAUX = "reseaux_sociaux", "Réseaux sociaux"
    SITE_WEB = "site_web", "Site web, agenda en ligne"
    PRESSE = "presse", "Presse, bulletin municipal"
    COURRIEL = "courriel", "Courriel, lettre d’information"
    BOUCHE_A_OREILLE = "orientation", "Orientation par les partenaires"
    AUTRE = "autre", "Autre"


class Cote(models.TextChoices):
    """Which side of the examination a message comes from."""

    EPN = "epn", "EPN"
    COLLECTIVITE = "collectivite", "Collectivité"
