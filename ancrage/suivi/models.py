"""Suivi: who took part in the sessions, the evaluation of an action, its before-and-after
diagnostic, and the relationship with each partner (exchanges, promotion, reminder delays).

Everything here is the EPN's own record: pseudonymous people and its notes on its partners. A
partner account sees none of it (scoping by EPN only).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from ancrage.organisations.scoping import ScopedQuerySet, Scoping
from ancrage.suivi.enums import CSP_CHOICES, SEXE_CHOICES, SITUATION_CHOICES, NatureEchange, SensPromotion


class Beneficiaire(models.Model):
    """A pseudonymous person who took part in an action of the EPN.

    Linked to the usager of an attendance file with the same identifiant, when there is one: the
    EPN's usagers file and its session sheets then speak of the same person.
    """

    structure = models.ForeignKey(
        "organisations.Structure", verbose_name="EPN", on_delete=models.CASCADE, related_name="beneficiaires"
    )
    identifiant = models.CharField("identifiant", max_length=100)
    annee_naissance = models.PositiveSmallIntegerField("année de naissance", null=True, blank=True)
    sexe = models.CharField("sexe", max_length=1, choices=SEXE_CHOICES, blank=True)
    csp = models.CharField("CSP", max_length=3, choices=CSP_CHOICES, blank=True)
    situation = models.CharField("situation", max_length=20, choices=SITUATION_CHOICES, blank=True)
    code_iris = models.CharField("code IRIS", max_length=9, blank=True)
    code_commune = models.CharField("code commune", max_length=5, blank=True)
    premiere_visite = models.DateField("première visite", null=True, blank=True)
    usager = models.ForeignKey(
        "frequentation.Usager",
        verbose_name="usager du fichier de fréquentation",
        null=True,
        blank=True,
        # Detached by frequentation.services before usagers are deleted (SET_NULL's collector
        # loaded every usager of an import); the database's foreign key refuses a forgotten one.
        on_delete=models.DO_NOTHING,
        related_name="+",
    )
    created_at = models.DateTimeField("créé le", auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    scoping = Scoping(epn="structure")

    class Meta:
        verbose_name = "bénéficiaire"
        verbose_name_plural = "bénéficiaires"
        ordering = ["identifiant"]
        constraints = [
            models.UniqueConstraint(
                fields=["structure", "identifiant"], name="beneficiaire_unique_identifiant"
            )
        ]

    def __str__(self):
        return self.identifiant


class Participation(models.Model):
    """One person on the sheet of one session: present or not, and who sent them ("orienté par")."""

    seance = models.ForeignKey(
        "actions.Seance", on_delete=models.CASCADE, related_name="participations_suivi"
    )
    beneficiaire = models.ForeignKey(Beneficiaire, on_delete=models.CASCADE, related_name="participations")
    present = models.BooleanField("présent·e", default=True)
    oriente_par = models.ForeignKey(
        "organisations.Structure",
        verbose_name="orienté·e par",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orientations",
    )
    created_at = models.DateTimeField("saisi le", auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    scoping = Scoping(epn="seance__action__structure")

    class Meta:
        verbose_name = "participation"
        verbose_name_plural = "participations"
        ordering = ["seance", "beneficiaire__identifiant"]
        constraints = [
            models.UniqueConstraint(fields=["seance", "beneficiaire"], name="participation_unique")
        ]

    def __str__(self):
        return f"{self.beneficiaire} — {self.seance}"


class Evaluation(models.Model):
    """What the EPN learnt from an action: its difficulties and lessons."""

    action = models.OneToOneField("actions.Action", on_delete=models.CASCADE, related_name="evaluation")
    difficultes = models.TextField("difficultés rencontrées", blank=True)
    enseignements = models.TextField("enseignements", blank=True)
    updated_at = models.DateTimeField("modifiée le", auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="par", null=True, blank=True, on_delete=models.SET_NULL
    )

    objects = ScopedQuerySet.as_manager()
    scoping = Scoping(epn="action__structure")

    class Meta:
        verbose_name = "évaluation d’action"
        verbose_name_plural = "évaluations d’actions"

    def __str__(self):
        return f"Évaluation — {self.action}"


class AvantApres(models.Model):
    """The diagnostic run again over the period after an action, beside the one before it."""

    action = models.ForeignKey("actions.Action", on_delete=models.CASCADE, related_name="avant_apres")
    avant = models.ForeignKey(
        "diagnostic.Diagnostic",
        verbose_name="diagnostic avant",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    apres = models.ForeignKey(
        "diagnostic.Diagnostic", verbose_name="diagnostic après", on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField("calculé le", auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="par", null=True, blank=True, on_delete=models.SET_NULL
    )

    objects = ScopedQuerySet.as_manager()
    scoping = Scoping(epn="action__structure")

    class Meta:
        verbose_name = "avant / après d’une action"
        verbose_name_plural = "avant / après des actions"
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Avant / après — {self.action}"


class PartnerRecordQuerySet(ScopedQuerySet):
    def for_partnership(self, epn, partenaire):
        return self.filter(structure=epn, partenaire=partenaire)


class Echange(models.Model):
    """One entry of the communication log with a partner."""

    structure = models.ForeignKey(
        "organisations.Structure", verbose_name="EPN", on_delete=models.CASCADE, related_name="echanges"
    )
    partenaire = models.ForeignKey(
        "organisations.Structure",
        verbose_name="partenaire",
        on_delete=models.CASCADE,
        related_name="echanges_recus",
    )
    date = models.DateField("date")
    nature = models.CharField("nature", max_length=20, choices=NatureEchange.choices)
    personnes = models.CharField("personnes", max_length=255, blank=True)
    resume = models.TextField("résumé")
    created_at = models.DateTimeField("saisi le", auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="par", null=True, blank=True, on_delete=models.SET_NULL
    )

    objects = PartnerRecordQuerySet.as_manager()
    scoping = Scoping(epn="structure")

    class Meta:
        verbose_name = "échange avec un partenaire"
        verbose_name_plural = "échanges avec les partenaires"
        ordering = ["-date", "-id"]

    def __str__(self):
        return f"{self.get_nature_display()} du {self.date:%d/%m/%Y}"


class Promotion(models.Model):
    """What one side did to promote the other (the seed's "promotion réciproque")."""

    structure = models.ForeignKey(
        "organisations.Structure", verbose_name="EPN", on_delete=models.CASCADE, related_name="promotions"
    )
    partenaire = models.ForeignKey(
        "organisations.Structure",
        verbose_name="partenaire",
        on_delete=models.CASCADE,
        related_name="promotions_partenaire",
    )
    date = models.DateField("date")
    sens = models.CharField("qui a promu qui", max_length=20, choices=SensPromotion.choices)
    description = models.CharField("ce qui a été fait", max_length=255)
    created_at = models.DateTimeField("saisie le", auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="par", null=True, blank=True, on_delete=models.SET_NULL
    )

    objects = PartnerRecordQuerySet.as_manager()
    scoping = Scoping(epn="structure")

    class Meta:
        verbose_name = "promotion réciproque"
        verbose_name_plural = "promotions réciproques"
        ordering = ["-date", "-id"]

    def __str__(self):
        return self.description


class DelaiRelance(models.Model):
    """After how many days without contact a partner is to be called back: per partner, or the
    EPN's default (``partenaire`` empty)."""

    structure = models.ForeignKey(
        "organisations.Structure", verbose_name="EPN", on_delete=models.CASCADE, related_name="delais_relance"
    )
    partenaire = models.ForeignKey(
        "organisations.Structure",
        verbose_name="partenaire",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    jours = models.PositiveSmallIntegerField("délai (jours)")

    objects = ScopedQuerySet.as_manager()
    scoping = Scoping(epn="structure")

    class Meta:
        verbose_name = "délai de relance"
        verbose_name_plural = "délais de relance"
        constraints = [
            models.UniqueConstraint(
                fields=["structure", "partenaire"],
                condition=Q(partenaire__isnull=False),
                name="delai_relance_unique_partenaire",
            ),
            models.UniqueConstraint(
                fields=["structure"], condition=Q(partenaire__isnull=True), name="delai_relance_unique_defaut"
            ),
            models.CheckConstraint(condition=Q(jours__gte=1), name="delai_relance_positif"),
        ]

    def __str__(self):
        return f"{self.jours} jours"
