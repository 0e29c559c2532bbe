from django.conf import settings
from django.db import models

from ancrage.organisations.scoping import ScopedQuerySet, Scoping


class PopulationImportQuerySet(ScopedQuerySet):
    def for_structure(self, structure):
        return self.filter(structure=structure)

    def actives(self):
        """The bases the EPN's population is made of (not replaced, not withdrawn)."""
        return self.filter(retiree_le__isnull=True)

    def retirees(self):
        """Bases replaced by a later import or withdrawn: kept, with their figures, to be restored."""
        return self.filter(retiree_le__isnull=False)


class PopulationImport(models.Model):
    """One INSEE IRIS base imported for an EPN's territory (evol-struct-pop, activite-residents…).

    The EPN's population is the union of its active imports: importing a base that carries the same
    tables again replaces the older one (see ``services.population_import``). A replaced or
    withdrawn base is not deleted: it keeps its figures (``PopulationValeurs``) with
    ``retiree_le`` set, so that it can be restored (``services.population_restore``).
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
    # Communes of the file outside the EPN's collectivité, left out: code -> [name, IRIS, population].
    communes_ignorees = models.JSONField(
        "communes hors de la collectivité, ignorées", default=dict, blank=True
    )
    retiree_le = models.DateTimeField("remplacée ou retirée le", null=True, blank=True)
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


class PopulationValeurs(models.Model):
    """The population of one import (``packed.to_bytes``): its IRIS codes in the base's order, their
    total population (NaN when unknown: an activity or diploma base alone), and per INSEE table the
    IRIS × categories matrix with the IRIS present in it.

    One row of compressed arrays per import rather than a row per IRIS × category (1.5 million at
    the national tier): written and read in one statement.
    """

    dataset = models.OneToOneField(PopulationImport, on_delete=models.CASCADE, related_name="population")
    version = models.PositiveSmallIntegerField("version du format")
    donnees = models.BinaryField("population (numpy, compressée)")

    objects = ScopedQuerySet.as_manager()
    scoping = Scoping(epn="dataset__structure")

    class Meta:
        verbose_name = "population d'une base importée"
        verbose_name_plural = "populations des bases importées"

    def __str__(self):
        return f"{self.dataset_id}: population (format {self.version})"


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


class PassageIris(models.Model):
    """The EPN's table de passage between IRIS geographies: IRIS code of its attendance files ->
    IRIS of its population (``insee.read_passage_iris``), read by the diagnostic (one per EPN)."""

    structure = models.OneToOneField(
        "organisations.Structure", verbose_name="EPN", on_delete=models.CASCADE, related_name="passage_iris"
    )
    fichier = models.CharField("fichier", max_length=255)
    correspondances = models.JSONField("correspondances", default=dict)
    created_at = models.DateTimeField("importée le", auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="importée par",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )

    objects = ScopedQuerySet.as_manager()
    scoping = Scoping(epn="structure")

    class Meta:
        verbose_name = "table de passage des IRIS"
        verbose_name_plural = "tables de passage des IRIS"

    def __str__(self):
        return f"{self.fichier} ({len(self.correspondances)} codes)"
