from django import forms
from django.conf import settings

from ancrage.diagnostic.cibles import dimension_label
from ancrage.diagnostic.engine import DiagnosticImpossible, parse_ages
from ancrage.diagnostic.models import ImportJob
from ancrage.frequentation import readers
from ancrage.frequentation.readers import parse_age_band
from ancrage.territoire.insee import DIMENSIONS

FORMAT_CHOICES = [
    ("ancrage", "Fichier des usagers d’Ancrage (CSV, une ligne par personne)"),
    ("coop", "Export des activités de La Coop de la médiation numérique (XLSX)"),
    ("agrege", "Comptages agrégés (CSV : code_secteur;dimension;categorie;usagers)"),
]
NIVEAU_CHOICES = [
    ("iris", "IRIS"),
    ("commune", "Commune"),
    ("quartier", "Quartier (vos regroupements d’IRIS)"),
]
KIND_HELP = {
    ImportJob.Kind.POPULATION: "Base INSEE à l’IRIS (évolution et structure de la population, activité des "
    "résidents ou diplômes-formation), en CSV, XLS ou XLSX, telle que l’INSEE la publie.",
    ImportJob.Kind.FREQUENTATION: "Vos usagers, l’export de La Coop ou des comptages agrégés.",
    ImportJob.Kind.PRIORITES: "CSV « theme;poids;dimension;categorie;secteurs » : "
    "remplace les priorités actuelles.",
    ImportJob.Kind.CONTOURS: "Les « Contours IRIS » de l’IGN tels qu’ils sont publiés : le shapefile "
    "(.shp, .shx, .dbf, .prj, choisis ensemble ou dans une archive .zip) ou le GeoPackage (.gpkg), "
    "en Lambert-93 ; ou un "
    "GeoJSON en WGS 84 dont chaque objet porte le code IRIS dans « code_iris » ou « code ». Les "
    "contours hors de votre territoire sont ignorés.",
    ImportJob.Kind.QUARTIERS: "CSV « code_iris;quartier » : remplace les quartiers actuels.",
}


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files at once (a shapefile's .shp, .shx, .dbf, .prj): a list of uploads."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(d, initial) for d in data] or super().clean(None)
        return [super().clean(data, initial)]


class ImportForm(forms.Form):
    # Empty files go through: the import then names the file in its refusal, like any other problem.
    fichier = forms.FileField(label="Fichier", allow_empty_file=True)
    format = forms.ChoiceField(label="Format du fichier", choices=FORMAT_CHOICES, required=False)

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.fields["fichier"].help_text = KIND_HELP[kind]
        if kind != ImportJob.Kind.FREQUENTATION:
            del self.fields["format"]
        if kind == ImportJob.Kind.CONTOURS:  # a shapefile's files may be chosen together
            self.fields["fichier"] = MultipleFileField(
                label="Fichiers", allow_empty_file=True, help_text=KIND_HELP[kind]
            )

    def clean_fichier(self):
        uploads = self.cleaned_data["fichier"]
        limit = getattr(settings, "ANCRAGE_UPLOAD_MAX_SIZE", 20 * 1024 * 1024)
        for upload in uploads if isinstance(uploads, list) else [uploads]:
            if upload.size > limit:
                raise forms.ValidationError(
                    f"Fichier « {upload.name} » : trop volumineux ({upload.size // (1024 * 1024)} Mo, "
                    f"{limit // (1024 * 1024)} Mo au plus)."
                )
        if isinstance(uploads, list):
            total = sum(u.size for u in uploads)
            if total > limit:
                raise forms.ValidationError(
                    f"Les {len(uploads)} fichiers pèsent ensemble {total // (1024 * 1024)} Mo, "
                    f"{limit // (1024 * 1024)} Mo au plus."
                )
            names = [u.name for u in uploads]
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise forms.ValidationError(f"Fichier « {twice[0]} » choisi deux fois.")
        return uploads


class DiagnosticForm(forms.Form):
    def clean_ages(self):
        try:
            return parse_ages(self.cleaned_data.get("ages"))
        except DiagnosticImpossible as exc:
            raise forms.ValidationError(str(exc)) from None

    titre = forms.CharField(label="Titre", max_length=200, required=False)
    frequentation = forms.ChoiceField(label="Fréquentation")
    niveau = forms.ChoiceField(label="Secteurs", choices=NIVEAU_CHOICES, initial="iris")
    ages = forms.CharField(
        label="Âges servis par le lieu",
        help_text="Par exemple 15+ pour un lieu qui n'accueille pas d'enfants, ou 60+ ; vide : tous âges. "
        "Les parts et les taux sont alors calculés sur cette population.",
        max_length=20,
        required=False,
    )

    def __init__(self, *args, frequentations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["frequentation"].choices = [(str(f.pk), str(f)) for f in frequentations]


class PrioriteForm(forms.Form):
    theme = forms.CharField(label="Thème", max_length=120)
    poids = forms.FloatField(label="Poids", min_value=0.1, max_value=100, initial=1)
    dimension = forms.ChoiceField(
        label="Public visé : dimension",
        choices=[("", "tout public")] + [(d, dimension_label(d)) for d in DIMENSIONS],
        required=False,
    )
    categorie = forms.CharField(
        label="Public visé : catégorie",
        required=False,
        help_text="Ex. « 15-29 », « 60+ », « chômeur », « CS6 » (ouvriers), « F » (femmes).",
    )
    qpv = forms.BooleanField(label="Vise les quartiers prioritaires (QPV)", required=False)

    def clean(self):
        data = super().clean()
        dimension, categorie = data.get("dimension"), (data.get("categorie") or "").strip()
        if dimension and not categorie:
            self.add_error("categorie", "Indiquez la catégorie visée.")
        if categorie and not dimension:
            self.add_error("dimension", "Indiquez la dimension de la catégorie.")
        if dimension == "age" and categorie and parse_age_band(categorie) is None:
            self.add_error("categorie", "Tranche d’âge non reconnue (ex. « 15-29 », « 60+ »).")
        return data

    def categories(self) -> list[tuple[str, str]]:
        """The targeted (dimension, categorie), the category in the diagnostic's code."""
        data = self.cleaned_data
        if not data["dimension"]:
            return []
        categorie = data["categorie"].strip()
        if data["dimension"] == "age":
            categorie = readers.band_label(readers.parse_age_band(categorie))
        else:
            categorie = readers.CATEGORY_CODES[data["dimension"]].get(
                readers.fold_label(categorie), categorie
            )
        return [(data["dimension"], categorie)]


class QpvForm(forms.Form):
    codes = forms.CharField(
        label="Codes IRIS des quartiers prioritaires",
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text="Séparés par des espaces, virgules ou retours à la ligne.",
    )


class QuartierForm(forms.Form):
    nom = forms.CharField(label="Nom du quartier", max_length=120)
    iris = forms.CharField(
        label="Codes IRIS du quartier",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Séparés par des espaces.",
    )
