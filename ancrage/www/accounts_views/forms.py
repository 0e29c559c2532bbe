from django import forms
from django.contrib.auth.forms import PasswordResetForm, SetPasswordForm

from ancrage.accounts.services import invitable_targets
from ancrage.www.forms import AncrageForm
from ancrage.www.pickers import OrganisationSelect


class SecondFactorForm(AncrageForm):
    token = forms.CharField(
        label="Code à 6 chiffres",
        help_text="Le code affiché par votre application d’authentification.",
        min_length=6,
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean_token(self):
        token = self.cleaned_data["token"].replace(" ", "")
        if not token.isdigit():
            raise forms.ValidationError("Le code ne contient que des chiffres.")
        return token


def _target_value(role, target) -> str:
    return f"{role.value}:{target._meta.model_name}:{target.pk}"


class InvitationForm(AncrageForm):
    email = forms.EmailField(label="Adresse e-mail de la personne invitée")
    cible = forms.ChoiceField(
        label="Rôle et organisation",
        widget=OrganisationSelect,
        help_text="Tapez quelques lettres du rôle ou de l’organisation pour filtrer la liste.",
    )

    def __init__(self, *args, user, **kwargs):
        self.pairs = {_target_value(role, target): (role, target) for role, target in invitable_targets(user)}
        super().__init__(*args, **kwargs)
        self.fields["cible"].choices = [
            (value, f"{role.label} — {target}") for value, (role, target) in self.pairs.items()
        ]

    def clean_cible(self):
        # The choices are exactly what the user may invite to; anything else is refused here.
        return self.pairs[self.cleaned_data["cible"]]


class InvitationAcceptForm(AncrageForm):
    first_name = forms.CharField(label="Prénom", max_length=150)
    last_name = forms.CharField(label="Nom", max_length=150)
    password1 = forms.CharField(
        label="Mot de passe",
        help_text="Au moins 12 caractères, ni trop courant, ni proche de votre nom ou de votre adresse.",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label="Confirmation du mot de passe",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password1") and cleaned.get("password1") != cleaned.get("password2"):
            self.add_error("password2", "Les deux mots de passe ne sont pas identiques.")
        return cleaned


class DsfrPasswordResetForm(AncrageForm, PasswordResetForm):
    pass


class DsfrSetPasswordForm(AncrageForm, SetPasswordForm):
    pass


class ApiTokenForm(AncrageForm):
    DURATIONS = [("30", "30 jours"), ("90", "90 jours"), ("365", "1 an"), ("0", "Sans expiration")]

    nom = forms.CharField(
        label="Nom du jeton",
        max_length=100,
        help_text="Pour le reconnaître : l’outil ou la personne qui l’utilisera "
        "(« tableau de bord du réseau »).",
    )
    duree = forms.ChoiceField(label="Durée de validité", choices=DURATIONS, initial="90")
