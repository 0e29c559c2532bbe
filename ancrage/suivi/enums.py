from django.db import models


class NatureEchange(models.TextChoices):
    REUNION = "reunion", "Réunion"
    APPEL = "appel", "Appel téléphonique"
    COURRIEL = "courriel", "Courriel"
    EVENEMENT = "evenement", "Événement"


class SensPromotion(models.TextChoices):
    EPN = "epn", "L’EPN a promu le partenaire"
    PARTENAIRE = "partenaire", "Le partenaire a promu l’EPN"


# The situations of the usagers file (frequentation.readers.SITUATIONS), as the diagnostic names them.
SITUATION_CHOICES = (
    ("", "Non renseignée"),
    ("actif_occupe", "En emploi"),
    ("chomeur", "Sans emploi"),
    ("etudiant", "Scolarisé·e, étudiant·e"),
    ("retraite", "Retraité·e"),
    ("autre_inactif", "Autre inactif"),
)
SEXE_CHOICES = (("", "Non renseigné"), ("F", "Femme"), ("H", "Homme"))
CSP_CHOICES = (("", "Non renseignée"), *((f"CS{i}", f"CS{i}") for i in range(1, 9)))
