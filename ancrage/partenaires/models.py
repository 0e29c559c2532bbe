from django.conf import settings
from django.db import models
from django.urls import reverse

from ancrage.core.models import JobProgress
from ancrage.organisations.scoping import ScopedQuerySet, Scoping
from ancrage.partenaires import enums_standard, standard

# Multi-valued columns of the standard, kept as JSON lists of canonical values under their own
# name; typologie is kept as ``typologies``.
STANDARD_LIST_FIELDS = tuple(name for name in standard.MULTI_VALUED_COLUMNS if name != "typologie")
STANDARD_TEXT_FIELDS = (
    "complement_adresse",
    "horaires",
    "presentation_resume",
    "presentation_detail",
    "source",
    "structure_parente",
    "fiche_acces_libre",
    "prise_rdv",
)


class PartenaireQuerySet(ScopedQuerySet):
    def of_epn(self, epn):
        return self.filter(structure__referencee_par=epn)

    def with_structure(self):
        return self.select_related("structure", "structure__referencee_par")


class Partenaire(models.Model):
    """The directory entry of a partner organisation, in an EPN's directory.

    One-to-one with the ``organisations.Structure`` (kind partenaire) that actions, conventions
    and partner accounts point at; both are created together by ``partenaire_create``. The fields
    of the national standard are all kept, so that an import then an export loses nothing the
    standard can carry. The entry is the EPN's own knowledge (notes included): the partner's
    account does not see it.
    """

    structure = models.OneToOneField(
        "organisations.Structure",
        verbose_name="organisation",
        on_delete=models.CASCADE,
        related_name="fiche_partenaire",
    )
    identifiant = models.TextField("identifiant dans le standard", blank=True)
    typologies = models.JSONField("typologies", default=list, blank=True)
    siret = models.CharField("SIRET", max_length=14, blank=True, db_index=True)
    rna = models.CharField("RNA", max_length=10, blank=True)
    # A RIDET (Nouvelle-Calédonie) or another pivot with no check key we can verify.
    autre_identifiant = models.TextField("autre identifiant (RIDET…)", blank=True)
    adresse = models.TextField("adresse", blank=True)
    complement_adresse = models.TextField("complément d’adresse", blank=True)
    code_postal = models.CharField("code postal", max_length=5, blank=True)
    commune = models.TextField("commune", blank=True)
    code_insee = models.CharField("code INSEE", max_length=5, blank=True)
    latitude = models.FloatField("latitude", null=True, blank=True)
    longitude = models.FloatField("longitude", null=True, blank=True)
    telephone = models.CharField("téléphone", max_length=20, blank=True)
    courriels = models.JSONField("courriels", default=list, blank=True)
    site_web = models.JSONField("sites web", default=list, blank=True)
    horaires = models.TextField("horaires (OSM)", blank=True)
    presentation_resume = models.CharField("présentation (résumé)", max_length=280, blank=True)
    presentation_detail = models.TextField("présentation détaillée", blank=True)
    source = models.TextField("source", blank=True)
    itinerance = models.JSONField("itinérance", default=list, blank=True)
    structure_parente = models.TextField("structure parente", blank=True)
    date_maj = models.DateField("date de mise à jour", null=True, blank=True)
    services = models.JSONField("services (standard)", default=list, blank=True)
    publics_specifiquement_adresses = models.JSONField(
        "publics spécifiquement adressés", default=list, blank=True
    )
    prise_en_charge_specifique = models.JSONField("prise en charge spécifique", default=list, blank=True)
    frais_a_charge = models.JSONField("frais à charge", default=list, blank=True)
    dispositif_programmes_nationaux = models.JSONField(
        "dispositifs et programmes nationaux", default=list, blank=True
    )
    formations_labels = models.JSONField("formations et labels", default=list, blank=True)
    autres_formations_labels = models.JSONField("autres formations et labels", default=list, blank=True)
    modalites_acces = models.JSONField("modalités d’accès", default=list, blank=True)
    modalites_accompagnement = models.JSONField("modalités d’accompagnement", default=list, blank=True)
    fiche_acces_libre = models.TextField("fiche Acceslibre", blank=True)
    prise_rdv = models.TextField("prise de rendez-vous", blank=True)
    # What Ancrage adds to the standard, for the recommendation and the task matrix.
    familles = models.JSONField("compétences (familles thématiques)", default=list, blank=True)
    publics_touches = models.JSONField("publics touchés", default=list, blank=True)
    secteurs = models.JSONField("secteurs couverts", default=list, blank=True)
    savoir_faire = models.JSONField("savoir-faire pour le partenariat", default=list, blank=True)
    notes = models.TextField("notes", blank=True)
    # What an imported file held that the standard 1.0.2 cannot carry, kept for the reader.
    hors_standard = models.JSONField("valeurs hors standard", default=list, blank=True)
    created_at = models.DateTimeField("créé le", auto_now_add=True)
    updated_at = models.DateTimeField("modifié le", auto_now=True)

    objects = PartenaireQuerySet.as_manager()
    scoping = Scoping(epn="structure__referencee_par")

    class Meta:
        verbose_name = "fiche partenaire"
        verbose_name_plural = "annuaire des partenaires"
        ordering = ["structure__nom"]

    def __str__(self):
        return self.structure.nom

    def get_absolute_url(self):
        return reverse("partenaires:detail", kwargs={"pk": self.pk})

    @property
    def nom(self) -> str:
        return self.structure.nom

    @property
    def epn(self):
        return self.structure.referencee_par

    @property
    def typologie_labels(self) -> list[str]:
        return [enums_standard.typology_label(code) for code in self.typologies]

    @property
    def pivot(self) -> str:
        return self.siret or self.rna or self.autre_identifiant

    @property
    def thematiques(self) -> frozenset[str]:
        return frozenset(self.familles) | frozenset(self.services)


class Contact(models.Model):
    """A person at a partner organisation. An account for them is a Membership (role partenaire)."""

    partenaire = models.ForeignKey(Partenaire, on_delete=models.CASCADE, related_name="contacts")
    nom = models.CharField("nom", max_length=200)
    fonction = models.CharField("fonction", max_length=200, blank=True)
    courriel = models.EmailField("courriel", blank=True)
    telephone = models.CharField("téléphone", max_length=30, blank=True)
    notes = models.TextField("notes", blank=True)
    created_at = models.DateTimeField("créé le", auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    scoping = Scoping(epn="partenaire__structure__referencee_par")

    class Meta:
        verbose_name = "contact"
        verbose_name_plural = "contacts"
        ordering = ["nom", "id"]

    def __str__(self):
        return self.nom


class ImportAnnuaire(JobProgress, models.Model):
    """A directory import run in the background (a job of ``ancrage.core.jobs``): analysed (dry
    run), shown, then applied on confirmation.

    Keeping the file here (not in the session) lets the analysis and the application read the
    very same bytes, and leaves a record of what was imported. ``resultat`` holds the analysis
    (what will be added, updated, merged, what is doubtful or refused), then what was done;
    ``decisions`` the user's choice for each doubtful place (by its ``id`` in the file).
    """

    class State(models.TextChoices):
        ANALYSE_DEMANDEE = "analyse_demandee", "En attente d’analyse"
        ANALYSE = "analyse", "Analyse en cours"
        PRET = "pret", "Prêt à importer"
        REFUSE = "refuse", "Refusé"
        IMPORT_DEMANDE = "import_demande", "En attente d’import"
        IMPORT = "import", "Import en cours"
        TERMINE = "termine", "Importé"
        ANNULE = "annule", "Annulé"

    structure = models.ForeignKey(
        "organisations.Structure",
        verbose_name="EPN",
        on_delete=models.CASCADE,
        related_name="imports_annuaire",
    )
    nom_fichier = models.CharField("fichier", max_length=255)
    format = models.CharField("format", max_length=20)
    contenu = models.BinaryField("contenu")
    state = models.CharField("état", max_length=20, choices=State.choices, default=State.ANALYSE_DEMANDEE)
    resultat = models.JSONField("résultat", default=dict, blank=True)
    decisions = models.JSONField("décisions sur les lieux douteux", default=dict, blank=True)
    erreurs = models.JSONField("erreurs", default=list, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    # Bumped by each claim: a worker whose attempt was superseded (requeued after a timeout) writes nothing.
    attempt = models.PositiveIntegerField("tentative", default=0)
    created_at = models.DateTimeField("déposé le", auto_now_add=True)
    # The heartbeat: set by each claim and progress report (see partenaires/jobs.py).
    updated_at = models.DateTimeField("mis à jour le", auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="déposé par",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = ScopedQuerySet.as_manager()
    scoping = Scoping(epn="structure")

    class Meta:
        verbose_name = "import d’annuaire"
        verbose_name_plural = "imports d’annuaire"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state"], name="importannuaire_state")]

    def __str__(self):
        return self.nom_fichier

    def get_absolute_url(self):
        return reverse("partenaires:import_preview", kwargs={"pk": self.pk})
