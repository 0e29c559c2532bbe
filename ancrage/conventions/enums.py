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


class CanalCode(models.TextChoices):
    EMAIL = "email", "code reçu par e-mail"
    TOTP = "totp", "code de l’application d’authentification"


class EvenementNature(models.TextChoices):
    SOUMISE = "soumise", "Convention soumise au circuit"
    CODE_ENVOYE = "code_envoye", "Code de signature envoyé"
    CODE_VERIFIE = "code_verifie", "Code de signature vérifié"
    CODE_REFUSE = "code_refuse", "Code de signature erroné"
    VISA = "visa", "Visa"
    SIGNATURE = "signature", "Signature"
    DELEGATION = "delegation", "Délégation de signature"
    REFUS = "refus", "Refus motivé"
    RETRAIT = "retrait", "Convention retirée du circuit"
    DOCUMENT_FINAL = "document_final", "Document final daté"
    SCELLEE = "scellee", "Convention scellée"
