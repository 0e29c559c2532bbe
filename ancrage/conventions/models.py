"""Conventions, their versions, comments, circuit decisions, custom models and generation jobs.

The circuit's state is not stored: ``Decision`` rows are facts (who decided what, when, from
where, on which document hash) and ``selectors.circuit_progress`` replays those of the current
round with the pure ``circuit.progress``. Likewise ``en_vigueur`` and ``expiree`` are computed
from the dates (``selectors.effective_etat``).
"""

import datetime as dt

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from ancrage.conventions.content import add_months
from ancrage.conventions.enums import (
    MODELE_CHOICES,
    CanalCode,
    DecisionChoice,
    Etat,
    EvenementNature,
    JobKind,
    JobState,
)
from ancrage.core.models import Comment
from ancrage.organisations.scoping import ScopedQuerySet, Scoping

# Records of a convention are seen by whoever sees the convention.
CONVENTION_CHILD_SCOPING = Scoping(
    epn="convention__structure",
    partner="convention__partenaires",
    collectivite="convention__collectivite",
)


def _convention_upload(instance, filename: str) -> str:
    return f"conventions/{instance.convention_id}/{filename}"


def _signed_upload(instance, filename: str) -> str:
    return f"conventions/{instance.pk}/{filename}"


def _modele_upload(instance, filename: str) -> str:
    return f"conventions/modeles/{instance.structure_id}/{filename}"


class ModelePersonnalise(models.Model):
    """A DOCX model uploaded by an EPN, checked at upload (``custom_models.check_custom_model``)."""

    structure = models.ForeignKey(
        "organisations.Structure",
        verbose_name="EPN",
        on_delete=models.CASCADE,
        related_name="modeles_convention",
    )
    nom = models.CharField("nom", max_length=200)
    fichier = models.FileField("fichier", upload_to=_modele_upload, max_length=255)
    nom_fichier = models.CharField("nom du fichier déposé", max_length=255)
    sha256 = models.CharField("empreinte SHA-256", max_length=64)
    variables = models.JSONField("variables utilisées", default=list, blank=True)
    created_at = models.DateTimeField("déposé le", auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="déposé par",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = ScopedQuerySet.as_manager()
    scoping = Scoping(epn="structure")

    class Meta:
        verbose_name = "modèle de convention personnalisé"
        verbose_name_plural = "modèles de convention personnalisés"
        ordering = ["nom", "id"]

    def __str__(self):
        return self.nom


class ConventionQuerySet(ScopedQuerySet):
    def for_structure(self, structure):
        return self.filter(structure=structure)

    def signed(self):
        return self.filter(etat__in=[Etat.SIGNEE, Etat.RESILIEE])


class Convention(models.Model):
    structure = models.ForeignKey(
        "organisations.Structure", verbose_name="EPN", on_delete=models.CASCADE, related_name="conventions"
    )
    action = models.ForeignKey(
        "actions.Action",
        verbose_name="action",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="conventions",
    )
    # The collectivité party: the EPN's collectivité when the convention was drafted. Kept on the
    # convention so that a later change of attachment does not rewrite who signed.
    collectivite = models.ForeignKey(
        "organisations.Collectivite",
        verbose_name="collectivité",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="conventions",
    )
    partenaires = models.ManyToManyField(
        "organisations.Structure", verbose_name="partenaires", related_name="conventions_partie", blank=True
    )
    titre = models.CharField("titre", max_length=255)
    reference = models.CharField("référence", max_length=60, blank=True)
    modele = models.CharField("modèle", max_length=40, choices=MODELE_CHOICES, blank=True)
    modele_personnalise = models.ForeignKey(
        ModelePersonnalise,
        verbose_name="modèle personnalisé",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="conventions",
    )
    objet = models.TextField("objet")
    objectifs = models.JSONField("objectifs", default=list, blank=True)
    publics = models.JSONField("publics visés", default=list, blank=True)
    # [{"partie": party key, "texte": ..., "domaine": ...}], prefilled from the task matrix.
    engagements = models.JSONField("engagements", default=list, blank=True)
    # [{"libelle", "montant" (str), "ressource", "partie", "en_nature"}], prefilled from the budget.
    finances = models.JSONField("dispositions financières", default=list, blank=True)
    modalites_versement = models.TextField("modalités de versement", blank=True)
    indicateurs = models.JSONField("indicateurs d’évaluation", default=list, blank=True)
    # Specifics of the "mise à disposition" and "partenariat EPN–école" models.
    locaux = models.CharField("locaux mis à disposition", max_length=255, blank=True)
    equipements = models.TextField("équipements", blank=True)
    creneaux = models.CharField("créneaux", max_length=255, blank=True)
    classes = models.CharField("classes concernées", max_length=255, blank=True)
    encadrement = models.CharField("encadrement des élèves", max_length=255, blank=True)
    lieu_signature = models.CharField("fait à", max_length=120, blank=True)
    juridiction = models.CharField("juridiction compétente", max_length=200, blank=True)
    date_debut = models.DateField("date de début")
    duree_mois = models.PositiveSmallIntegerField("durée (mois)", default=12)
    reconduction_tacite = models.BooleanField("reconduction tacite", default=False)
    reconductions_max = models.PositiveSmallIntegerField(
        "nombre maximal de reconductions", null=True, blank=True
    )
    preavis_mois = models.PositiveSmallIntegerField("préavis (mois)", default=2)
    delai_alerte_jours = models.PositiveSmallIntegerField("alerte avant échéance (jours)", default=60)

    etat = models.CharField("état", max_length=20, choices=Etat.choices, default=Etat.BROUILLON)
    # Each submission opens a new round of the circuit; decisions carry their round.
    tour = models.PositiveIntegerField("tour du circuit", default=0)
    # The circuit of the current round, frozen at submission (steps, people, modes).
    circuit = models.JSONField("circuit", default=dict, blank=True)
    version_soumise = models.ForeignKey(
        "ConventionVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Bumped by each edit: a version generated before the last edit cannot be submitted.
    edition = models.PositiveIntegerField("édition", default=1)

    avenant_de = models.ForeignKey(
        "self",
        verbose_name="avenant à",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="avenants",
    )
    numero_avenant = models.PositiveSmallIntegerField("avenant n°", null=True, blank=True)
    denoncee_le = models.DateField("dénoncée le", null=True, blank=True)
    resiliee_le = models.DateField("résiliation à compter du", null=True, blank=True)
    motif_resiliation = models.TextField("motif de la résiliation", blank=True)

    pdf_signe = models.FileField("PDF signé", upload_to=_signed_upload, max_length=255, blank=True)
    pdf_signe_sha256 = models.CharField("empreinte SHA-256 du PDF signé", max_length=64, blank=True)
    signee_le = models.DateTimeField("signée le", null=True, blank=True)

    created_at = models.DateTimeField("créée le", auto_now_add=True)
    updated_at = models.DateTimeField("modifiée le", auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="créée par", null=True, blank=True, on_delete=models.SET_NULL
    )

    objects = ConventionQuerySet.as_manager()
    scoping = Scoping(epn="structure", partner="partenaires", collectivite="collectivite")

    class Meta:
        verbose_name = "convention"
        verbose_name_plural = "conventions"
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.titre

    def get_absolute_url(self):
        return reverse("conventions:detail", kwargs={"pk": self.pk})

    @property
    def date_fin(self) -> dt.date:
        """End of the initial term (the day before the same date ``duree_mois`` later)."""
        return add_months(self.date_debut, self.duree_mois) - dt.timedelta(days=1)

    @property
    def modele_label(self) -> str:
        if self.modele_personnalise_id:
            return f"Modèle personnalisé « {self.modele_personnalise} »"
        return self.get_modele_display()

    @property
    def original(self):
        return self.avenant_de or self


class ConventionVersion(models.Model):
    """One generated version: the editable DOCX and ODT and the frozen PDF, each with its SHA-256."""

    convention = models.ForeignKey(Convention, on_delete=models.CASCADE, related_name="versions")
    numero = models.PositiveIntegerField("version")
    edition = models.PositiveIntegerField("édition du contenu")
    docx = models.FileField("DOCX", upload_to=_convention_upload, max_length=255)
    docx_sha256 = models.CharField("empreinte SHA-256 du DOCX", max_length=64)
    pdf = models.FileField("PDF", upload_to=_convention_upload, max_length=255)
    pdf_sha256 = models.CharField("empreinte SHA-256 du PDF", max_length=64)
    # The same text in OpenDocument (RGI); empty for a custom DOCX model, which stays DOCX-only.
    odt = models.FileField("ODT", upload_to=_convention_upload, max_length=255, blank=True)
    odt_sha256 = models.CharField("empreinte SHA-256 de l’ODT", max_length=64, blank=True)
    # SHA-256 of the built-in model's plain text: the sealing checks that regenerating the document
    # with the signature date changes nothing else.
    texte_sha256 = models.CharField("empreinte SHA-256 du texte", max_length=64, blank=True)
    # (page index, [x1, y1, x2, y2]) of the frame kept for the seal; empty: a page is added.
    cadre_signature = models.JSONField("cadre de signature", null=True, blank=True)
    created_at = models.DateTimeField("générée le", auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="par", null=True, blank=True, on_delete=models.SET_NULL
    )

    objects = ScopedQuerySet.as_manager()
    scoping = CONVENTION_CHILD_SCOPING

    class Meta:
        verbose_name = "version de convention"
        verbose_name_plural = "versions de convention"
        ordering = ["convention", "numero"]
        constraints = [
            models.UniqueConstraint(fields=["convention", "numero"], name="convention_version_numero_unique")
        ]

    def __str__(self):
        return f"{self.convention} — version {self.numero}"


class Commentaire(Comment):
    """A comment on the draft by a party (the EPN's staff, a partner, the collectivité)."""

    convention = models.ForeignKey(Convention, on_delete=models.CASCADE, related_name="commentaires")
    version = models.ForeignKey(
        ConventionVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="commentaires"
    )
    organisation = models.CharField("au nom de", max_length=200, blank=True)

    objects = ScopedQuerySet.as_manager()
    scoping = CONVENTION_CHILD_SCOPING

    class Meta(Comment.Meta):
        verbose_name = "commentaire sur une convention"
        verbose_name_plural = "commentaires sur les conventions"


class Decision(models.Model):
    """One decision in the circuit: append-only, replayed to get the circuit's state."""

    convention = models.ForeignKey(Convention, on_delete=models.CASCADE, related_name="decisions")
    tour = models.PositiveIntegerField("tour")
    etape = models.PositiveSmallIntegerField("étape (à partir de 0)")
    etape_libelle = models.CharField("étape", max_length=200)
    nature = models.CharField("nature de l’étape", max_length=20)  # visa | signature
    # Who the circuit knows: a party key ("partenaire-12") or a person ("user-5").
    personne = models.CharField("intervenant (circuit)", max_length=60)
    par = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="par", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    nom = models.CharField("nom", max_length=200)
    qualite = models.CharField("qualité", max_length=200, blank=True)
    organisation = models.CharField("organisation", max_length=200, blank=True)
    decision = models.CharField("décision", max_length=10, choices=DecisionChoice.choices)
    commentaire = models.TextField("commentaire", blank=True)
    document_sha256 = models.CharField("empreinte du document", max_length=64)
    at = models.DateTimeField("le", auto_now_add=True)
    adresse_ip = models.GenericIPAddressField("adresse IP", null=True, blank=True)
    origine = models.CharField("origine", max_length=10, blank=True)
    # How a signature was confirmed: a one-time code sent by e-mail, or the person's TOTP app.
    canal = models.CharField("confirmée par", max_length=10, choices=CanalCode.choices, blank=True)
    # A deputy's decision: the person of the step they decided for (« par délégation de … »).
    pour_le_compte_de = models.CharField("par délégation de (circuit)", max_length=60, blank=True)
    pour_le_compte_de_nom = models.CharField("par délégation de", max_length=200, blank=True)

    objects = ScopedQuerySet.as_manager()
    scoping = CONVENTION_CHILD_SCOPING

    class Meta:
        verbose_name = "décision du circuit"
        verbose_name_plural = "décisions du circuit"
        ordering = ["convention", "tour", "id"]
        constraints = [
            # The database's own guard against a double decision, under the row lock of the service.
            models.UniqueConstraint(
                fields=["convention", "tour", "etape", "personne"], name="convention_decision_unique"
            )
        ]

    def __str__(self):
        return f"{self.nom} : {self.get_decision_display()} ({self.etape_libelle})"


class Delegation(models.Model):
    """A person of a step lets a named deputy of the same organisation decide in their name."""

    convention = models.ForeignKey(Convention, on_delete=models.CASCADE, related_name="delegations")
    tour = models.PositiveIntegerField("tour")
    etape = models.PositiveSmallIntegerField("étape (à partir de 0)")
    personne = models.CharField("délégant (circuit)", max_length=60)
    delegant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="délégant",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    delegataire = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="délégataire", on_delete=models.PROTECT, related_name="+"
    )
    delegataire_personne = models.CharField("délégataire (circuit)", max_length=60)
    delegant_nom = models.CharField("nom du délégant", max_length=200)
    delegataire_nom = models.CharField("nom du délégataire", max_length=200)
    organisation = models.CharField("organisation", max_length=200, blank=True)
    at = models.DateTimeField("le", auto_now_add=True)
    adresse_ip = models.GenericIPAddressField("adresse IP", null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scoping = CONVENTION_CHILD_SCOPING

    class Meta:
        verbose_name = "délégation de signature"
        verbose_name_plural = "délégations de signature"
        ordering = ["convention", "tour", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["convention", "tour", "etape", "personne"], name="convention_delegation_unique"
            )
        ]

    def __str__(self):
        return f"{self.delegataire_nom} par délégation de {self.delegant_nom}"


class CodeSignature(models.Model):
    """A one-time code that confirms one signature: hashed, short-lived, few attempts, single use.

    The code's HMAC binds it to the convention, the round, the step, the person and the hash of
    the document they sign (``services._code_digest``): a code is worth nothing anywhere else.
    A TOTP confirmation has a row too (without a code), so that its attempts are counted alike.
    """

    convention = models.ForeignKey(Convention, on_delete=models.CASCADE, related_name="codes")
    tour = models.PositiveIntegerField("tour")
    etape = models.PositiveSmallIntegerField("étape (à partir de 0)")
    personne = models.CharField("intervenant (circuit)", max_length=60)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    document_sha256 = models.CharField("empreinte du document", max_length=64)
    canal = models.CharField("canal", max_length=10, choices=CanalCode.choices)
    code_hmac = models.CharField("empreinte du code", max_length=64, blank=True)
    created_at = models.DateTimeField("envoyé le", auto_now_add=True)
    expires_at = models.DateTimeField("expire le")
    tentatives = models.PositiveSmallIntegerField("essais manqués", default=0)
    used_at = models.DateTimeField("utilisé le", null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scoping = CONVENTION_CHILD_SCOPING

    class Meta:
        verbose_name = "code de signature"
        verbose_name_plural = "codes de signature"
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Code {self.get_canal_display()} — {self.convention}"


class EvenementQuerySet(ScopedQuerySet):
    def update(self, **kwargs):
        raise PermissionError("Le fichier de preuve est en ajout seul.")

    def delete(self):
        raise PermissionError("Le fichier de preuve est en ajout seul.")


class EvenementCircuit(models.Model):
    """One event of a round's proof file (« fichier de preuve »): append-only, hash-chained.

    ``hash`` is the SHA-256 of ``previous_hash`` and the canonical payload (``core.hashchain``),
    without a key, so that anyone holding the exported JSON can check the chain.
    """

    convention = models.ForeignKey(Convention, on_delete=models.CASCADE, related_name="evenements")
    tour = models.PositiveIntegerField("tour")
    sequence = models.PositiveIntegerField("numéro")
    nature = models.CharField("événement", max_length=30, choices=EvenementNature.choices)
    payload = models.JSONField("contenu")
    previous_hash = models.CharField("empreinte précédente", max_length=64)
    hash = models.CharField("empreinte", max_length=64)
    at = models.DateTimeField("le")

    objects = EvenementQuerySet.as_manager()
    scoping = CONVENTION_CHILD_SCOPING

    class Meta:
        verbose_name = "événement du circuit"
        verbose_name_plural = "événements du circuit"
        ordering = ["convention", "tour", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["convention", "tour", "sequence"], name="convention_evenement_sequence_unique"
            )
        ]

    def __str__(self):
        return f"{self.sequence}. {self.get_nature_display()}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("Le fichier de preuve est en ajout seul.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Le fichier de preuve est en ajout seul.")


class GenerationJob(models.Model):
    """A generation that runs in the background (DOCX, PDF, LibreOffice conversion)."""

    convention = models.ForeignKey(Convention, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField("nature", max_length=20, choices=JobKind.choices, default=JobKind.VERSION)
    state = models.CharField("état", max_length=20, choices=JobState.choices, default=JobState.EN_ATTENTE)
    erreur = models.TextField("erreur", blank=True)
    version = models.ForeignKey(
        ConventionVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Bumped by each claim: an attempt requeued after its worker died no longer owns the job.
    attempt = models.PositiveIntegerField("tentative", default=0)
    created_at = models.DateTimeField("demandée le", auto_now_add=True)
    updated_at = models.DateTimeField("mise à jour le", auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="par", null=True, blank=True, on_delete=models.SET_NULL
    )

    objects = ScopedQuerySet.as_manager()
    scoping = CONVENTION_CHILD_SCOPING

    class Meta:
        verbose_name = "génération de document"
        verbose_name_plural = "générations de documents"
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.get_kind_display()} — {self.convention}"

    @property
    def running(self) -> bool:
        return self.state in (JobState.EN_ATTENTE, JobState.EN_COURS)


class Envoi(models.Model):
    """One notification e-mail sent about a convention, under a key that names it whole.

    The key's unique constraint makes each notification go once, whoever sends it: the request of a
    step (``demande:<convention>:<round>:<step>``), a signature (``signature:<decision>``), a
    refusal, the circuit's end, each reminder of a person for a step and a period
    (``relance:<convention>:<round>:<step>:<user>:<period>``), each échéance alert and
    tacit-renewal notice of a term and a threshold. The row is written in the transaction that
    sends: two workers, or two runs of the daily task, never send twice, and a failed sending
    leaves no row (the next run tries again).
    """

    cle = models.CharField("clé", max_length=200, unique=True)
    convention = models.ForeignKey(Convention, on_delete=models.CASCADE, related_name="envois")
    nature = models.CharField("nature", max_length=20)
    destinataires = models.PositiveIntegerField("nombre de destinataires", default=0)
    envoye_le = models.DateTimeField("envoyé le", default=timezone.now)

    objects = ScopedQuerySet.as_manager()
    # Who was told is the EPN's business: no page lists it, the EPN's staff alone would read it.
    scoping = Scoping(epn="convention__structure")

    class Meta:
        verbose_name = "notification envoyée"
        verbose_name_plural = "notifications envoyées"
        ordering = ["-envoye_le", "-id"]

    def __str__(self):
        return self.cle
