from django.db import models

from ancrage.organisations.cog import CollectiviteType as _CogType


class CollectiviteType(models.TextChoices):
    COMMUNE = _CogType.COMMUNE.value, "Commune"
    EPCI = _CogType.EPCI.value, "Intercommunalité (EPCI)"
    DEPARTEMENT = _CogType.DEPARTEMENT.value, "Département"


class StructureKind(models.TextChoices):
    EPN = "epn", "Lieu de médiation numérique (EPN)"
    PARTENAIRE = "partenaire", "Organisation partenaire"


class Role(models.TextChoices):
    ANIMATEUR = "animateur", "Animateur·rice"
    RESPONSABLE = "responsable", "Responsable d’EPN"
    REFERENT = "referent", "Référent·e de la collectivité"
    ELU = "elu", "Élu·e / signataire"
    PARTENAIRE = "partenaire", "Partenaire"
    COORDINATEUR = "coordinateur", "Coordinateur·rice de réseau"


# What each role is a member of. One place says it; the model's constraint and the
# scoping rules follow from it.
ROLE_TARGET = {
    Role.ANIMATEUR: "structure",
    Role.RESPONSABLE: "structure",
    Role.PARTENAIRE: "structure",
    Role.REFERENT: "collectivite",
    Role.ELU: "collectivite",
    Role.COORDINATEUR: "reseau",
}
EPN_STAFF_ROLES = (Role.ANIMATEUR, Role.RESPONSABLE)
COLLECTIVITE_ROLES = (Role.REFERENT, Role.ELU)
