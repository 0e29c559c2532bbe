from django.db import models

from ancrage.conventions.circuit import ConventionState
from ancrage.conventions.modeles import MODELS


class Etat(models.TextChoices):
    """The stored state. ``en_vigueur`` and ``expiree`` are never written: they follow from the
    dates (``circuit.effective_state``), so no job has to run on the start or end date."""

    BROUILLON = ConventionState.BROUILLON.value, "Brouillon"
    EN_VALIDATION = ConventionState.EN_VALIDATION.value, "En validation"
    SIGNEE = ConventionState.SIGNEE.value, "Signée"
    EN_VIGUEUR = ConventionState.EN_VIGUEUR.value, "En vigueur"
    EXPIREE = ConventionState.EXPIREE.value, "Expirée"
    RESILIEE = ConventionState.RESILIEE.value, "Résiliée"


ETAT_LABELS = dict(Etat.choices)
# DSFR badge variant for each state, so every page colours them alike.
ETAT_BADGES = {
    Etat.BROUILLON: "fr-badge--info",
    Etat.EN_VALIDATION: "fr-badge--new",
    Etat.SIGNEE: "fr-badge--success",
    Etat.EN_VIGUEUR: "fr-badge--success",
    Etat.EXPIREE: "fr-badge--warning",
    Etat.RESILIEE: "fr-badge--error",
}

MODELE_CHOICES = tuple((slug, model.label) for slug, model in MODELS.items())


class DecisionChoice(models.TextChoices):
    VALIDER = "valider", "Validée"
    REJETER = "rejeter", "Rejetée"


class JobKind(models.TextChoices):
    VERSION = "version", "Génération d’une version (DOCX et PDF)"


class JobState(models.TextChoices):
    EN_ATTENTE = "en_attente", "En attente"
    EN_COURS = "en_cours", "En cours"
    TERMINE = "termine", "Terminée"
    ECHEC = "echec", "Échec"
