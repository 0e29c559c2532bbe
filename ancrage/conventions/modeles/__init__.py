"""Built-in convention models, written as a French jurist would.

Each model is a Python module whose article texts can be read and reviewed
in the repository; see :mod:`ancrage.conventions.modeles.base` for why.
"""

from ancrage.conventions.content import ConventionContent
from ancrage.conventions.modeles import mise_a_disposition, partenariat_ecole, partenariat_generique
from ancrage.conventions.modeles.base import BuiltinModel, ConventionDocument

MODELS: dict[str, BuiltinModel] = {
    model.slug: model
    for model in (mise_a_disposition.MODEL, partenariat_ecole.MODEL, partenariat_generique.MODEL)
}


def build_document(model_slug: str, content: ConventionContent) -> ConventionDocument:
    try:
        model = MODELS[model_slug]
    except KeyError:
        raise ValueError(f"Modèle de convention inconnu : « {model_slug} ».") from None
    return model.build(content)
