"""A sector's label (ancrage.territoire.libelles) and the names a territory gives its sectors."""

import pytest
from django.template import Context, Template
from hypothesis import given
from hypothesis import strategies as st

from ancrage.territoire import libelles
from ancrage.territoire import services as territoire_services
from tests.demo_accounts import blosne
from tests.properties import examples

pytestmark = pytest.mark.demo(conventions=False)


def test_a_sector_reads_by_its_name():
    assert libelles.libelle_secteur("352381103", "Rennes - Le Blosne Est") == "Rennes – Le Blosne Est"
    assert libelles.libelle_secteur("352380101", "Rennes (IRIS 0101)") == "Rennes (IRIS 0101)"
    assert libelles.libelle_secteur("35238", None) == "35238"  # no name: the code
    assert libelles.libelle_secteur("Le Blosne", "Le Blosne") == "Le Blosne"


def test_the_commune_of_an_iris_name():
    assert libelles.commune_of_nom("Rennes - Le Blosne Est") == "Rennes"
    assert libelles.commune_of_nom("Vitré (IRIS 0101)") == "Vitré"
    assert libelles.commune_of_nom("Vitré") == "Vitré"


def test_levels_and_option_labels():
    assert libelles.niveau_label("iris") == "IRIS"
    assert libelles.niveau_label("commune") == "communes"
    option = libelles.OptionLabel("Rennes <Sud>", "352381103")
    assert str(option) == "Rennes <Sud> (352381103)"
    assert (
        option.__html__() == '<span>Rennes &lt;Sud&gt; <span class="ancrage-code">(352381103)</span></span>'
    )


def test_the_secteur_filter_writes_the_code_in_small_type():
    html = Template("{% load francais %}{{ code|secteur:noms }} / {{ other|secteur:noms }}").render(
        Context({"code": "352381103", "other": "999999999", "noms": {"352381103": "Rennes - Le Blosne Est"}})
    )
    assert html == 'Rennes – Le Blosne Est <span class="ancrage-code">(352381103)</span> / 999999999'


def test_wording_filters():
    html = Template(
        '{% load francais %}{{ 1|nombre:"usager" }}, {{ 0|nombre:"usager" }}, {{ 2|nombre:"lieu,lieux" }}; '
        "Engagements {{ nom|de_nom }}; {{ 'chomeur'|categorie:'activite' }}; {{ 'activite'|dimension }}"
    ).render(Context({"nom": "Espace social commun"}))
    assert html == (
        "1 usager, 0 usager, 2 lieux; Engagements d’Espace social commun; chômeurs (15-64 ans); "
        "Situation d&#x27;activité (15-64 ans)"
    )


def test_the_demo_territory_names_its_iris_communes_and_quartier(demo):
    noms = territoire_services.secteur_noms(blosne())
    assert noms["352380101"] == "Rennes (IRIS 0101)"
    assert noms["35238"] == "Rennes"  # the COG's name
    assert noms["Le Blosne"] == "Le Blosne"
    assert territoire_services.secteur_noms(blosne(), ["352381101", "35238", "inconnu"]) == {
        "352381101": "Rennes (IRIS 1101)",
        "35238": "Rennes",
    }


def test_a_form_offers_the_sectors_by_name_and_keeps_codes(demo):
    from ancrage.www.actions_views.forms import ActionForm

    epn = blosne()
    form = ActionForm(
        {"epn": epn.pk, "titre": "Atelier", "type": "ponctuelle", "secteurs": ["352381101", "Le Blosne"]},
        epns=[epn],
    )
    labels = {
        value: str(label) for _group, options in form.fields["secteurs"].choices for value, label in options
    }
    assert labels["Le Blosne"] == "Le Blosne"
    assert labels["352381101"] == "Rennes (IRIS 1101) (352381101)"
    assert form.is_valid(), form.errors
    assert form.cleaned_data["secteurs"] == ["352381101", "Le Blosne"]
    # A list typed as before, and a code outside the territory, are still read as codes.
    typed = ActionForm(
        {"epn": epn.pk, "titre": "Atelier", "type": "ponctuelle", "secteurs": "352381101, 75056"}, epns=[epn]
    )
    assert typed.is_valid(), typed.errors
    assert typed.cleaned_data["secteurs"] == ["352381101", "75056"]
    assert 'class="ancrage-code' in str(form["secteurs"])


iris_codes = st.from_regex(r"\A(?:\d{2}|2[AB])\d{7}\Z")
names = st.text(min_size=1, max_size=40).filter(lambda s: s.strip())


@given(iris_codes, names)
@examples(100)
def test_a_named_sector_never_reads_as_its_code(code, nom):
    label = libelles.libelle_secteur(code, nom)
    assert label == code or libelles.has_name(code, nom)
    if nom.strip() != code:
        assert label == nom.strip().replace(" - ", " – ")


@given(names, iris_codes)
@examples(100)
def test_an_option_label_escapes_its_name(nom, code):
    html = libelles.OptionLabel(nom, code).__html__()
    assert html.endswith(f'<span class="ancrage-code">({code})</span></span>')
    assert "<" not in html.removeprefix("<span>").split(" <span", 1)[0].replace("&lt;", "")
