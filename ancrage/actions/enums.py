from django.db import models

from ancrage.actions.budget import ContributorKind, ExpenseCategory, ResourceCategory
from ancrage.actions.tasks import TASK_CHOICES


class TypeAction(models.TextChoices):
    PONCTUELLE = "ponctuelle", "Ponctuelle (un événement)"
    DURABLE = "durable", "Durable (un programme)"


class Statut(models.TextChoices):
    IDEE = "idee", "Idée"
    EN_CONSTRUCTION = "en_construction", "En construction"
    VALIDEE = "validee", "Validée"
    EN_COURS = "en_cours", "En cours"
    TERMINEE = "terminee", "Terminée"
    EVALUEE = "evaluee", "Évaluée"


# The explicit state machine of a fiche action: forward along the seed's steps, and one step
# back while nothing has started (a validation may be reopened, not a running action).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    Statut.IDEE: (Statut.EN_CONSTRUCTION,),
    Statut.EN_CONSTRUCTION: (Statut.VALIDEE, Statut.IDEE),
    Statut.VALIDEE: (Statut.EN_COURS, Statut.EN_CONSTRUCTION),
    Statut.EN_COURS: (Statut.TERMINEE,),
    Statut.TERMINEE: (Statut.EVALUEE,),
    Statut.EVALUEE: (),
}

TRANSITION_LABELS = {
    (Statut.IDEE, Statut.EN_CONSTRUCTION): "Commencer la construction",
    (Statut.EN_CONSTRUCTION, Statut.VALIDEE): "Valider l’action",
    (Statut.EN_CONSTRUCTION, Statut.IDEE): "Revenir à l’idée",
    (Statut.VALIDEE, Statut.EN_COURS): "Démarrer l’action",
    (Statut.VALIDEE, Statut.EN_CONSTRUCTION): "Rouvrir la construction",
    (Statut.EN_COURS, Statut.TERMINEE): "Clore l’action",
    (Statut.TERMINEE, Statut.EVALUEE): "Marquer comme évaluée",
}


class RoleTache(models.TextChoices):
    RESPONSABLE = "responsable", "Responsable"
    CONTRIBUTEUR = "contributeur", "Contributeur"


class TypePartie(models.TextChoices):
    EPN = "epn", "EPN"
    PARTENAIRE = "partenaire", "Partenaire"
    COLLECTIVITE = "collectivite", "Collectivité"


Tache = models.TextChoices("Tache", [(value.upper(), (value, label)) for value, label in TASK_CHOICES])


CategorieCharge = models.TextChoices(
    "CategorieCharge", [(c.name, (c.value, c.label)) for c in ExpenseCategory]
)
CategorieRessource = models.TextChoices(
    "CategorieRessource", [(c.name, (c.value, c.label)) for c in ResourceCategory]
)
TypeContributeur = models.TextChoices(
    "TypeContributeur", [(k.name, (k.value, k.label.capitalize())) for k in ContributorKind]
)
