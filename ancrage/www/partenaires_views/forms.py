from django import forms

from ancrage.actions.tasks import TASK_CHOICES
from ancrage.core import uploads
from ancrage.core.importing import ImportRejected
from ancrage.partenaires import enums_standard, jobs
from ancrage.partenaires.enums import FAMILLE_CHOICES, PUBLICS_TOUCHES_CHOICES
from ancrage.partenaires.publics import parse_codes
from ancrage.www.forms import AncrageForm, SecteursField


def _checkboxes(choices, label, help_text=""):
    return forms.MultipleChoiceField(
        label=label, choices=choices, required=False, widget=forms.CheckboxSelectMultiple, help_text=help_text
    )


def split_list(text: str) -> list[str]:
    return parse_codes(text or "")


class PartenaireForm(AncrageForm):
    epn = forms.ModelChoiceField(label="Annuaire de l’EPN", queryset=None, empty_label=None)
    nom = forms.CharField(label="Nom de l’organisation", max_length=200)
    typologies = forms.MultipleChoiceField(
        label="Typologie (codes data·inclusion)",
        choices=enums_standard.TYPOLOGIES,
        required=False,
        help_text="Maintenez Ctrl (ou Cmd) pour en choisir plusieurs.",
    )
    siret = forms.CharField(label="SIRET", required=False, max_length=20, help_text="14 chiffres.")
    rna = forms.CharField(label="RNA", required=False, max_length=12, help_text="W suivi de 9 caractères.")
    adresse = forms.CharField(label="Adresse", required=False)
    code_postal = forms.RegexField(
        label="Code postal", regex=r"^\d{5}$", required=False, error_messages={"invalid": "5 chiffres."}
    )
    commune = forms.CharField(label="Commune", required=False)
    code_insee = forms.CharField(label="Code INSEE de la commune", required=False, max_length=5)
    telephone = forms.CharField(label="Téléphone", required=False, max_length=20)
    courriels = forms.CharField(label="Courriels", required=False, help_text="Séparés par des virgules.")
    familles = _checkboxes(FAMILLE_CHOICES, "Compétences : familles thématiques")
    services = _checkboxes(enums_standard.SERVICES, "Compétences : services du standard")
    publics_touches = _checkboxes(PUBLICS_TOUCHES_CHOICES, "Publics touchés")
    secteurs = SecteursField(
        label="Secteurs couverts",
        help_text="Les quartiers, communes et IRIS du territoire de l’EPN, par leur nom.",
    )
    # The tasks of an action's task matrix: it warns when the EPN does alone a task that a
    # partner of the action has the trade for (substitution).
    savoir_faire = _checkboxes(
        TASK_CHOICES,
        "Savoir-faire pour le partenariat",
        "Les tâches d’une action que ce partenaire sait assurer (l’EPN ne doit pas s’y substituer).",
    )
    publics_specifiquement_adresses = _checkboxes(
        enums_standard.PUBLICS_SPECIFIQUEMENT_ADRESSES, "Publics spécifiquement adressés (standard)"
    )
    dispositif_programmes_nationaux = _checkboxes(
        enums_standard.DISPOSITIFS_PROGRAMMES_NATIONAUX, "Dispositifs et programmes nationaux"
    )
    formations_labels = _checkboxes(enums_standard.FORMATIONS_LABELS, "Formations et labels")
    presentation_resume = forms.CharField(
        label="Présentation (résumé)",
        required=False,
        max_length=280,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    notes = forms.CharField(label="Notes de l’EPN", required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, epns, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["epn"].queryset = epns
        if epns.count() == 1:
            self.fields["epn"].initial = epns.first()
            self.fields["epn"].widget = forms.HiddenInput()
        chosen = self.fields["secteurs"].to_python(self["secteurs"].value() or [])
        self.fields["secteurs"].offer(epns, chosen)

    def clean_courriels(self):
        return split_list(self.cleaned_data["courriels"])


class ContactForm(AncrageForm):
    nom = forms.CharField(label="Nom", max_length=200)
    fonction = forms.CharField(label="Fonction", required=False, max_length=200)
    courriel = forms.EmailField(label="Courriel", required=False)
    telephone = forms.CharField(label="Téléphone", required=False, max_length=30)


class ImportForm(AncrageForm):
    epn = forms.ModelChoiceField(label="Annuaire de l’EPN", queryset=None, empty_label=None)
    fichier = forms.FileField(
        label="Fichier au standard des lieux de médiation numérique",
        help_text="CSV du standard 1.0.2 (valeurs séparées par | ou ;), JSON de la Cartographie nationale, "
        "ou structures de data·inclusion (JSON ou CSV).",
    )

    def clean_fichier(self):
        """The checks of every import (size, real content type), before the file is kept."""
        upload = self.cleaned_data["fichier"]
        data = upload.read()
        upload.seek(0)
        try:
            uploads.check_file(data, filename=upload.name, accept=jobs.ACCEPTED)
        except ImportRejected as refused:
            raise forms.ValidationError([str(issue) for issue in refused.issues]) from None
        return upload

    def __init__(self, *args, epns, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["epn"].queryset = epns
        if epns.count() == 1:
            self.fields["epn"].initial = epns.first()
            self.fields["epn"].widget = forms.HiddenInput()


def _coordinate(label, low, high):
    return forms.FloatField(
        label=label,
        required=False,
        min_value=low,
        max_value=high,
        help_text="En degrés décimaux (WGS 84), avec un point : 48.1173.",
        localize=False,
    )


class LieuEpnForm(AncrageForm):
    """The EPN's own place, in the national standard's words (for the Cartographie nationale)."""

    typologies = PartenaireForm.base_fields["typologies"]
    siret = PartenaireForm.base_fields["siret"]
    adresse = forms.CharField(label="Adresse", required=False)
    code_postal = PartenaireForm.base_fields["code_postal"]
    commune = PartenaireForm.base_fields["commune"]
    code_insee = PartenaireForm.base_fields["code_insee"]
    latitude = _coordinate("Latitude", -90, 90)
    longitude = _coordinate("Longitude", -180, 180)
    telephone = PartenaireForm.base_fields["telephone"]
    courriels = PartenaireForm.base_fields["courriels"]
    site_web = forms.CharField(label="Sites web", required=False, help_text="Séparés par des virgules.")
    horaires = forms.CharField(
        label="Horaires (format OpenStreetMap)", required=False, help_text="Par exemple : Mo-Fr 09:00-17:00."
    )
    presentation_resume = PartenaireForm.base_fields["presentation_resume"]
    services = PartenaireForm.base_fields["services"]
    publics_specifiquement_adresses = PartenaireForm.base_fields["publics_specifiquement_adresses"]
    prise_en_charge_specifique = _checkboxes(
        enums_standard.PRISES_EN_CHARGE_SPECIFIQUES, "Prise en charge spécifique (standard)"
    )
    frais_a_charge = _checkboxes(enums_standard.FRAIS_A_CHARGE, "Frais à charge")
    modalites_acces = _checkboxes(enums_standard.MODALITES_ACCES, "Modalités d’accès")
    modalites_accompagnement = _checkboxes(
        enums_standard.MODALITES_ACCOMPAGNEMENT, "Modalités d’accompagnement"
    )
    dispositif_programmes_nationaux = PartenaireForm.base_fields["dispositif_programmes_nationaux"]
    formations_labels = PartenaireForm.base_fields["formations_labels"]

    def clean_courriels(self):
        return split_list(self.cleaned_data["courriels"])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["services"].label = "Services proposés (standard)"
        self.fields["typologies"].label = "Typologie du lieu (codes data·inclusion)"

    def clean_site_web(self):
        return split_list(self.cleaned_data["site_web"])
