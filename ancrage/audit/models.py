import ipaddress

from django.conf import settings
from django.db import models
from django.utils import timezone

from ancrage.audit.enums import AuditAction, AuditOrigin
from ancrage.core.wording import nombre


class AppendOnlyError(Exception):
    """The audit trail is never changed nor deleted, only appended to."""


def payload_of(entry) -> dict:
    """What the chain protects: every column but the id, the sequence and the hashes.

    A function of the row's attributes, so that migrations (historical models) chain the same way.
    """
    return {
        "at": entry.at,
        "actor": entry.actor_id,
        "actor_label": entry.actor_label,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "object_repr": entry.object_repr,
        "structure": entry.structure_id,
        "changes": entry.changes,
        # PostgreSQL's inet and SQLite's text may spell an address differently.
        "ip_address": str(ipaddress.ip_address(entry.ip_address)) if entry.ip_address else None,
        "origin": entry.origin,
    }


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

    The entries form one chain, like a dossier's history (``ancrage.core.hashchain``): each keeps
    the HMAC of the one before it, over ``payload()``; ``AuditTrailAnchor`` holds the chain's
    signed length and head (``ancrage.audit.chain``).
    """

    # Set by ``audit_record`` before the hash is computed (not auto_now_add: the hash covers it).
    at = models.DateTimeField("date", default=timezone.now, db_index=True)
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
    sequence = models.PositiveBigIntegerField("n° dans la chaîne", unique=True)
    previous_hash = models.CharField("empreinte précédente", max_length=64)
    hash = models.CharField("empreinte", max_length=64)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = "entrée du journal d’audit"
        verbose_name_plural = "journal d’audit"
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self):
        return f"{self.at:%d/%m/%Y %H:%M} {self.actor_label or 'système'} : {self.get_action_display()}"

    def payload(self) -> dict:
        return payload_of(self)

    @property
    def changed_fields(self) -> list[str]:
        """The French names of the fields the entry changed (``audit.labels``)."""
        from ancrage.audit.labels import field_labels

        return (
            field_labels(self.object_type, (self.changes or {}).keys())
            if isinstance(self.changes, dict)
            else []
        )

    @property
    def etat_change(self) -> str:
        """« Brouillon → En validation » for an entry whose changes hold ``etat: [before, after]``."""
        from ancrage.audit.labels import transition_label

        etat = self.changes.get("etat") if isinstance(self.changes, dict) else None
        if not isinstance(etat, list | tuple):
            return ""
        return transition_label(self.object_type, "etat", etat)

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("Le journal d’audit ne peut pas être modifié.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Le journal d’audit ne peut pas être supprimé.")


class AuditTrailAnchor(models.Model):
    """The audit chain's anchor: its length, last hash and their HMAC. One row (``pk=1``).

    ``audit_record`` locks this row to append, so that two writers never chain onto the same
    head; the signature (``ancrage.core.hashchain.anchor_signature``) is made with a key the
    database does not hold, so rewinding the anchor to hide deleted entries is detected.
    """

    count = models.PositiveBigIntegerField("entrées", default=0)
    head = models.CharField("dernière empreinte", max_length=64)
    signature = models.CharField("signature", max_length=64)

    class Meta:
        verbose_name = "ancre du journal d’audit"
        verbose_name_plural = "ancres du journal d’audit"

    def __str__(self):
        return nombre(self.count, "entrée")
