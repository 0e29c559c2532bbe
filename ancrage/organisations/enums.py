from django.db import models

from ancrage.organisations.cog import CollectiviteType as _CogType
from ancrage.organisations.permissions import Role


class CollectiviteType(models.TextChoices):
    COMMUNE = _CogType.COMMUNE.value, "Commune"
    EPCI = _CogType.EPCI.value, "Intercommunalité (EPCI)"
    DEPARTEMENT = _CogType.DEPARTEMENT.value, "Département"


class StructureKind(models.TextChoices):
    EPN = "epn", "Lieu de médiation numérique (EPN)"
    PARTENAIRE = "partenaire", "Organisation partenaire"


# The roles, and what each may do, are declared in ``permissions`` (a pure module, so that the
# workflows may use them too).
__all__ = ["CollectiviteType", "Role", "StructureKind"]
