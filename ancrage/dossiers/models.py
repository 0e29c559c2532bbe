"""The dossier de projet and its examination, after Démarches Simplifiées.

A ``Dossier`` is assembled from an action: its objectives, publics, the diagnostic excerpt that
justifies them and its partnership are copied into the dossier (``snapshot_*`` fields), so that
what the référent examined stays what was submitted even if the action changes later. The EPN
adds the communication supports and the attachments. The budget is the action's: a brouillon
reads it live, and the deposit copies it into the dossier's own lines (``LigneCharge``,
``LigneRessource``), which a deposited dossier reads from then on.

``Traitement`` is the history: one row per state change, append-only (the model refuses changes
and database triggers refuse them from raw SQL, migration 0002), each row chained to the one
before it by an HMAC (``ancrage.core.hashchain``, key from ``journal_key()``). The dossier keeps
the head of its chain and its length, so that removing the last rows is noticed too.
"""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from ancrage.actions import budget
from ancrage.actions.models import budget_lines_of
from ancrage.dossiers.enums import (
    CategorieCharge,
    CategorieRessource,
    Cote,
    Etat,
    MotifCorrection,
    Operation,
    TypeContributeur,
    TypeSupport,
)
from ancrage.dossiers.workflow import DECIDED_STATES, DossierState
from ancrage.organisations.scoping import ScopedQuerySet, Scoping

# Every record of a dossier is read by the readers of the dossier's EPN. Partners see nothing:
# the dossier is a conversation between the EPN and its collectivité (budget, annotations).
DOSSIER_CHILD_SCOPING = Scoping(epn="dossier__structure")


class AppendOnlyError(Exception):
    """The history of a dossier is never changed nor deleted, only appended to."""


class DossierQuerySet(ScopedQuerySet):
    def submitted(self):
        """Dossiers the collectivité may see: a brouillon is still the EPN's own draft."""
        return self.exclude(etat=Etat.BROUILLON)

    def for_structure(self, structure):
        return self.filter(structure=structure)


class Dossier(models.Model):
    action = models.ForeignKey(
        "actions.Action", verbose_name="action", on_delete=models.PROTECT, related_name="dossiers"
    )
    # The action's EPN, kept here so that scoping and the inbox filter without a join.
    structure = models.ForeignKey(
        "organisations.Structure", verbose_name="EPN", on_delete=models.PROTECT, related_name="dossiers"
    )
    titre = models.CharField("titre", max_length=200)
    etat = models.CharField(
        "état", max_length=20, choices=Etat.choices, default=Etat.BROUILLON, db_index=True
    )
    presentation = models.TextField("présentation du projet", blank=True)
    calendrier = models.TextField("calendrier prévisionnel", blank=True)

    # Copied from the action and its diagnostic (see ``services.dossier_refresh_from_action``).
    thematique = models.CharField("thématique", max_length=100, blank=True)
    snapshot_objectifs = models.JSONField("objectifs (copie)", default=list, blank=True)
    snapshot_publics = models.JSONField("publics visés (copie)", default=list, blank=True)
    snapshot_secteurs = models.JSONField("secteurs visés (copie)", default=list, blank=True)
    snapshot_cible = models.JSONField("cible du diagnostic (copie)", default=dict, blank=True)
    snapshot_diagnostic = models.JSONField("extrait du diagnostic (copie)", default=dict, blank=True)
    snapshot_partenariat = models.JSONField("partenariat (copie)", default=dict, blank=True)
    snapshot_at = models.DateTimeField("copié de l’action le", null=True, blank=True)

    depose_le = models.DateTimeField("déposé le", null=True, blank=True, db_index=True)
    decide_le = models.DateTimeField("décidé le", null=True, blank=True)
    motivation = models.TextField("motivation de la décision", blank=True)

    # The chain's length and last hash: what ``verify_chain`` needs to notice deleted final rows.
    journal_count = models.PositiveIntegerField("entrées du journal", default=0)
    journal_head = models.CharField("dernière empreinte du journal", max_length=64, blank=True)
    # HMAC over the dossier's id, count and head (``journal.sign``): the anchor cannot be rewound
    # without the key, which the database does not hold.
    journal_signature = models.CharField("signature de l’ancre du journal", max_length=64, blank=True)

    created_at = models.DateTimeField("créé le", auto_now_add=True)
    updated_at = models.DateTimeField("modifié le", auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="créé par", null=True, blank=True, on_delete=models.SET_NULL
    )

    objects = DossierQuerySet.as_manager()
    scoping = Scoping(epn="structure")

    class Meta:
        verbose_name = "dossier de projet"
        verbose_name_plural = "dossiers de projet"
        ordering = ["-updated_at", "-id"]

    def __str__(self):
        return self.titre

    def get_absolute_url(self):
        return reverse("dossiers:detail", kwargs={"pk": self.pk})

    @property
    def state(self) -> DossierState:
        return DossierState(self.etat)

    @property
    def is_decided(self) -> bool:
        return self.state in DECIDED_STATES

    @property
    def numero(self) -> str:
        return f"D-{self.pk:05d}"

    def open_correction(self):
        return self.corrections.filter(resolue_le__isnull=True).first()

    @property
    def editable_by_epn(self) -> bool:
        """The EPN writes while drafting, and while the collectivité has not started examining it."""
        return self.etat in (Etat.BROUILLON, Etat.EN_CONSTRUCTION)

    @property
    def budget_follows_action(self) -> bool:
        """A brouillon reads the action's budget as it is; a deposited dossier reads its own copy,
        taken at deposit (``services.dossier_transition``): what the collectivité examines and
        decides on does not move when the action's budget changes afterwards."""
        return self.etat == Etat.BROUILLON

    def budget_rows(self) -> tuple[list, list]:
        """The charge and resource rows the pages and PDFs show (the action's, or the copy)."""
        if self.budget_follows_action:
            return list(self.action.charges_budget.all()), list(self.action.ressources_budget.all())
        return list(self.charges.all()), list(self.ressources.all())

    def budget_lines(self) -> tuple[list[budget.ExpenseLine], list[budget.ResourceLine]]:
        return budget_lines_of(*self.budget_rows())

    def budget_summary(self) -> budget.BudgetSummary:
        return budget.summarise(*self.budget_lines())


class LigneCharge(models.Model):
    """A charge of the budget as the dossier was deposited with it (a copy of the action's)."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="charges")
    categorie = models.CharField("compte", max_length=5, choices=CategorieCharge.choices)
    libelle = models.CharField("libellé", max_length=200)
    montant = models.DecimalField("montant (€)", max_digits=12, decimal_places=2)
    ordre = models.PositiveIntegerField(default=0)

    objects = ScopedQuerySet.as_manager()
    scoping = DOSSIER_CHILD_SCOPING

    class Meta:
        verbose_name = "charge"
        verbose_name_plural = "charges"
        ordering = ["ordre", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(montant__gte=0), name="charge_montant_positif")
        ]

    def __str__(self):
        return f"{self.libelle} : {budget.format_euros(self.montant)}"

    @property
    def en_nature(self) -> bool:
        return budget.ExpenseCategory(self.categorie).in_kind


class LigneRessource(models.Model):
    """A resource of the budget as the dossier was deposited with it (a copy of the action's)."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="ressources")
    categorie = models.CharField("compte", max_length=5, choices=CategorieRessource.choices)
    libelle = models.CharField("libellé", max_length=200)
    montant = models.DecimalField("montant (€)", max_digits=12, decimal_places=2)
    contributeur = models.CharField("apporté par", max_length=200)
    type_contributeur = models.CharField(
        "qualité", max_length=20, choices=TypeContributeur.choices, default=TypeContributeur.FINANCEUR
    )
    ordre = models.PositiveIntegerField(default=0)

    objects = ScopedQuerySet.as_manager()
    scoping = DOSSIER_CHILD_SCOPING

    class Meta:
        verbose_name = "ressource"
        verbose_name_plural = "ressources"
        ordering = ["ordre", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(montant__gte=0), name="ressource_montant_positif")
        ]

    def __str__(self):
        return f"{self.libelle} ({self.contributeur}) : {budget.format_euros(self.montant)}"

    @property
    def en_nature(self) -> bool:
        return budget.ResourceCategory(self.categorie).in_kind


class SupportCommunication(models.Model):
    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="supports")
    type = models.CharField("support", max_length=20, choices=TypeSupport.choices)
    description = models.CharField("description", max_length=255, blank=True)
    diffuse_par = models.CharField("diffusé par", max_length=200, blank=True)
    ordre = models.PositiveIntegerField(default=0)

    objects = ScopedQuerySet.as_manager()
    scoping = DOSSIER_CHILD_SCOPING

    class Meta:
        verbose_name = "support de communication"
        verbose_name_plural = "supports de communication"
        ordering = ["ordre", "id"]

    def __str__(self):
        return self.get_type_display()


class PieceJointe(models.Model):
    """An attachment, kept in the database: a dossier's pieces travel with its backup."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="pieces")
    nom = models.CharField("nom du fichier", max_length=200)
    description = models.CharField("description", max_length=255, blank=True)
    type = models.CharField("type", max_length=10)
    content_type = models.CharField("type MIME", max_length=100)
    taille = models.PositiveIntegerField("taille (octets)")
    sha256 = models.CharField("empreinte SHA-256", max_length=64)
    contenu = models.BinaryField("contenu")
    deposee_le = models.DateTimeField("déposée le", auto_now_add=True)
    deposee_par = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="déposée par", null=True, on_delete=models.SET_NULL
    )

    objects = ScopedQuerySet.as_manager()
    scoping = DOSSIER_CHILD_SCOPING

    class Meta:
        verbose_name = "pièce jointe"
        verbose_name_plural = "pièces jointes"
        ordering = ["deposee_le", "id"]

    def __str__(self):
        return self.nom


class Correction(models.Model):
    """A correction request: sends the dossier back to the EPN until it resubmits it."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="corrections")
    motif = models.CharField("motif", max_length=20, choices=MotifCorrection.choices)
    message = models.TextField("message")
    demandee_le = models.DateTimeField("demandée le", default=timezone.now)
    demandee_par = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolue_le = models.DateTimeField("résolue le", null=True, blank=True)
    resolue_par = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ScopedQuerySet.as_manager()
    scoping = DOSSIER_CHILD_SCOPING

    class Meta:
        verbose_name = "demande de correction"
        verbose_name_plural = "demandes de correction"
        ordering = ["demandee_le", "id"]
        constraints = [
            # At most one open correction per dossier: the workflow's guard, in the database too.
            models.UniqueConstraint(
                fields=["dossier"], condition=models.Q(resolue_le__isnull=True), name="une_correction_ouverte"
            )
        ]

    def __str__(self):
        return f"{self.get_motif_display()} : {self.message[:60]}"


class Message(models.Model):
    """The messaging between the EPN and the collectivité, inside the dossier."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="messages")
    auteur = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    auteur_label = models.CharField("auteur", max_length=254)
    cote = models.CharField("côté", max_length=20, choices=Cote.choices)
    texte = models.TextField("message")
    created_at = models.DateTimeField("envoyé le", default=timezone.now)

    objects = ScopedQuerySet.as_manager()
    scoping = DOSSIER_CHILD_SCOPING

    class Meta:
        verbose_name = "message"
        verbose_name_plural = "messages"
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.texte[:80]


class Annotation(models.Model):
    """A private note of the collectivité on a dossier: the EPN never reads it.

    Scoped by the collectivité of its author, not by the EPN, so that the EPN's staff cannot reach
    it through any path; the pages further show it only to référents and élus.
    """

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="annotations")
    collectivite = models.ForeignKey(
        "organisations.Collectivite", on_delete=models.CASCADE, related_name="annotations_dossiers"
    )
    auteur = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    auteur_label = models.CharField("auteur", max_length=254)
    texte = models.TextField("annotation")
    created_at = models.DateTimeField("écrite le", default=timezone.now)

    objects = ScopedQuerySet.as_manager()
    scoping = Scoping(collectivite="collectivite")

    class Meta:
        verbose_name = "annotation privée"
        verbose_name_plural = "annotations privées"
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.texte[:80]


class TraitementQuerySet(ScopedQuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("L’historique d’un dossier ne peut pas être modifié.")

    def delete(self):
        raise AppendOnlyError("L’historique d’un dossier ne peut pas être supprimé.")


class Traitement(models.Model):
    """One state change of a dossier: who, when, what, why. Append-only and chained.

    ``payload()`` lists what the hash protects; the sequence number is not in it (its continuity is
    checked instead, see ``ancrage.core.hashchain``).
    """

    dossier = models.ForeignKey(
        Dossier, on_delete=models.DO_NOTHING, db_constraint=False, related_name="traitements"
    )
    sequence = models.PositiveIntegerField("n°")
    operation = models.CharField("opération", max_length=30, choices=Operation.choices)
    etat_avant = models.CharField("état avant", max_length=20, choices=Etat.choices, blank=True)
    etat_apres = models.CharField("état après", max_length=20, choices=Etat.choices)
    acteur = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    # The person's e-mail and role at the time: an account may be renamed or deleted later.
    acteur_label = models.CharField("auteur", max_length=254, blank=True)
    role = models.CharField("rôle", max_length=20, blank=True)
    at = models.DateTimeField("le", default=timezone.now)
    motivation = models.TextField("motivation", blank=True)
    motif_correction = models.CharField(
        "motif de correction", max_length=20, choices=MotifCorrection.choices, blank=True
    )
    message = models.TextField("message", blank=True)
    previous_hash = models.CharField("empreinte précédente", max_length=64)
    hash = models.CharField("empreinte", max_length=64)

    objects = TraitementQuerySet.as_manager()
    scoping = DOSSIER_CHILD_SCOPING

    class Meta:
        verbose_name = "traitement"
        verbose_name_plural = "historique des dossiers"
        ordering = ["dossier", "sequence"]
        constraints = [
            # Two writers appending at once cannot both take the same place in the chain.
            models.UniqueConstraint(fields=["dossier", "sequence"], name="traitement_sequence_unique")
        ]

    def __str__(self):
        return f"{self.dossier_id} n° {self.sequence} : {self.get_operation_display()}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("L’historique d’un dossier ne peut pas être modifié.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("L’historique d’un dossier ne peut pas être supprimé.")

    def payload(self) -> dict:
        return {
            "dossier": self.dossier_id,
            "operation": self.operation,
            "etat_avant": self.etat_avant,
            "etat_apres": self.etat_apres,
            "acteur": self.acteur_id,
            "acteur_label": self.acteur_label,
            "role": self.role,
            "at": self.at,
            "motivation": self.motivation,
            "motif_correction": self.motif_correction,
            "message": self.message,
        }
