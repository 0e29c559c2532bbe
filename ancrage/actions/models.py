from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from ancrage.actions import budget
from ancrage.actions.enums import (
    TRANSITIONS,
    CategorieCharge,
    CategorieRessource,
    RoleTache,
    Statut,
    Tache,
    TypeAction,
    TypeContributeur,
    TypePartie,
)
from ancrage.core.models import Comment
from ancrage.core.wording import de_nom
from ancrage.organisations.scoping import ScopedQuerySet, Scoping
from ancrage.partenaires.publics import public_label
from ancrage.territoire.libelles import libelle_secteur

# Records of an action are seen by the EPN's readers and by the partners party to the action.
ACTION_CHILD_SCOPING = Scoping(epn="action__structure", partner="action__partenaires")
# The budget is the EPN's and its collectivité's, as the dossier's is: a partner reads only its own
# contribution, in the convention it signs.
ACTION_BUDGET_SCOPING = Scoping(epn="action__structure")


class ActionQuerySet(ScopedQuerySet):
    def for_structure(self, structure):
        return self.filter(structure=structure)


class Action(models.Model):
    """A fiche action: what the EPN will do, for whom, with whom, and how it will be measured."""

    structure = models.ForeignKey(
        "organisations.Structure", verbose_name="EPN", on_delete=models.CASCADE, related_name="actions"
    )
    titre = models.CharField("titre", max_length=200)
    thematique = models.CharField("thématique", max_length=100, blank=True)
    services = models.JSONField("services du standard", default=list, blank=True)
    type = models.CharField("type", max_length=20, choices=TypeAction.choices, default=TypeAction.PONCTUELLE)
    publics = models.JSONField("publics visés", default=list, blank=True)
    secteurs = models.JSONField("secteurs visés", default=list, blank=True)
    # Sector code -> name, as the diagnostic named them (codes alone mean little to a reader).
    secteurs_noms = models.JSONField("noms des secteurs", default=dict, blank=True)
    contenu = models.TextField("contenu", blank=True)
    lieu = models.CharField("lieu", max_length=255, blank=True)
    statut = models.CharField("statut", max_length=20, choices=Statut.choices, default=Statut.IDEE)
    diagnostic = models.ForeignKey(
        "diagnostic.Diagnostic",
        verbose_name="diagnostic d’origine",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="actions",
    )
    cible_rang = models.PositiveIntegerField("rang de la cible", null=True, blank=True)
    # A frozen copy of the diagnostic's target: a later diagnostic must not rewrite why the action exists.
    cible = models.JSONField("cible du diagnostic (copie)", default=dict, blank=True)
    partenaires = models.ManyToManyField(
        "organisations.Structure",
        verbose_name="partenaires",
        through="ActionPartenaire",
        related_name="actions_partenaires",
        blank=True,
    )
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    updated_at = models.DateTimeField("modifiée le", auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="créée par", null=True, blank=True, on_delete=models.SET_NULL
    )

    objects = ActionQuerySet.as_manager()
    scoping = Scoping(epn="structure", partner="partenaires")

    class Meta:
        verbose_name = "action"
        verbose_name_plural = "actions"
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.titre

    def get_absolute_url(self):
        return reverse("actions:detail", kwargs={"pk": self.pk})

    @property
    def next_statuts(self) -> tuple[str, ...]:
        return TRANSITIONS[self.statut]

    @property
    def publics_labels(self) -> list[str]:
        return [public_label(key) for key in self.publics]

    @property
    def secteurs_labels(self) -> list[str]:
        return [libelle_secteur(code, self.secteurs_noms.get(code)) for code in self.secteurs]

    def budget_lines(self) -> tuple[list[budget.ExpenseLine], list[budget.ResourceLine]]:
        """The action's budget as the pure module reads it (the one budget of the action)."""
        return budget_lines_of(self.charges_budget.all(), self.ressources_budget.all())

    def budget_summary(self) -> budget.BudgetSummary:
        return budget.summarise(*self.budget_lines())

    @property
    def has_budget(self) -> bool:
        return self.charges_budget.exists() or self.ressources_budget.exists()


def budget_lines_of(charges, ressources) -> tuple[list[budget.ExpenseLine], list[budget.ResourceLine]]:
    """Rows with the fields of a budget line (the action's, or a dossier's copy) as pure lines."""
    expenses = [budget.ExpenseLine(line.libelle, line.categorie, line.montant) for line in charges]
    resources = [
        budget.ResourceLine(
            line.libelle,
            line.categorie,
            line.montant,
            line.contributeur,
            line.type_contributeur,
            getattr(line, "partie", ""),
        )
        for line in ressources
    ]
    return expenses, resources


class ChargeAction(models.Model):
    """A charge of the action's budget prévisionnel (comptes 60 to 68, and 86 in kind)."""

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="charges_budget")
    categorie = models.CharField("compte", max_length=5, choices=CategorieCharge.choices)
    libelle = models.CharField("libellé", max_length=200)
    montant = models.DecimalField("montant (€)", max_digits=12, decimal_places=2)
    ordre = models.PositiveIntegerField(default=0)

    objects = ScopedQuerySet.as_manager()
    scoping = ACTION_BUDGET_SCOPING

    class Meta:
        verbose_name = "charge du budget"
        verbose_name_plural = "charges du budget"
        ordering = ["ordre", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(montant__gte=0), name="charge_action_montant_positif")
        ]

    def __str__(self):
        return f"{self.libelle} : {budget.format_euros(self.montant)}"

    @property
    def en_nature(self) -> bool:
        return budget.ExpenseCategory(self.categorie).in_kind


class RessourceAction(models.Model):
    """A resource of the action's budget, with who brings it.

    ``partie`` names the contributor as the task matrix names parties: "epn" (its fonds propres),
    "collectivite" (the EPN's collectivité), "partenaire-<id>" (a partner of the action), or ""
    for a financeur outside the partnership, named by ``contributeur`` alone. ``contributeur``
    always holds the name, so that a copy (the dossier's) reads without the parties.
    """

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="ressources_budget")
    categorie = models.CharField("compte", max_length=5, choices=CategorieRessource.choices)
    libelle = models.CharField("libellé", max_length=200)
    montant = models.DecimalField("montant (€)", max_digits=12, decimal_places=2)
    partie = models.CharField("partie", max_length=40, blank=True)
    contributeur = models.CharField("apporté par", max_length=200)
    type_contributeur = models.CharField(
        "qualité", max_length=20, choices=TypeContributeur.choices, default=TypeContributeur.FINANCEUR
    )
    ordre = models.PositiveIntegerField(default=0)

    objects = ScopedQuerySet.as_manager()
    scoping = ACTION_BUDGET_SCOPING

    class Meta:
        verbose_name = "ressource du budget"
        verbose_name_plural = "ressources du budget"
        ordering = ["ordre", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(montant__gte=0), name="ressource_action_montant_positif")
        ]

    def __str__(self):
        return f"{self.libelle} ({self.contributeur}) : {budget.format_euros(self.montant)}"

    @property
    def en_nature(self) -> bool:
        return budget.ResourceCategory(self.categorie).in_kind


class ActionPartenaire(models.Model):
    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="participations")
    partenaire = models.ForeignKey(
        "organisations.Structure",
        verbose_name="partenaire",
        on_delete=models.PROTECT,
        related_name="participations",
    )
    role = models.CharField("rôle dans l’action", max_length=255, blank=True)
    # The recommendation score when the partner was added from the recommendations, for the record.
    score_recommandation = models.PositiveSmallIntegerField("score de recommandation", null=True, blank=True)
    added_at = models.DateTimeField("ajouté le", auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    scoping = Scoping(epn="action__structure", partner="partenaire")

    class Meta:
        verbose_name = "partenaire de l’action"
        verbose_name_plural = "partenaires de l’action"
        ordering = ["partenaire__nom"]
        constraints = [
            models.UniqueConstraint(fields=["action", "partenaire"], name="action_partenaire_unique")
        ]

    def __str__(self):
        return f"{self.partenaire} — {self.action}"


class Objectif(models.Model):
    """A measurable objective: "40 participants", "dont 25 de 60 ans et plus"."""

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="objectifs")
    libelle = models.CharField("libellé", max_length=255)
    valeur_cible = models.PositiveIntegerField("nombre visé")
    critere_public = models.CharField("dont : public", max_length=60, blank=True)
    critere_secteur = models.CharField("dont : secteur", max_length=100, blank=True)
    ordre = models.PositiveIntegerField("ordre", default=0)

    objects = ScopedQuerySet.as_manager()
    scoping = ACTION_CHILD_SCOPING

    class Meta:
        verbose_name = "objectif"
        verbose_name_plural = "objectifs"
        ordering = ["ordre", "id"]

    def __str__(self):
        return f"{self.valeur_cible} {self.libelle}"

    @property
    def critere(self) -> str:
        parts = []
        if self.critere_public:
            parts.append(public_label(self.critere_public))
        if self.critere_secteur:
            nom = self.action.secteurs_noms.get(self.critere_secteur) or self.critere_secteur
            parts.append(f"du secteur « {libelle_secteur(self.critere_secteur, nom)} »")
        return ", ".join(parts)


class Seance(models.Model):
    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="seances")
    titre = models.CharField("titre", max_length=200)
    debut = models.DateTimeField("début")
    fin = models.DateTimeField("fin")
    lieu = models.CharField("lieu", max_length=255, blank=True)
    sequence = models.PositiveIntegerField(default=0)
    # The calendar feeds' LAST-MODIFIED.
    updated_at = models.DateTimeField("modifiée le", auto_now=True)

    objects = ScopedQuerySet.as_manager()
    scoping = ACTION_CHILD_SCOPING

    class Meta:
        verbose_name = "séance"
        verbose_name_plural = "séances"
        ordering = ["debut", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(fin__gt=models.F("debut")), name="seance_fin_apres_debut")
        ]

    def __str__(self):
        return self.titre


class ChangementStatut(models.Model):
    """One row per change of status: the history of the state machine."""

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="changements_statut")
    de = models.CharField("de", max_length=20, choices=Statut.choices)
    vers = models.CharField("vers", max_length=20, choices=Statut.choices)
    commentaire = models.TextField("commentaire", blank=True)
    at = models.DateTimeField("le", auto_now_add=True)
    par = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="par",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = ScopedQuerySet.as_manager()
    scoping = ACTION_CHILD_SCOPING

    class Meta:
        verbose_name = "changement de statut"
        verbose_name_plural = "changements de statut"
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.get_de_display()} → {self.get_vers_display()}"


class Affectation(models.Model):
    """One cell of the task matrix: a party is responsible for, or contributes to, a task."""

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="affectations")
    tache = models.CharField("tâche", max_length=20, choices=Tache.choices)
    partie_type = models.CharField("partie", max_length=20, choices=TypePartie.choices)
    partenaire = models.ForeignKey(
        "organisations.Structure",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="affectations",
    )
    role = models.CharField("rôle", max_length=20, choices=RoleTache.choices)

    objects = ScopedQuerySet.as_manager()
    scoping = ACTION_CHILD_SCOPING

    class Meta:
        verbose_name = "affectation de tâche"
        verbose_name_plural = "répartition des tâches"
        ordering = ["action", "tache", "id"]
        constraints = [
            # The seed's rule: one party answers for each task.
            models.UniqueConstraint(
                fields=["action", "tache"], condition=Q(role="responsable"), name="affectation_un_responsable"
            ),
            models.CheckConstraint(
                condition=(Q(partie_type="partenaire") & Q(partenaire__isnull=False))
                | (~Q(partie_type="partenaire") & Q(partenaire__isnull=True)),
                name="affectation_partenaire_si_partie_partenaire",
            ),
        ]

    def __str__(self):
        return f"{self.get_tache_display()} : {self.party_key} ({self.get_role_display()})"

    @property
    def party_key(self) -> str:
        return (
            f"partenaire-{self.partenaire_id}"
            if self.partie_type == TypePartie.PARTENAIRE
            else self.partie_type
        )


class Reunion(models.Model):
    """A preliminary meeting, where the parties agree who does what before the action starts."""

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="reunions")
    titre = models.CharField("titre", max_length=200)
    debut = models.DateTimeField("début")
    fin = models.DateTimeField("fin")
    lieu = models.CharField("lieu", max_length=255, blank=True)
    participants = models.TextField("participants", blank=True, help_text="Une personne par ligne.")
    ordre_du_jour = models.TextField("ordre du jour", blank=True)
    compte_rendu = models.TextField("compte rendu", blank=True)
    sequence = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField("créée le", auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    scoping = ACTION_CHILD_SCOPING

    class Meta:
        verbose_name = "réunion préalable"
        verbose_name_plural = "réunions préalables"
        ordering = ["debut", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(fin__gt=models.F("debut")), name="reunion_fin_apres_debut")
        ]

    def __str__(self):
        return self.titre

    def get_absolute_url(self):
        return reverse("actions:reunion", kwargs={"pk": self.pk})

    @property
    def participants_list(self) -> list[str]:
        return [line.strip() for line in self.participants.splitlines() if line.strip()]


class Decision(models.Model):
    reunion = models.ForeignKey(Reunion, on_delete=models.CASCADE, related_name="decisions")
    texte = models.TextField("décision")
    # A decision may give a task to a party: then the task matrix follows it.
    tache = models.CharField("tâche confiée", max_length=20, choices=Tache.choices, blank=True)
    partie_type = models.CharField("à", max_length=20, choices=TypePartie.choices, blank=True)
    partenaire = models.ForeignKey(
        "organisations.Structure", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField("prise le", auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    scoping = Scoping(epn="reunion__action__structure", partner="reunion__action__partenaires")

    class Meta:
        verbose_name = "décision"
        verbose_name_plural = "décisions"
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.texte[:80]


class Commentaire(Comment):
    """A comment by anyone who sees the action: the EPN's staff and the partners party to it."""

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="commentaires")
    reunion = models.ForeignKey(
        Reunion, null=True, blank=True, on_delete=models.CASCADE, related_name="commentaires"
    )

    objects = ScopedQuerySet.as_manager()
    scoping = ACTION_CHILD_SCOPING

    class Meta(Comment.Meta):
        verbose_name = "commentaire"
        verbose_name_plural = "commentaires"


class FluxAgenda(models.Model):
    """The secret address of an organisation's calendar feed: the sessions of its actions (an
    EPN's) or of the actions it is a partner of (a partner's), for calendars to subscribe to.

    The address is not stored: it is the feed's id and an HMAC of that id and ``sel`` with a key
    derived from ``SECRET_KEY`` (``core.keys.agenda_key``; ``actions.agenda``). « Régénérer »
    draws a new ``sel`` (the old address answers 404), « Désactiver » clears ``actif``.
    """

    structure = models.OneToOneField(
        "organisations.Structure",
        verbose_name="structure",
        on_delete=models.CASCADE,
        related_name="flux_agenda",
    )
    sel = models.CharField(max_length=64, editable=False)
    actif = models.BooleanField("actif", default=True)
    created_at = models.DateTimeField("créé le", auto_now_add=True)
    updated_at = models.DateTimeField("modifié le", auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="modifié par", null=True, blank=True, on_delete=models.SET_NULL
    )

    objects = ScopedQuerySet.as_manager()
    # Readers of the organisation see that it has a feed; only its managers see the address
    # (``actions.agenda.may_manage``).
    scoping = Scoping(epn="structure", partner="structure")

    class Meta:
        verbose_name = "calendrier en ligne"
        verbose_name_plural = "calendriers en ligne"

    def __str__(self):
        return f"Calendrier {de_nom(self.structure.nom)}"
