"""Abstract models shared by several apps (``ancrage.core`` is not an app: nothing concrete here)."""

from django.conf import settings
from django.db import models


class Comment(models.Model):
    """A comment left on a shared record (an action, a convention): who, what, when."""

    auteur = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="auteur",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    texte = models.TextField("commentaire")
    created_at = models.DateTimeField("écrit le", auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.texte[:80]
