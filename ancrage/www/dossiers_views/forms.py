from django import forms

from ancrage.dossiers import pieces
from ancrage.dossiers.enums import (
    CategorieCharge,
    CategorieRessource,
    Etat,
    MotifCorrection,
    TypeContributeur,
    TypeSupport,
)
from ancrage.dossiers.workflow import DossierAction
from ancrage.partenaires.enums import FAMILLE_CHOICES
from ancrage.www.forms import AncrageForm
from ancrage.www.forms_renderer import RenderedOnceForm

MONTANT = {"max_digits": 12, "decimal_places": 2, "min_value": 0}
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
# The line forms' lists start empty: a browser posts a list's first option, so without a blank
# one the blank extra lines of a formset looked changed, and "required" stopped every save.
BLANK = ("", "— à choisir —")


class DossierForm(AncrageForm):
    titre = forms.CharField(label="Titre du dossier", max_length=200)
    presentation = forms.CharField(
        label="Présentation du projet",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Reprise du contenu de l’action : complétez-la pour la collectivité.",
    )
    calendrier = forms.CharField(
        label="Calendrier prévisionnel", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class ChargeForm(AncrageForm):
    categorie = forms.ChoiceField(label="Compte", choices=[BLANK, *CategorieCharge.choices])
    libelle = forms.CharField(label="Libellé", max_length=200)
    montant = forms.DecimalField(label="Montant (€)", **MONTANT)


class RessourceForm(AncrageForm):
    categorie = forms.ChoiceField(label="Compte", choices=[BLANK, *CategorieRessource.choices])
    libelle = forms.CharField(label="Libellé", max_length=200)
    montant = forms.DecimalField(label="Montant (€)", **MONTANT)
    contributeur = forms.CharField(
        label="Apporté par", max_length=200, help_text="La structure porteuse, un partenaire ou un financeur."
    )
    type_contributeur = forms.ChoiceField(label="Qualité", choices=[BLANK, *TypeContributeur.choices])


class SupportForm(AncrageForm):
    type = forms.ChoiceField(label="Support", choices=[BLANK, *TypeSupport.choices])
    description = forms.CharField(label="Description", max_length=255, required=False)
    diffuse_par = forms.CharField(label="Diffusé par", max_length=200, required=False)


ChargeFormSet = forms.formset_factory(ChargeForm, extra=2, can_delete=True, max_num=60, validate_max=True)
RessourceFormSet = forms.formset_factory(
    RessourceForm, extra=2, can_delete=True, max_num=60, validate_max=True
)
SupportFormSet = forms.formset_factory(SupportForm, extra=1, can_delete=True, max_num=30, validate_max=True)


class PieceForm(AncrageForm):
    fichier = forms.FileField(
        label="Fichier",
        help_text=f"{pieces.ACCEPTED_LABEL} ; {pieces.MAX_SIZE // pieces.MIB} Mo au plus.",
    )
    description = forms.CharField(label="Description", max_length=255, required=False)

    def clean_fichier(self):
        fichier = self.cleaned_data["fichier"]
        # Refused before reading it into memory.
        if fichier.size > pieces.MAX_SIZE:
            raise forms.ValidationError(
                f"Le fichier dépasse la limite de {pieces.MAX_SIZE // pieces.MIB} Mo."
            )
        return fichier


class _StateForm(AncrageForm):
    # The state the user saw: if the dossier changed meanwhile, the action is refused.
    etat = forms.ChoiceField(choices=Etat.choices, widget=forms.HiddenInput)


class TransitionForm(_StateForm):
    action = forms.ChoiceField(choices=[(a.value, a.label) for a in DossierAction], widget=forms.HiddenInput)
    message = forms.CharField(
        label="Message à la collectivité (facultatif)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class CorrectionForm(_StateForm):
    motif = forms.ChoiceField(label="Motif", choices=MotifCorrection.choices, widget=forms.RadioSelect)
    message = forms.CharField(
        label="Message à l’EPN", widget=forms.Textarea(attrs={"rows": 4}), help_text="Ce qu’il faut corriger."
    )


DECISIONS = [
    (DossierAction.ACCEPTER.value, "Accepter le dossier"),
    (DossierAction.REFUSER.value, "Refuser le dossier"),
    (DossierAction.CLASSER_SANS_SUITE.value, "Classer le dossier sans suite"),
]


class DecisionForm(_StateForm):
    decision = forms.ChoiceField(label="Décision", choices=DECISIONS, widget=forms.RadioSelect)
    motivation = forms.CharField(
        label="Motivation",
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Elle figure dans l’attestation envoyée à l’EPN et dans l’historique du dossier.",
    )


class RouvrirForm(_StateForm):
    motivation = forms.CharField(
        label="Pourquoi rouvrir le dossier ?", widget=forms.Textarea(attrs={"rows": 3})
    )


class MessageForm(AncrageForm):
    texte = forms.CharField(label="Votre message", widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)


class AnnotationForm(AncrageForm):
    texte = forms.CharField(
        label="Annotation privée",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        help_text="Visible des seuls référents et élus de la collectivité : l’EPN ne la voit pas.",
    )


class FiltreForm(RenderedOnceForm, AncrageForm):
    """The lists' filters (GET): rendered once per state, see ``RenderedOnceForm``."""

    etat = forms.ChoiceField(label="État", choices=[("", "Tous")] + list(Etat.choices), required=False)
    epn = forms.TypedChoiceField(label="EPN", coerce=int, required=False, empty_value=None)
    thematique = forms.ChoiceField(
        label="Thématique", choices=[("", "Toutes"), *FAMILLE_CHOICES], required=False
    )
    depose_apres = forms.DateField(label="Déposé à partir du", required=False, widget=DATE_WIDGET)
    depose_avant = forms.DateField(label="Déposé jusqu’au", required=False, widget=DATE_WIDGET)

    def __init__(self, *args, epns, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["epn"].choices = [("", "Tous")] + [(epn.pk, epn.nom) for epn in epns]
