import pytest

from ancrage.organisations import cog


def test_rennes_metropole_has_its_43_communes():
    communes = cog.communes_of("epci", "243500139")
    assert len(communes) == 43
    assert {"35238", "35051"} <= {c.code for c in communes}  # Rennes, Cesson-Sévigné
    assert all(c.epci == "243500139" for c in communes)
    assert cog.name_of("epci", "243500139") == "Rennes Métropole"


def test_population_is_the_sum_of_the_communes():
    communes = cog.communes_of("epci", "243500139")
    assert cog.population_of("epci", "243500139") == sum(c.population for c in communes) > 400_000


@pytest.mark.parametrize(
    ("code", "nom"),
    [("2A004", "Ajaccio"), ("97411", "Saint-Denis"), ("98818", "Nouméa"), ("75056", "Paris")],
)
def test_corsica_overseas_and_paris_are_known(code, nom):
    assert cog.commune(code).nom == nom


def test_municipal_arrondissements_belong_to_their_commune_and_its_epci():
    lyon = cog.arrondissements_of("69123")
    assert [a.code for a in lyon] == [f"6938{i}" for i in range(1, 10)]
    assert cog.covers("epci", cog.commune("69123").epci, "69383")
    assert cog.covers("commune", "75056", "75108")
    assert not cog.covers("commune", "13055", "75108")
    # A commune collectivité's communes are the commune itself, not its arrondissements.
    assert [c.code for c in cog.communes_of("commune", "75056")] == ["75056"]


def test_departement_covers_its_communes_only():
    communes = cog.communes_of("departement", "35")
    assert len(communes) > 300
    assert all(c.departement == "35" for c in communes)
    assert cog.covers("departement", "35", "35360")
    assert not cog.covers("departement", "35", "29019")


@pytest.mark.parametrize(
    ("type_", "code"), [("commune", "99999"), ("epci", "000000000"), ("departement", "00")]
)
def test_unknown_codes_are_refused_in_french(type_, code):
    with pytest.raises(cog.UnknownCode, match="n'existe pas dans le COG 2026"):
        cog.communes_of(type_, code)


def test_covers_is_false_for_an_unknown_commune():
    assert not cog.covers("epci", "243500139", "ABCDE")


def test_search_by_name_prefers_larger_communes():
    assert cog.search("Renne")[0].code == "35238"
