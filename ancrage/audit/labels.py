"""What an audit entry's changes say to a person: field names and states in French.

An entry keeps its changes as the code wrote them (``{"etat": ["brouillon", "en_validation"]}``,
``{"referencee_par": …}``): the chain's hashes cover them, so they stay as they are. The pages
read them through these functions, which take the words from the models themselves (a field's
``verbose_name``, a choice's label), so that a new field or state needs no second table.
"""

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist

#: Keys of ``changes`` that are not a field of the object's model.
EXTRA_LABELS = {
    "tour": "tour de validation",
    "fichier": "fichier",
    "motif": "motif",
    "lignes": "lignes",
}


def _model(object_type: str):
    try:
        return apps.get_model(object_type)
    except (LookupError, ValueError):
        return None


def _field(object_type: str, name: str):
    model = _model(object_type)
    if model is None:
        return None
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def field_label(object_type: str, name: str) -> str:
    """« referencee_par » of a structure → « référencée par »; an unknown key, its words."""
    field = _field(object_type, name)
    if field is not None and getattr(field, "verbose_name", None):
        return str(field.verbose_name)
    return EXTRA_LABELS.get(name, name.replace("_", " "))


def field_labels(object_type: str, names) -> list[str]:
    return [field_label(object_type, name) for name in names]


def value_label(object_type: str, name: str, value) -> str:
    """A stored choice (« en_validation ») as its label (« En validation »)."""
    field = _field(object_type, name)
    choices = dict(getattr(field, "flatchoices", None) or ()) if field is not None else {}
    label = choices.get(value)
    return str(label) if label is not None else str(value)


def transition_label(object_type: str, name: str, values) -> str:
    """``["brouillon", "en_validation"]`` → « Brouillon → En validation »."""
    return " → ".join(value_label(object_type, name, v) for v in values)
