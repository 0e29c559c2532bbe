from django import forms

from ancrage.www.forms import AncrageForm

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class FiltreReseauForm(AncrageForm):
    """The network dashboard's filters (GET): a collectivité and the period of the sessions."""

    collectivite = forms.TypedChoiceField(label="Collectivité", coerce=int, required=False, empty_value=None)
    debut = forms.DateField(label="Séances à partir du", required=False, widget=DATE_WIDGET)
    fin = forms.DateField(label="Séances jusqu’au", required=False, widget=DATE_WIDGET)

    def __init__(self, *args, collectivites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["collectivite"].choices = [("", "Toutes")] + [(c.pk, c.nom) for c in collectivites]

    def clean(self):
        data = super().clean()
        debut, fin = data.get("debut"), data.get("fin")
        if debut and fin and debut > fin:
            self.add_error("fin", "La fin de la période doit venir après son début.")
        return data
