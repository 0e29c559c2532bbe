from django import forms

from ancrage.actions.enums import CategorieCharge, CategorieRessource, Tache, TypeAction
from ancrage.organisations.models import Structure
from ancrage.partenaires import enums_standard
from ancrage.partenaires.enums import FAMILLE_CHOICES
from ancrage.partenaires.publics import PUBLIC_CHOICES
from ancrage.www.forms import AncrageForm, SecteursField
from ancrage.www.pickers import OrganisationSelect, grouped_choices

DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class ActionForm(AncrageForm):
    epn = forms.ModelChoiceField(label="EPN", queryset=None, empty_label=None)
    titre = forms.CharField(label="Titre", max_length=200)
    thematique = forms.ChoiceField(
        label="Thématique", choices=(("", "— à choisir —"), *FAMILLE_CHOICES), required=False
    )
    services = forms.MultipleChoiceField(
        label="Services du standard",
        choices=enums_standard.SERVICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    type = forms.ChoiceField(label="Type d’action", choices=TypeAction.choices, widget=forms.RadioSelect)
    publics = forms.MultipleChoiceField(
        label="Publics visés", choices=PUBLIC_CHOICES, required=False, widget=forms.CheckboxSelectMultiple
    )
    secteurs = SecteursField(
        label="Secteurs visés",
        help_text="Les quartiers, communes et IRIS du territoire de l’EPN, par leur nom.",
    )
    contenu = forms.CharField(label="Contenu", required=False, widget=forms.Textarea(attrs={"rows": 5}))
    lieu = forms.CharField(label="Lieu", required=False, max_length=255)

    def __init__(self, *args, epns, secteurs_noms=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["epn"].queryset = Structure.objects.filter(pk__in=[epn.pk for epn in epns])
        if len(epns) == 1:
            self.fields["epn"].initial = epns[0]
            self.fields["epn"].widget = forms.HiddenInput()
        chosen = self["secteurs"].value() or []
        self.fields["secteurs"].offer(epns, self.fields["secteurs"].to_python(chosen), secteurs_noms)


class ObjectifForm(AncrageForm):
    libelle = forms.CharField(
        label="Objectif", max_length=255, help_text="Par exemple : participants, dont seniors…"
    )
    valeur_cible = forms.IntegerField(label="Nombre visé", min_value=0, max_value=1_000_000)
    critere_public = forms.ChoiceField(
        label="Dont : public (facultatif)", choices=(("", "—"), *PUBLIC_CHOICES), required=False
    )
    critere_secteur = forms.CharField(
        label="Dont : secteur (facultatif)",
        max_length=100,
        required=False,
        widget=forms.Select(choices=[("", "—")]),
    )

    def __init__(self, *args, action=None, **kwargs):
        super().__init__(*args, **kwargs)
        if action is not None:
            # The action's own sectors, by name; the stored value stays the code.
            self.fields["critere_secteur"].widget.choices = [("", "—")] + [
                (code, label) for code, label in zip(action.secteurs, action.secteurs_labels, strict=True)
            ]


class SeanceForm(AncrageForm):
    titre = forms.CharField(label="Séance", max_length=200)
    debut = forms.DateTimeField(label="Début", widget=DATETIME_WIDGET)
    fin = forms.DateTimeField(label="Fin", widget=DATETIME_WIDGET)
    lieu = forms.CharField(label="Lieu", max_length=255, required=False)

    def clean(self):
        data = super().clean()
        if data.get("debut") and data.get("fin") and data["fin"] <= data["debut"]:
            self.add_error("fin", "La fin doit être après le début.")
        return data


class ReunionForm(SeanceForm):
    titre = forms.CharField(label="Objet de la réunion", max_length=200)
    participants = forms.CharField(
        label="Participants",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Une personne par ligne.",
    )
    ordre_du_jour = forms.CharField(
        label="Ordre du jour", required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    compte_rendu = forms.CharField(
        label="Compte rendu", required=False, widget=forms.Textarea(attrs={"rows": 6})
    )


class DecisionForm(AncrageForm):
    texte = forms.CharField(label="Décision", widget=forms.Textarea(attrs={"rows": 2}))
    tache = forms.ChoiceField(
        label="Confier la tâche (facultatif)", choices=(("", "—"), *Tache.choices), required=False
    )
    partie = forms.ChoiceField(label="À", choices=(), required=False)

    def __init__(self, *args, parties, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partie"].choices = [("", "—"), *((p.id, p.name) for p in parties)]

    def clean(self):
        data = super().clean()
        if bool(data.get("tache")) != bool(data.get("partie")):
            raise forms.ValidationError("Pour confier une tâche, choisissez la tâche et la partie.")
        return data


class CommentaireForm(AncrageForm):
    texte = forms.CharField(
        label="Votre commentaire", widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )


class TransitionForm(forms.Form):
    vers = forms.CharField()
    commentaire = forms.CharField(required=False, max_length=2000)


class PickPartnerForm(AncrageForm):
    """Any partner of the EPN's directory, beyond the recommended ones (posts to ``partenaire_add``)."""

    partenaire = forms.ModelChoiceField(
        label="Partenaire de l’annuaire",
        queryset=None,
        widget=OrganisationSelect,
        help_text="Les plus proches de l’EPN d’abord ; tapez quelques lettres du nom pour filtrer la liste.",
    )
    role = forms.CharField(label="Rôle dans l’action", required=False, max_length=255)

    def __init__(self, *args, partners, groups, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["partenaire"]
        field.queryset = partners
        field.widget.choices = grouped_choices(groups, empty_label="— choisir —")


class AddPartnerForm(forms.Form):
    partenaire = forms.IntegerField()
    score = forms.IntegerField(required=False, min_value=0, max_value=100)
    role = forms.CharField(required=False, max_length=255)


def matrix_form(parties, data=None):
    """One radio group (responsable) and one checkbox group (contributeurs) per task."""
    choices = [(party.id, party.name) for party in parties]
    fields = {}
    for value, label in Tache.choices:
        fields[f"resp_{value}"] = forms.ChoiceField(
            label=f"{label} : responsable", choices=[("", "Personne"), *choices], required=False
        )
        fields[f"contrib_{value}"] = forms.MultipleChoiceField(
            label=f"{label} : contributeurs", choices=choices, required=False
        )
    form_class = type("MatrixForm", (forms.Form,), fields)
    return form_class(data)


# --- Budget -----------------------------------------------------------------------------------------

MONTANT = {"max_digits": 12, "decimal_places": 2, "min_value": 0}
# The lists start empty: a browser posts a list's first option, so without a blank one the blank
# extra lines of a formset looked changed, and "required" stopped every save.
BLANK = ("", "— à choisir —")
AUTRE = "autre"


class ChargeForm(AncrageForm):
    categorie = forms.ChoiceField(label="Compte", choices=[BLANK, *CategorieCharge.choices])
    libelle = forms.CharField(label="Libellé", max_length=200)
    montant = forms.DecimalField(label="Montant (€)", **MONTANT)


class RessourceForm(AncrageForm):
    categorie = forms.ChoiceField(label="Compte", choices=[BLANK, *CategorieRessource.choices])
    libelle = forms.CharField(label="Libellé", max_length=200)
    montant = forms.DecimalField(label="Montant (€)", **MONTANT)
    partie = forms.ChoiceField(
        label="Apporté par",
        help_text="L’EPN (fonds propres), sa collectivité, un partenaire de l’action, ou un autre financeur.",
    )
    contributeur = forms.CharField(
        label="Nom de l’autre financeur",
        max_length=200,
        required=False,
        help_text="Seulement pour un autre financeur (CAF, État, fondation…).",
    )

    def __init__(self, *args, parties: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partie"].choices = [
            BLANK,
            *parties.items(),
            (AUTRE, "Un autre financeur (à nommer ci-dessous)"),
        ]

    def clean(self):
        data = super().clean()
        if data.get("partie") == AUTRE and not data.get("contributeur", "").strip():
            self.add_error("contributeur", "Nommez le financeur qui apporte cette ressource.")
        return data


ChargeFormSet = forms.formset_factory(ChargeForm, extra=2, can_delete=True, max_num=60, validate_max=True)
RessourceFormSet = forms.formset_factory(
    RessourceForm, extra=2, can_delete=True, max_num=60, validate_max=True
)
