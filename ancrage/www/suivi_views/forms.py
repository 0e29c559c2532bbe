from django import forms

from ancrage.suivi.enums import CSP_CHOICES, SEXE_CHOICES, SITUATION_CHOICES, NatureEchange, SensPromotion
from ancrage.www.forms import AncrageForm
from ancrage.www.pickers import OrganisationSelect, grouped_choices

EMPTY_ORIENTE = "personne / venu·e seul·e"


class SheetRowForm(AncrageForm):
    """One line of a session sheet. An empty line is ignored."""

    identifiant = forms.CharField(label="Identifiant", max_length=100, required=False)
    present = forms.BooleanField(label="Présent·e", required=False, initial=True)
    oriente_par = forms.ModelChoiceField(
        label="Orienté·e par", queryset=None, required=False, widget=OrganisationSelect
    )
    annee_naissance = forms.IntegerField(
        label="Année de naissance", required=False, min_value=1900, max_value=2100
    )
    sexe = forms.ChoiceField(label="Sexe", choices=SEXE_CHOICES, required=False)
    csp = forms.ChoiceField(label="CSP", choices=CSP_CHOICES, required=False)
    situation = forms.ChoiceField(label="Situation", choices=SITUATION_CHOICES, required=False)
    code_iris = forms.RegexField(
        label="Code IRIS",
        regex=r"^\d[0-9AB]\d{7}$",
        required=False,
        error_messages={"invalid": "9 caractères (code commune + 4 chiffres)."},
    )
    premiere_visite = forms.DateField(
        label="Première visite", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    retirer = forms.BooleanField(label="Retirer de la feuille", required=False)

    def __init__(self, *args, partners, partner_choices=None, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["oriente_par"]
        field.queryset = partners
        field.empty_label = EMPTY_ORIENTE
        if partner_choices is not None:
            field.widget.choices = partner_choices


class BaseSheetFormSet(forms.BaseFormSet):
    """``partner_groups`` (``pickers.ordered_organisations``) orders the « orienté par » options,
    computed once for every row."""

    def __init__(self, *args, partners, partner_groups=None, **kwargs):
        self.partners = partners
        self.partner_choices = (
            grouped_choices(partner_groups, empty_label=EMPTY_ORIENTE) if partner_groups is not None else None
        )
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {
            **super().get_form_kwargs(index),
            "partners": self.partners,
            "partner_choices": self.partner_choices,
        }


SheetFormSet = forms.formset_factory(SheetRowForm, formset=BaseSheetFormSet, extra=8)


class ImportForm(AncrageForm):
    fichier = forms.FileField(
        label="Fichier des usagers (CSV)",
        help_text=(
            "Le format du fichier des usagers du diagnostic ; la colonne oriente_par nomme le partenaire."
        ),
    )


class EvaluationForm(AncrageForm):
    difficultes = forms.CharField(
        label="Difficultés rencontrées", required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    enseignements = forms.CharField(
        label="Enseignements pour la suite", required=False, widget=forms.Textarea(attrs={"rows": 4})
    )


class AvantApresForm(AncrageForm):
    frequentation = forms.ModelChoiceField(
        label="Fréquentation de la période après l’action", queryset=None, empty_label=None
    )

    def __init__(self, *args, frequentations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["frequentation"].queryset = frequentations


class EchangeForm(AncrageForm):
    date = forms.DateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}))
    nature = forms.ChoiceField(label="Nature", choices=NatureEchange.choices)
    personnes = forms.CharField(label="Personnes", required=False, max_length=255)
    resume = forms.CharField(label="Résumé", widget=forms.Textarea(attrs={"rows": 3}))


class PromotionForm(AncrageForm):
    date = forms.DateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}))
    sens = forms.ChoiceField(label="Qui a promu qui", choices=SensPromotion.choices)
    description = forms.CharField(label="Ce qui a été fait", max_length=255)


class DelaiForm(AncrageForm):
    jours = forms.IntegerField(
        label="Délai de relance (jours)",
        required=False,
        min_value=1,
        max_value=3650,
        help_text="Vide : le délai par défaut.",
    )
