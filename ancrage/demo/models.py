"""The demo's e-mails, kept for the page « Courriels de la démonstration » (``/demo/courriels/``).

Written only by ``ancrage.demo.mail.ConsoleAndStoreBackend``, the demo's e-mail backend (dev
settings); production refuses that backend (prod.py), so these tables stay empty there.
"""

from django.db import models
from django.utils import timezone


class CourrielDemo(models.Model):
    envoye_le = models.DateTimeField("envoyé le", default=timezone.now, db_index=True)
    expediteur = models.CharField("expéditeur", max_length=254, blank=True)
    destinataires = models.TextField("destinataires")  # one address a line
    sujet = models.CharField("objet", max_length=255)
    corps = models.TextField("message")

    class Meta:
        verbose_name = "courriel de la démonstration"
        verbose_name_plural = "courriels de la démonstration"
        ordering = ["-envoye_le", "-id"]

    def __str__(self):
        return self.sujet

    @property
    def destinataires_liste(self) -> list[str]:
        return [line for line in self.destinataires.splitlines() if line]


class PieceJointeDemo(models.Model):
    courriel = models.ForeignKey(CourrielDemo, on_delete=models.CASCADE, related_name="pieces")
    nom = models.CharField("nom", max_length=255)
    type_mime = models.CharField("type", max_length=100, default="application/octet-stream")
    contenu = models.BinaryField("contenu")
    taille = models.PositiveIntegerField("taille (octets)", default=0)

    class Meta:
        verbose_name = "pièce jointe d’un courriel de la démonstration"
        verbose_name_plural = "pièces jointes des courriels de la démonstration"
        ordering = ["courriel", "id"]

    def __str__(self):
        return self.nom
