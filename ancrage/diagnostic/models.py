from django.conf import settings
from django.db import models
from django.urls import reverse

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
