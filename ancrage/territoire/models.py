from django.conf import settings
from django.db import models

from ancrage.organisations.scoping import ScopedQuerySet, Scoping


class PopulationImportQuerySet(ScopedQuerySet):
    def for_structure(self, structure):
        return self.filter(structure=structure)


class PopulationImport(models.Model):
    """One INSEE IRIS base imported for an EPN's territory (evol-struct-pop, activite-residents…).

    The EPN's population is the union of its imports: importing a base that carries the same tables
    again replaces the older one (see ``services.population_import``).
    """

    structure = models.ForeignKey(
        "organisations.Structure", verbose_name="EPN", on_delete=models.CASCADE, related_name="populations"
    )
    fichier = models.CharField("fichier", max_length=255)
    sha256 = models.CharField("empreinte SHA-256", max_length=64)
    millesime = models.PositiveSmallIntegerField("millésime", null=True, blank=True)
    tables = models.JSONField("tableaux lus", default=list)  # keys of insee.Repartition
    total_derive = models.BooleanField("population totale déduite des tranches d'âge", default=True)
    nb_secteurs = models.PositiveIntegerField("nombre d'IRIS", default=0)
    created_at = models.DateTimeField("importé le", auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="importé par", null=True, blank=True, on_delete=models.SET_NULL
    )

    objects = PopulationImportQuerySet.as_manager()
    scoping = Scoping(epn="structure")

    class Meta:
        verbose_name = "base de population importée"
        verbose_name_plural = "bases de population importées"
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.fichier} ({self.millesime or 'millésime inconnu'})"


class PopulationValeur(models.Model):
    """Population of one IRIS in one category of one INSEE table (``table == "total"``: P_POP).

    Long format rather than one column per category: INSEE's tables and vintages vary, and the
    diagnostic reads a whole import at once (``values_list`` on the import's index).
    """

    dataset = models.ForeignKey(PopulationImport, on_delete=models.CASCADE, related_name="valeurs")
    code_secteur = models.CharField("code IRIS", max_length=9)
    table = models.CharField("tableau", max_length=20)
    categorie = models.CharField("catégorie", max_length=30, blank=True)
    valeur = models.FloatField("population", null=True)  # NULL: total unknown (activity base alone)

    objects = ScopedQuerySet.as_manager()
    scoping = Scoping(epn="dataset__structure")

    class Meta:
        verbose_name = "valeur de population"
        verbose_name_plural = "valeurs de population"
        indexes = [models.Index(fields=["dataset", "table"], name="popvaleur_dataset_table")]

    def __str__(self):
        return f"{self.code_secteur} {self.table} {self.categorie} = {self.valeur:g}"


class SecteurQuerySet(ScopedQuerySet):
    def for_structure(self, structure):
        return self.filter(structure=structure)

    def qpv(self):
        return self.filter(qpv=True)


class Secteur(models.Model):
    """An IRIS (or a commune without IRIS division) of an EPN's territory: its name, QPV flag, outline."""

    class QpvSource(models.TextChoices):
        AUCUNE = "", "—"
        MANUEL = "manuel", "Saisi à la main"
        LISTE = "liste", "Liste d'IRIS"

    structure = models.ForeignKey(
        "organisations.Structure", verbose_name="EPN", on_delete=models.CASCADE, related_name="secteurs"
    )
    code = models.CharField("code IRIS", max_length=9)
    nom = models.CharField("nom", max_length=200)
    qpv = models.BooleanField("quartier prioritaire (QPV)", default=False)
    qpv_source = models.CharField(
        "origine du repère QPV", max_length=10, blank=True, choices=QpvSource.choices
    )
    # GeoJSON geometry (Polygon or MultiPolygon, WGS 84 lon/lat), for the diagnostic's map.
    contour = models.JSONField("contour", null=True, blank=True)

    objects = SecteurQuerySet.as_manager()
    scoping = Scoping(epn="structure")

    class Meta:
        verbose_name = "secteur"
        verbose_name_plural = "secteurs"
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["structure", "code"], name="secteur_unique_code")]

    def __str__(self):
        return f"{self.nom} ({self.code})"


class Quartier(models.Model):
    """A named group of IRIS defined by the EPN (e.g. « Le Blosne »)."""

    structure = models.ForeignKey(
        "organisations.Structure", verbose_name="EPN", on_delete=models.CASCADE, related_name="quartiers"
    )
    nom = models.CharField("nom", max_length=120)
    iris = models.JSONField("codes IRIS", default=list)

    objects = ScopedQuerySet.as_manager()
    scoping = Scoping(epn="structure")

    class Meta:
        verbose_name = "quartier"
        verbose_name_plural = "quartiers"
        ordering = ["nom"]
        constraints = [models.UniqueConstraint(fields=["structure", "nom"], name="quartier_unique_nom")]

    def __str__(self):
        return self.nom
