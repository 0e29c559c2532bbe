"""The helpers every page shares: errors flashed as messages, a service's refusal on its form."""

from django import forms
from django.contrib import messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.exceptions import ValidationError
from django.test import RequestFactory

from ancrage.dossiers.workflow import WorkflowError
from ancrage.www.forms import AncrageForm, add_validation_error
from ancrage.www.messages import flash_errors


class NameForm(AncrageForm):
    nom = forms.CharField(label="Nom")
    code = forms.CharField(label="Code", required=False)


def _request():
    request = RequestFactory().post("/")
    request._messages = CookieStorage(request)
    return request


def _flashed(request) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in messages.get_messages(request)]


def test_a_validation_error_is_one_message():
    request = _request()
    flash_errors(request, ValidationError(["Trop tard.", "Déjà signé."]))
    assert _flashed(request) == [("error", "Trop tard. Déjà signé.")]


def test_an_invalid_form_gives_one_message_per_field_after_its_label():
    request, form = _request(), NameForm({"code": "x"})
    assert not form.is_valid()
    form.add_error(None, "Rien n’est enregistré.")
    flash_errors(request, form)
    assert _flashed(request) == [
        ("error", "Nom : Ce champ est obligatoire."),
        ("error", "Rien n’est enregistré."),
    ]


def test_a_refused_transition_shows_its_message():
    request = _request()
    flash_errors(request, WorkflowError("Le dossier est déjà déposé."))
    assert _flashed(request) == [("error", "Le dossier est déjà déposé.")]


def test_a_service_error_lands_under_its_field_or_on_top_of_the_form():
    form = NameForm({"nom": "A"})
    assert form.is_valid()
    add_validation_error(form, ValidationError({"code": "Code inconnu.", "siret": "SIRET invalide."}))
    assert form.errors == {"code": ["Code inconnu."], "__all__": ["SIRET invalide."]}
    form = NameForm({"nom": "A"})
    assert form.is_valid()
    add_validation_error(form, ValidationError("Refusé."))
    assert form.non_field_errors() == ["Refusé."]
