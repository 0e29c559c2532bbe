from django import forms


class UsagerForm(forms.Form):
    identifiant = forms.CharField(
        label="Identifiant de l’usager",
        max_length=100,
        help_text="L’identifiant tel qu’il figure dans vos fichiers d’usagers (colonne « identifiant »).",
    )


class EffacementForm(UsagerForm):
    confirmation = forms.BooleanField(
        label="Je confirme l’effacement définitif de toutes les données de cet usager",
        required=True,
    )
