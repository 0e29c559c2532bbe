from django.conf import settings
from django.db import models

from ancrage.core.indexes import BlockRangeIndex
from ancrage.organisations.scoping import ScopedQuerySet, Scoping


class Source(models.TextChoices):
    ANCRAGE = "ancrage", "Fichier des usagers (format Ancrage)"
    COOP = "coop", "Export de La Coop de la médiation numérique"
    AGREGE = "agrege", "Comptages agrégés"


class Unite(models.TextChoices):
    PERSONNES = "personnes", "personnes"
    ACCOMPAGNEMENTS = "accompagnements", "accompagnements"


class FrequentationImportQuerySet(ScopedQuerySet):
    def for_structure(self, structure):
        return self.filter(structure=structure)


class FrequentationImport(models.Model):
    """One attendance file imported by an EPN: its usagers, accompaniments or aggregated counts."""

    structure = models.ForeignKey(
        "organisations.Structure",
        verbose_name="EPN",
        on_delete=models.CASCADE,
        related_name="frequentations",
    )
    source = models.CharField("source", max_length=10, choices=Source.choices)
    unite = models.CharField("unité", max_length=20, choices=Unite.choices)
    niveau = models.CharField("niveau des secteurs", max_length=20, blank=True)
    fichier = models.CharField("fichier", max_length=255)
    sha256 = models.CharField("empreinte SHA-256", max_length=64)
    nb_enregistrements = models.PositiveIntegerField("nombre d'enregistrements", default=0)
    periode_debut = models.DateField("première date", null=True, blank=True)
    periode_fin = models.DateField("dernière date", null=True, blank=True)
    est_demo = models.BooleanField("données de démonstration", default=False)
    created_at = models.DateTimeField("importé le", auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="importé par", null=True, blank=True, on_delete=models.SET_NULL
    )

    objects = FrequentationImportQuerySet.as_manager()
    scoping = Scoping(epn="structure")

    class Meta:
        verbose_name = "fréquentation importée"
        verbose_name_plural = "fréquentations importées"
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.fichier} ({self.get_source_display()})"


USAGER_PK_LIGNES = 1 << 32  # an import's usagers have keys from dataset id × 2**32, plus their line


def usager_pk(dataset_id: int, ligne: int) -> int:
    """The key of an import's usager, read off its import and line: see ``Usager.id``."""
    return dataset_id * USAGER_PK_LIGNES + ligne


class UsagerQuerySet(ScopedQuerySet):
    def of_import(self, dataset):
        """The usagers of one import, found by a range of the primary key (see ``Usager.id``)."""
        dataset_id = getattr(dataset, "pk", dataset)
        return self.filter(pk__gte=usager_pk(dataset_id, 0), pk__lt=usager_pk(dataset_id + 1, 0))


class Usager(models.Model):
    """One pseudonymous record of an individual attendance file.

    For the usagers file it is a person; for La Coop's export it is one accompaniment (the import's
    ``unite`` says which), with ``premiere_visite`` holding the date of the activity.
    Kept for the export the EPN may need; the diagnostic reads the ``Profils`` aggregates instead.
    """

    # Written by COPY, ten million rows per import at national scale, so each row costs
    # the database as little as can be:
    # * its key is its import's id × 2**32 plus its line (``usager_pk``), computed by the import,
    #   not drawn from a sequence row by row; the primary key's B-tree, which the suivi's link to
    #   an usager needs anyway, is then also the index of an import's rows in line order
    #   (``UsagerQuerySet.of_import``): there is no second B-tree to fill;
    # * ``dataset`` has no per-row foreign-key trigger in the database (Django's delete still
    #   cascades: the import service is the only writer, in the transaction that creates the
    #   import) and only a BRIN index, for that cascade.
    id = models.BigIntegerField("clé (import × 2³² + ligne)", primary_key=True, editable=False)
    dataset = models.ForeignKey(
        FrequentationImport,
        on_delete=models.CASCADE,
        related_name="usagers",
        db_constraint=False,
        db_index=False,
    )
    ligne = models.PositiveIntegerField("ligne du fichier")
    identifiant = models.CharField("identifiant", max_length=100, blank=True)
    annee_naissance = models.PositiveSmallIntegerField("année de naissance", null=True, blank=True)
    tranche_age = models.CharField("tranche d'âge", max_length=10, blank=True)
    sexe = models.CharField("sexe", max_length=1, blank=True)
    csp = models.CharField("CSP", max_length=3, blank=True)
    situation = models.CharField("situation", max_length=20, blank=True)
    code_iris = models.CharField("code IRIS", max_length=9, blank=True)
    code_commune = models.CharField("code commune", max_length=5, blank=True)
    premiere_visite = models.DateField("première visite", null=True, blank=True)
    oriente_par = models.CharField("orienté par", max_length=200, blank=True)

    objects = UsagerQuerySet.as_manager()
    scoping = Scoping(epn="dataset__structure")

    class Meta:
        verbose_name = "usager"
        verbose_name_plural = "usagers"
        indexes = [BlockRangeIndex(fields=["dataset"], name="usager_dataset_blocs")]

    def __str__(self):
        return self.identifiant or f"ligne {self.ligne}"

    def save(self, *args, **kwargs):
        if self.id is None:
            self.id = usager_pk(self.dataset_id, self.ligne)
        super().save(*args, **kwargs)


class Profils(models.Model):
    """The joint profiles of one import (``aggregates.Profils``): how many records share each
    location × birth year × visit year × band × sexe × csp × situation.

    Maintained at import, rebuilt from the remaining records after an erasure or a purge. The
    diagnostic's counts for any reference year (``ComptagesDiagnostic``) are derived from them, and
    the result is the very same as from the records (tested). There are almost as many profiles as
    usagers, so they are one row of compressed arrays per import, not a row each.
    """

    dataset = models.OneToOneField(FrequentationImport, on_delete=models.CASCADE, related_name="profils")
    version = models.PositiveSmallIntegerField("version du format")
    nb_profils = models.PositiveIntegerField("nombre de profils")
    donnees = models.BinaryField("profils (numpy, compressés)")

    objects = ScopedQuerySet.as_manager()
    scoping = Scoping(epn="dataset__structure")

    class Meta:
        verbose_name = "profils agrégés"
        verbose_name_plural = "profils agrégés"

    def __str__(self):
        return f"{self.dataset_id}: {self.nb_profils} profils"


class CompteAgrege(models.Model):
    """An aggregated count ``code_secteur;dimension;categorie;usagers`` (EPNs that kept only totals)."""

    dataset = models.ForeignKey(FrequentationImport, on_delete=models.CASCADE, related_name="comptes")
    ligne = models.PositiveIntegerField("ligne du fichier")
    code_secteur = models.CharField("secteur", max_length=100)
    dimension = models.CharField("dimension", max_length=20)
    categorie = models.CharField("catégorie", max_length=30, blank=True)
    usagers = models.PositiveIntegerField("usagers")

    objects = ScopedQuerySet.as_manager()
    scoping = Scoping(epn="dataset__structure")

    class Meta:
        verbose_name = "comptage agrégé"
        verbose_name_plural = "comptages agrégés"
        indexes = [models.Index(fields=["dataset", "dimension"], name="compte_dataset_dimension")]

    def __str__(self):
        return f"{self.code_secteur} {self.dimension} {self.categorie} = {self.usagers}"


class ComptagesDiagnostic(models.Model):
    """The counts the diagnostic engine reads (``aggregates.Comptages``) for one import and one
    reference year: derived from the profiles at the first diagnostic, then read as a few arrays
    instead of every profile. Deleted with the profiles when they are rebuilt."""

    dataset = models.ForeignKey(FrequentationImport, on_delete=models.CASCADE, related_name="comptages")
    annee_reference = models.PositiveSmallIntegerField("année de référence")
    version = models.PositiveSmallIntegerField("version du format")
    donnees = models.BinaryField("comptages (numpy, compressés)")
    created_at = models.DateTimeField("calculés le", auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    scoping = Scoping(epn="dataset__structure")

    class Meta:
        verbose_name = "comptages du diagnostic"
        verbose_name_plural = "comptages du diagnostic"
        constraints = [
            models.UniqueConstraint(fields=["dataset", "annee_reference"], name="comptages_dataset_annee")
        ]

    def __str__(self):
        return f"{self.dataset_id} × {self.annee_reference}"
