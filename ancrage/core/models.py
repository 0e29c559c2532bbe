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


class JobProgress:
    """What an import job's page reads of its state: still running, and how far (percent).

    Mixed into the job models of ``ancrage.core.jobs`` queues, whose ``State`` names the two
    steps' waiting and running states and whose ``progress_done`` / ``progress_total`` count."""

    @property
    def running(self) -> bool:
        return self.state in (
            self.State.ANALYSE_DEMANDEE,
            self.State.ANALYSE,
            self.State.IMPORT_DEMANDE,
            self.State.IMPORT,
        )

    @property
    def percent(self) -> int:
        return int(100 * self.progress_done / self.progress_total) if self.progress_total else 0
