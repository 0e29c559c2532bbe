from django import forms

from ancrage.accounts.models import User
from ancrage.conventions.enums import MODELE_CHOICES
from ancrage.conventions.models import ModelePersonnalise
from ancrage.core.wording import de_nom
from ancrage.organisations.enums import StructureKind
from ancrage.organisations.models import Structure
from ancrage.www.forms import AncrageForm
from ancrage.www.pickers import OrganisationCheckboxes, flat_choices, organisation_groups

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
CUSTOM_PREFIX = "perso-"


def lines(text: str) -> list[str]:
    return [line.strip().lstrip("-–• ").strip() for line in (text or "").splitlines() if line.strip()]


def modele_choices(epn) -> list[tuple[str, str]]:
    custom = [
        (f"{CUSTOM_PREFIX}{m.pk}", f"Modèle de l’EPN : {m.nom}")
        for m in ModelePersonnalise.objects.filter(structure=epn)
    ]
    return [*MODELE_CHOICES, *custom]


def split_modele(value: str, epn) -> dict:
    """The form's one "modèle" field, back to the model's two fields."""
    if value.startswith(CUSTOM_PREFIX):
        modele = ModelePersonnalise.objects.filter(structure=epn, pk=value[len(CUSTOM_PREFIX) :]).first()
        return {"modele": "", "modele_personnalise": modele}
    return {"modele": value, "modele_personnalise": None}


class ConventionCreateForm(AncrageForm):
    titre = forms.CharField(label="Titre de la convention", max_length=255)
    modele = forms.ChoiceField(label="Modèle", widget=forms.RadioSelect)
    date_debut = forms.DateField(label="Date de début", widget=DATE_WIDGET)
    duree_mois = forms.IntegerField(label="Durée (en mois)", min_value=1, max_value=120, initial=12)
    objet = forms.CharField(
        label="Objet",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Ce que le partenariat doit permettre, en une ou deux phrases.",
    )

    def __init__(self, *args, epn, **kwargs):
        super().__init__(*args, **kwargs)
        self.epn = epn
        self.fields["modele"].choices = modele_choices(epn)

    def clean(self):
        data = super().clean()
        if "modele" in data:
            data.update(split_modele(data.pop("modele"), self.epn))
        return data


class ConventionForm(AncrageForm):
    titre = forms.CharField(label="Titre", max_length=255)
    modele = forms.ChoiceField(label="Modèle", widget=forms.RadioSelect)
    partenaires = forms.ModelMultipleChoiceField(
        label="Partenaires signataires",
        queryset=Structure.objects.none(),
        required=False,
        widget=OrganisationCheckboxes,
        help_text=(
            "Chaque partenaire coché donne son visa dans le circuit de validation. Les partenaires de "
            "l’action et ceux déjà signataires d’abord, puis les plus proches de l’EPN, puis les autres."
        ),
    )
    objet = forms.CharField(label="Objet", widget=forms.Textarea(attrs={"rows": 3}))
    objectifs = forms.CharField(
        label="Objectifs", required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="Un par ligne."
    )
    publics = forms.CharField(
        label="Publics visés",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Un par ligne.",
    )
    indicateurs = forms.CharField(
        label="Indicateurs d’évaluation",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Un par ligne.",
    )
    modalites_versement = forms.CharField(
        label="Modalités de versement", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    date_debut = forms.DateField(label="Date de début", widget=DATE_WIDGET)
    duree_mois = forms.IntegerField(label="Durée (en mois)", min_value=1, max_value=120)
    reconduction_tacite = forms.BooleanField(label="Reconduction tacite", required=False)
    reconductions_max = forms.IntegerField(
        label="Nombre maximal de reconductions", required=False, min_value=0, max_value=20
    )
    preavis_mois = forms.IntegerField(label="Préavis de non-reconduction (mois)", min_value=0, max_value=24)
    delai_alerte_jours = forms.IntegerField(
        label="Alerte avant l’échéance (jours)",
        min_value=1,
        max_value=365,
        help_text="Ancrage signale la convention dans la liste ce nombre de jours avant son échéance.",
    )
    lieu_signature = forms.CharField(label="Fait à", max_length=120, required=False)
    juridiction = forms.CharField(
        label="Juridiction compétente",
        max_length=200,
        required=False,
        help_text="Par exemple : le tribunal administratif de Rennes.",
    )
    locaux = forms.CharField(
        label="Locaux mis à disposition (modèle « mise à disposition »)", max_length=255, required=False
    )
    equipements = forms.CharField(
        label="Équipements mis à disposition", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    creneaux = forms.CharField(label="Créneaux", max_length=255, required=False)
    classes = forms.CharField(label="Classes concernées (modèle « école »)", max_length=255, required=False)
    encadrement = forms.CharField(label="Encadrement des élèves", max_length=255, required=False)

    def __init__(self, *args, convention, parties: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.convention = convention
        epn = convention.structure
        self.fields["modele"].choices = modele_choices(epn)
        partenaires = Structure.objects.filter(
            kind=StructureKind.PARTENAIRE, referencee_par=epn
        ) | Structure.objects.filter(pk__in=convention.partenaires.values("pk"))
        self.fields["partenaires"].queryset = partenaires
        first = set(convention.partenaires.values_list("pk", flat=True))
        if convention.action_id:
            first |= set(convention.action.partenaires.values_list("pk", flat=True))
        groups = organisation_groups(partenaires, epn=epn, first_ids=first)
        self.fields["partenaires"].widget.choices = flat_choices(groups)
        self.party_fields = []
        for key, name in parties.items():
            field_name = f"engagements__{key}"
            self.fields[field_name] = forms.CharField(
                label=f"Engagements {de_nom(name)}",
                required=False,
                widget=forms.Textarea(attrs={"rows": 3}),
                help_text="Un engagement par ligne, qui complète « s’engage à : ».",
            )
            self.party_fields.append((key, field_name))

    def clean(self):
        data = super().clean()
        for name in ("objectifs", "publics", "indicateurs"):
            if name in data:
                data[name] = lines(data[name])
        engagements = []
        for key, field_name in self.party_fields:
            previous = {
                e["texte"]: e.get("domaine", "") for e in self.convention.engagements if e["partie"] == key
            }
            for text in lines(data.pop(field_name, "")):
                engagements.append({"partie": key, "texte": text, "domaine": previous.get(text, "")})
        data["engagements"] = engagements
        if "modele" in data:
            data.update(split_modele(data.pop("modele"), self.convention.structure))
        return data


class CommentaireForm(AncrageForm):
    texte = forms.CharField(label="Votre commentaire", widget=forms.Textarea(attrs={"rows": 3}))


class DecisionForm(AncrageForm):
    decision = forms.ChoiceField(
        label="Votre décision",
        choices=(("valider", "Je valide"), ("rejeter", "Je rejette (commentaire obligatoire)")),
        widget=forms.RadioSelect,
    )
    commentaire = forms.CharField(
        label="Commentaire",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Obligatoire pour un rejet : il est transmis aux autres parties.",
    )
    tour = forms.IntegerField(widget=forms.HiddenInput)
    document_sha256 = forms.CharField(widget=forms.HiddenInput, max_length=64)


class RefusForm(AncrageForm):
    commentaire = forms.CharField(
        label="Motif du refus",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Obligatoire : il est transmis aux autres parties, et la convention revient en brouillon.",
    )
    tour = forms.IntegerField(widget=forms.HiddenInput)
    etape = forms.IntegerField(widget=forms.HiddenInput)


class CodeForm(AncrageForm):
    code = forms.CharField(
        label="Code à 6 chiffres",
        min_length=6,
        max_length=7,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
    consentement = forms.BooleanField(
        label="J’ai lu la convention et je la signe au nom de l’organisation que je représente.",
    )
    canal = forms.ChoiceField(
        label="Le code vient",
        choices=(("email", "de l’e-mail reçu"), ("totp", "de mon application d’authentification")),
        initial="email",
        widget=forms.RadioSelect,
    )
    tour = forms.IntegerField(widget=forms.HiddenInput)
    etape = forms.IntegerField(widget=forms.HiddenInput)
    document_sha256 = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, totp: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not totp:
            self.fields["canal"].widget = forms.HiddenInput()


class DelegationForm(AncrageForm):
    delegataire = forms.ModelChoiceField(
        label="Déléguer ma signature à",
        queryset=None,
        help_text="Une personne de votre organisation : elle signera « par délégation » de vous. "
        "Vous gardez la possibilité de signer vous-même.",
    )
    tour = forms.IntegerField(widget=forms.HiddenInput)
    etape = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, deputies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["delegataire"].queryset = User.objects.filter(pk__in=[u.pk for u in deputies])
        self.fields["delegataire"].label_from_instance = lambda u: u.get_full_name() or u.email


class ResiliationForm(AncrageForm):
    motif = forms.CharField(label="Motif de la résiliation", widget=forms.Textarea(attrs={"rows": 3}))
    date_effet = forms.DateField(label="Date d’effet", widget=DATE_WIDGET)


class ModeleUploadForm(AncrageForm):
    nom = forms.CharField(label="Nom du modèle", max_length=200)
    fichier = forms.FileField(
        label="Fichier Word (.docx)",
        help_text="Balises de la forme {{ convention.titre }} ; la liste des variables figure ci-dessous.",
    )
