from django.conf import settings
from django.db import models

from ancrage.audit.enums import AuditAction, AuditOrigin


class AppendOnlyError(Exception):
    """The audit trail is never changed nor deleted, only appended to."""


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Le journal d’audit ne peut pas être modifié.")

    def delete(self):
        raise AppendOnlyError("Le journal d’audit ne peut pas être supprimé.")

    def for_structure(self, structure):
        return self.filter(structure=structure)


class AuditEntry(models.Model):
    """One write that matters: who, when, what, and from where.

    The table is append-only: the model refuses updates and deletes, and database triggers
    (see migration 0002) refuse them from raw SQL too. References to users and structures are
    kept without database constraints, so that deleting them never rewrites history.
    """

    at = models.DateTimeField("date", auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="auteur",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    # The actor's e-mail at the time: the account may be renamed or deleted later.
    actor_label = models.CharField("auteur (libellé)", max_length=254, blank=True)
    action = models.CharField("action", max_length=20, choices=AuditAction.choices)
    object_type = models.CharField("type d’objet", max_length=100, blank=True)
    object_id = models.CharField("identifiant de l’objet", max_length=64, blank=True)
    object_repr = models.CharField("objet", max_length=255, blank=True)
    # The EPN the entry concerns, so that a structure's journal can be scoped like its records.
    structure = models.ForeignKey(
        "organisations.Structure",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    changes = models.JSONField("détail", default=dict, blank=True)
    ip_address = models.GenericIPAddressField("adresse IP", null=True, blank=True)
    origin = models.CharField("origine", max_length=10, choices=AuditOrigin.choices, default=AuditOrigin.CLI)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = "entrée du journal d’audit"
        verbose_name_plural = "journal d’audit"
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self):
        return f"{self.at:%d/%m/%Y %H:%M} {self.actor_label or 'système'} : {self.get_action_display()}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("Le journal d’audit ne peut pas être modifié.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Le journal d’audit ne peut pas être supprimé.")
