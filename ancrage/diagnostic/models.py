from django.conf import settings
from django.db import models
from django.urls import reverse

from ancrage.core.models import JobProgress
from ancrage.organisations.scoping import ScopedQuerySet, Scoping


class DiagnosticQuerySet(ScopedQuerySet):
    def for_structure(self, structure):
        return self.filter(structure=structure)

    def latest_first(self):
        return self.order_by("-created_at", "-id")


class Diagnostic(models.Model):
    """A saved territorial diagnostic of one EPN: its inputs' description and its full result.

    ``resultat`` holds the JSON the diagnostic engine returns (``secteurs``, ``categories``,
    ``cibles``, ``unite``), frozen when it was computed, so that a later diagnostic can be
    compared with it and an action keeps the target it was built from.
    """

    structure = models.ForeignKey(
        "organisations.Structure", verbose_name="EPN", on_delete=models.CASCADE, related_name="diagnostics"
    )
    titre = models.CharField("titre", max_length=200)
    niveau = models.CharField("niveau des secteurs", max_length=20, default="iris")
    unite = models.CharField("unité", max_length=20, default="personnes")
    periode_debut = models.DateField("début de la période", null=True, blank=True)
    periode_fin = models.DateField("fin de la période", null=True, blank=True)
    parametres = models.JSONField("paramètres", default=dict, blank=True)
    resultat = models.JSONField("résultat", default=dict, blank=True)
    created_at = models.DateTimeField("calculé le", auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="calculé par", null=True, blank=True, on_delete=models.SET_NULL
    )

    objects = DiagnosticQuerySet.as_manager()
    scoping = Scoping(epn="structure")

    class Meta:
        verbose_name = "diagnostic"
        verbose_name_plural = "diagnostics"
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.titre

    def get_absolute_url(self):
        return reverse("diagnostic:detail", kwargs={"pk": self.pk})

    @property
    def cibles(self) -> list[dict]:
        return self.resultat.get("cibles", [])

    def cible(self, rang: int) -> dict | None:
        return next((c for c in self.cibles if c.get("rang") == rang), None)

    @property
    def secteurs_sous_frequentes(self) -> list[str]:
        return [s["code"] for s in self.resultat.get("secteurs", []) if s.get("sous_frequente")]


class PrioriteQuerySet(ScopedQuerySet):
    def for_structure(self, structure):
        return self.filter(structure=structure)

    def for_collectivite(self, collectivite):
        return self.filter(collectivite=collectivite)


class Priorite(models.Model):
    """A priority theme: what a diagnostic's targets are crossed with.

    Either the collectivité's (``collectivite`` set: its référent records it once, and every EPN
    attached to it uses it), or an EPN's own (``structure`` set), which the EPN adds beside the
    collectivité's and which never replaces one of them (a theme of the collectivité wins).
    ``categories`` holds ``[dimension, categorie]`` pairs; ``secteurs`` sector codes; ``qpv`` targets
    every sector flagged QPV. None of the three: the theme concerns everyone.
    """

    structure = models.ForeignKey(
        "organisations.Structure",
        verbose_name="EPN",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="priorites",
    )
    collectivite = models.ForeignKey(
        "organisations.Collectivite",
        verbose_name="collectivité",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="priorites",
    )
    theme = models.CharField("thème", max_length=120)
    poids = models.FloatField("poids", default=1.0)
    categories = models.JSONField("catégories visées", default=list, blank=True)
    secteurs = models.JSONField("secteurs visés", default=list, blank=True)
    qpv = models.BooleanField("vise les quartiers prioritaires (QPV)", default=False)
    ordre = models.PositiveSmallIntegerField("ordre", default=0)

    objects = PrioriteQuerySet.as_manager()
    # An EPN's team reads its own priorities and those of the collectivité it is attached to.
    scoping = Scoping(epn=("structure", "collectivite__epns"), collectivite="collectivite")

    class Meta:
        verbose_name = "priorité"
        verbose_name_plural = "priorités"
        ordering = ["ordre", "id"]
        constraints = [
            models.UniqueConstraint(fields=["structure", "theme"], name="priorite_unique_theme"),
            models.UniqueConstraint(
                fields=["collectivite", "theme"],
                condition=models.Q(collectivite__isnull=False),
                name="priorite_unique_theme_collectivite",
            ),
            models.CheckConstraint(
                condition=models.Q(structure__isnull=False, collectivite__isnull=True)
                | models.Q(structure__isnull=True, collectivite__isnull=False),
                name="priorite_de_epn_ou_de_collectivite",
            ),
        ]

    def __str__(self):
        return self.theme


class ImportJob(JobProgress, models.Model):
    """A file import run in the background: analysed (dry run), shown, then applied on confirmation.

    The file's bytes stay in its :class:`ImportJobPart` rows until the import is applied or
    refused, so that the dry run and the import read the very same file (checked by its SHA-256).
    """

    class Kind(models.TextChoices):
        POPULATION = "population", "Base de population INSEE"
        FREQUENTATION = "frequentation", "Fréquentation"
        PRIORITES = "priorites", "Priorités propres à l’EPN"
        CONTOURS = "contours", "Contours des secteurs (IGN ou GeoJSON)"
        QUARTIERS = "quartiers", "Quartiers (IRIS par quartier)"

    class State(models.TextChoices):
        ANALYSE_DEMANDEE = "analyse_demandee", "En attente d'analyse"
        ANALYSE = "analyse", "Analyse en cours"
        PRET = "pret", "Prêt à importer"
        REFUSE = "refuse", "Refusé"
        IMPORT_DEMANDE = "import_demande", "En attente d'import"
        IMPORT = "import", "Import en cours"
        TERMINE = "termine", "Importé"
        ANNULE = "annule", "Annulé"

    structure = models.ForeignKey(
        "organisations.Structure", verbose_name="EPN", on_delete=models.CASCADE, related_name="import_jobs"
    )
    kind = models.CharField("nature", max_length=20, choices=Kind.choices)
    options = models.JSONField("options", default=dict, blank=True)
    fichier = models.CharField("fichier", max_length=255)
    sha256 = models.CharField("empreinte SHA-256", max_length=64)
    state = models.CharField("état", max_length=20, choices=State.choices, default=State.ANALYSE_DEMANDEE)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    apercu = models.JSONField("aperçu", default=dict, blank=True)
    erreurs = models.JSONField("erreurs", default=list, blank=True)
    resultat_id = models.PositiveBigIntegerField("import créé", null=True, blank=True)
    # Bumped by each claim: a worker whose attempt was superseded (requeued after a timeout) writes nothing.
    attempt = models.PositiveIntegerField("tentative", default=0)
    created_at = models.DateTimeField("déposé le", auto_now_add=True)
    # The heartbeat: set by each claim and progress report (see diagnostic/jobs.py, stale jobs).
    updated_at = models.DateTimeField("mis à jour le", auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="déposé par", null=True, blank=True, on_delete=models.SET_NULL
    )

    objects = ScopedQuerySet.as_manager()
    scoping = Scoping(epn="structure")

    class Meta:
        verbose_name = "import de fichier"
        verbose_name_plural = "imports de fichiers"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state"], name="importjob_state")]

    def __str__(self):
        return f"{self.get_kind_display()} : {self.fichier}"

    def get_absolute_url(self):
        return reverse("diagnostic:job", kwargs={"pk": self.pk})


class ImportJobPart(models.Model):
    """A slice of an import job's file (8 MiB at most, ``jobs.FILE_SLICE``), in order of ``rang``.

    A file is kept as slices rather than one value: PostgreSQL refuses a value sent in a message
    of more than 1 GB (a national usagers file is 561 MiB, twice that in hex), and the worker
    copies the file to disk slice by slice, never holding it whole.
    """

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="parts")
    rang = models.PositiveIntegerField("rang")
    donnees = models.BinaryField("données")

    objects = ScopedQuerySet.as_manager()
    scoping = Scoping(epn="job__structure")  # the job's: only the worker reads a file, in fact

    class Meta:
        verbose_name = "partie de fichier importé"
        verbose_name_plural = "parties de fichiers importés"
        ordering = ["job", "rang"]
        constraints = [models.UniqueConstraint(fields=["job", "rang"], name="importjobpart_unique_rang")]

    def __str__(self):
        return f"{self.job} ({self.rang})"
