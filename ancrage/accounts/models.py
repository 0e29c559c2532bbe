from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone

from ancrage.organisations.models import role_target_constraint
from ancrage.organisations.permissions import ROLE_CHOICES
from ancrage.organisations.scoping import ScopedQuerySet, Scoping


class User(AbstractUser):
    """A person using Ancrage. The username is the e-mail address, lower-cased.

    What a user may see comes from their memberships (``organisations.Membership``), never from
    fields on the user itself.
    """

    email = models.EmailField("adresse e-mail", unique=True)

    objects = UserManager()

    class Meta:
        verbose_name = "utilisateur"
        verbose_name_plural = "utilisateurs"
        ordering = ["last_name", "first_name", "email"]

    def __str__(self):
        return self.get_full_name() or self.email

    def save(self, *args, **kwargs):
        self.email = self.email.strip().lower()
        self.username = self.email
        super().save(*args, **kwargs)


class InvitationQuerySet(ScopedQuerySet):
    def pending(self):
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now())

    def awaiting_approval(self):
        """Accepted by the invitee, and waiting for the organisation's approval."""
        return self.filter(accepted_at__isnull=False, approved_at__isnull=True, refused_at__isnull=True)


class Invitation(models.Model):
    """An invitation to join Ancrage with one role in one organisation.

    Accounts are only ever created this way (or by an administrator). The link sent by e-mail
    carries a signed token naming the invitation and its ``nonce``: re-sending an invitation
    draws a new nonce, so that only the latest link works, and an accepted, revoked or expired
    invitation opens nothing.
    """

    email = models.EmailField("adresse e-mail")
    role = models.CharField("rôle", max_length=20, choices=ROLE_CHOICES)
    # Exactly one target, as for a Membership (the same constraint, role_target_constraint).
    reseau = models.ForeignKey(
        "organisations.Reseau", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    collectivite = models.ForeignKey(
        "organisations.Collectivite", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    structure = models.ForeignKey(
        "organisations.Structure", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="invité par",
        null=True,
        on_delete=models.SET_NULL,
        related_name="invitations_sent",
    )
    nonce = models.CharField(max_length=32, editable=False)
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    sent_at = models.DateTimeField("envoyée le")
    expires_at = models.DateTimeField("expire le")
    accepted_at = models.DateTimeField("acceptée le", null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="acceptée par",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    revoked_at = models.DateTimeField("révoquée le", null=True, blank=True)
    # A collectivité's or a partner's role is held only once approved by that organisation
    # (``permissions.APPROVERS``); the other roles are approved by the acceptance itself.
    approved_at = models.DateTimeField("approuvée le", null=True, blank=True)
    refused_at = models.DateTimeField("refusée le", null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="approuvée ou refusée par",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = InvitationQuerySet.as_manager()
    # Those who see an organisation see the invitations to it: the EPN's team (and the EPN that
    # referenced a partner organisation), the collectivité's people, the réseau's coordinators.
    scoping = Scoping(
        epn=("structure", "structure__referencee_par"),
        collectivite="collectivite",
        reseau=("reseau", "structure__reseau", "collectivite__reseau"),
    )

    class Meta:
        verbose_name = "invitation"
        verbose_name_plural = "invitations"
        ordering = ["-created_at", "-id"]
        constraints = [
            role_target_constraint("invitation_target_matches_role"),
        ]

    def __str__(self):
        return f"Invitation de {self.email} — {self.get_role_display()} — {self.target}"

    @property
    def target(self):
        return self.structure or self.collectivite or self.reseau

    @property
    def status(self) -> str:
        if self.refused_at:
            return "refusée"
        if self.accepted_at and not self.approved_at:
            return "à approuver"
        if self.accepted_at:
            return "acceptée"
        if self.revoked_at:
            return "révoquée"
        if self.expires_at <= timezone.now():
            return "expirée"
        return "en attente"

    @property
    def is_pending(self) -> bool:
        return self.status == "en attente"

    @property
    def is_awaiting_approval(self) -> bool:
        return self.status == "à approuver"


class ApiTokenQuerySet(models.QuerySet):
    def active(self):
        """Neither revoked nor expired (the user's own state is checked where the token is used)."""
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiToken(models.Model):
    """A personal token of the REST API: it acts as its user, with the user's memberships.

    Only the SHA-256 of the secret is stored (``empreinte``): the secret is shown once, when the
    token is created, and cannot be read again. ``prefixe`` (the secret's first characters) lets
    the user tell their tokens apart. A revoked or expired token, or one whose user is
    deactivated, authenticates nothing (``ancrage.accounts.tokens.authenticate``).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="utilisateur",
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    nom = models.CharField("nom", max_length=100)
    prefixe = models.CharField("début du jeton", max_length=16, editable=False)
    empreinte = models.CharField("empreinte SHA-256", max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField("créé le", auto_now_add=True)
    last_used_at = models.DateTimeField("dernière utilisation", null=True, blank=True)
    expires_at = models.DateTimeField("expire le", null=True, blank=True)
    revoked_at = models.DateTimeField("révoqué le", null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = "jeton d’API"
        verbose_name_plural = "jetons d’API"
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.nom} ({self.prefixe}…)"

    @property
    def status(self) -> str:
        if self.revoked_at:
            return "révoqué"
        if self.expires_at and self.expires_at <= timezone.now():
            return "expiré"
        return "actif"

    @property
    def is_active(self) -> bool:
        return self.status == "actif"
