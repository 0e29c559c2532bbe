from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from ancrage.organisations import cog, permissions
from ancrage.organisations.enums import CollectiviteType, StructureKind
from ancrage.organisations.scoping import ScopedQuerySet, Scoping


class Reseau(models.Model):
    """A network of EPNs and partners (intercommunal, departmental, national).

    Every record of Ancrage belongs, through its structure, to exactly one réseau.
    """

    nom = models.CharField("nom", max_length=200, unique=True)
    created_at = models.DateTimeField("créé le", auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    scoping = Scoping(reseau="id", collectivite="collectivites", epn="structures", partner="structures")

    class Meta:
        verbose_name = "réseau"
        verbose_name_plural = "réseaux"
        ordering = ["nom"]

    def __str__(self):
        return self.nom


class Collectivite(models.Model):
    """A commune, an EPCI or a département, named by its COG code."""

    reseau = models.ForeignKey(
        Reseau, verbose_name="réseau", on_delete=models.PROTECT, related_name="collectivites"
    )
    type = models.CharField("type", max_length=20, choices=CollectiviteType.choices)
    code = models.CharField("code COG", max_length=9)
    nom = models.CharField("nom", max_length=200)
    created_at = models.DateTimeField("créée le", auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    scoping = Scoping(reseau="reseau", collectivite="id", epn="epns")

    class Meta:
        verbose_name = "collectivité"
        verbose_name_plural = "collectivités"
        ordering = ["nom"]
        constraints = [
            models.UniqueConstraint(
                fields=["reseau", "type", "code"], name="collectivite_unique_code_per_reseau"
            )
        ]

    def __str__(self):
        return self.nom

    def communes(self) -> list[cog.Commune]:
        return cog.communes_of(self.type, self.code)

    def covers(self, commune_code: str) -> bool:
        return cog.covers(self.type, self.code, commune_code)


class Structure(models.Model):
    """An organisation: an EPN (lieu de médiation numérique) or a partner organisation.

    Records of the loop (diagnostics, actions, conventions, dossiers) belong to an EPN.
    A partner organisation is recorded in an EPN's directory (``referencee_par``).
    """

    reseau = models.ForeignKey(
        Reseau, verbose_name="réseau", on_delete=models.PROTECT, related_name="structures"
    )
    kind = models.CharField("nature", max_length=20, choices=StructureKind.choices, default=StructureKind.EPN)
    nom = models.CharField("nom", max_length=200)
    # The data·inclusion typology codes of the national standard (e.g. "ASSO", "CCAS", "MUNI").
    typologie = models.CharField("typologie", max_length=100, blank=True)
    collectivite = models.ForeignKey(
        Collectivite,
        verbose_name="collectivité de rattachement",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="epns",
    )
    code_commune = models.CharField("code INSEE de la commune", max_length=5, blank=True)
    siret = models.CharField("SIRET", max_length=14, blank=True)
    referencee_par = models.ForeignKey(
        "self",
        verbose_name="référencée par",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="partenaires_references",
        limit_choices_to={"kind": StructureKind.EPN},
    )
    created_at = models.DateTimeField("créée le", auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    scoping = Scoping(
        epn=("id", "referencee_par"), partner="id", collectivite="collectivite", reseau="reseau"
    )

    class Meta:
        verbose_name = "structure"
        verbose_name_plural = "structures"
        ordering = ["nom"]

    def __str__(self):
        return self.nom

    def get_absolute_url(self):
        return reverse("structures:detail", kwargs={"pk": self.pk})

    @property
    def is_epn(self) -> bool:
        return self.kind == StructureKind.EPN

    @property
    def commune_nom(self) -> str:
        try:
            return cog.commune(self.code_commune).nom if self.code_commune else ""
        except cog.UnknownCode:
            return ""


def role_target_constraint(name: str) -> models.CheckConstraint:
    """Each role points at exactly the kind of organisation ``permissions.ROLE_TARGET`` says: its
    target field is set, the two others are empty. Membership and Invitation both hold it."""
    condition = Q(pk__in=[])
    for i, (field, roles) in enumerate(permissions.roles_by_field().items()):
        empty = {f"{name}__isnull": name != field for name in permissions.TARGET_FIELDS}
        part = Q(role__in=roles) & Q(**empty)
        condition = part if i == 0 else condition | part
    return models.CheckConstraint(condition=condition, name=name)


class MembershipQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class Membership(models.Model):
    """A user's role in a réseau, a collectivité or a structure. A user may hold several."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="utilisateur",
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    role = models.CharField("rôle", max_length=20, choices=permissions.ROLE_CHOICES)
    reseau = models.ForeignKey(
        Reseau, null=True, blank=True, on_delete=models.CASCADE, related_name="memberships"
    )
    collectivite = models.ForeignKey(
        Collectivite, null=True, blank=True, on_delete=models.CASCADE, related_name="memberships"
    )
    structure = models.ForeignKey(
        Structure, null=True, blank=True, on_delete=models.CASCADE, related_name="memberships"
    )
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField("créée le", auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = "rattachement"
        verbose_name_plural = "rattachements"
        ordering = ["user", "role"]
        constraints = [
            role_target_constraint("membership_target_matches_role"),
            *[
                models.UniqueConstraint(
                    fields=["user", "role", target],
                    condition=Q(**{f"{target}__isnull": False}),
                    name=f"membership_unique_{target}",
                )
                for target in ("structure", "collectivite", "reseau")
            ],
        ]

    def __str__(self):
        return f"{self.user} — {self.get_role_display()} — {self.target}"

    @property
    def target(self):
        return self.structure or self.collectivite or self.reseau
