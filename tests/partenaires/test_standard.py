"""The national standard: reading the Cartographie's JSON and the CSV, writing a CSV that validates."""

import csv
import dataclasses
import io
import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from ancrage.core.importing import ImportIssue, ImportRejected
from ancrage.partenaires import enums_standard, standard
from ancrage.partenaires.standard import (
    FIELDS,
    Lieu,
    StandardExportError,
    find_duplicates,
    lieu_from_values,
    read_cartographie_json,
    read_csv,
    validate_csv,
    write_cartographie_json,
    write_csv,
    write_csv_bytes,
)
from tests.properties import examples

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "partenaires"
NC = "nouvelle-caledonie-90-lieux.json"
PACA = "paca-extrait-quirks.json"
CHARENTE = "charente-extrait-quirks.json"


def read_fixture(name):
    return read_cartographie_json((FIXTURES / name).read_bytes(), file=name)


def messages(issues):
    return [str(issue) for issue in issues]


def minimal(**values):
    base = dict(id="a1", nom="Espace numérique", commune="Rennes", code_postal="35000", adresse="1 rue X")
    base.update(values)
    return base


def csv_text(rows, header=None):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header or list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


class TestEnums:
    def test_92_typologies_with_french_labels(self):
        assert len(enums_standard.TYPOLOGIES) == 92
        assert enums_standard.typology_label("CCAS") == "Centres communaux d’action sociale (CCAS)"
        assert enums_standard.typology_label("FT") == "France travail"
        assert all(label for _code, label in enums_standard.TYPOLOGIES)

    def test_counts_of_the_standard(self):
        assert len(enums_standard.SERVICES) == 9
        assert len(enums_standard.PUBLICS_SPECIFIQUEMENT_ADRESSES) == 5
        assert len(enums_standard.DISPOSITIFS_PROGRAMMES_NATIONAUX) == 11
        assert len(enums_standard.FORMATIONS_LABELS) == 10

    def test_lookup_is_forgiving_on_accents_and_case(self):
        assert enums_standard.lookup("services", "aide aux demarches administratives") == (
            "Aide aux démarches administratives"
        )
        assert enums_standard.lookup("typologie", "Mission Locale") == "ML"
        assert enums_standard.lookup("frais_a_charge", "Gratuit sous conditions!") is None

    def test_shipped_schema_is_the_standard_1_0_2(self):
        assert standard.STANDARD_VERSION == "v1.0.2"
        assert len(FIELDS) == 32
        assert standard.REQUIRED_FIELDS == (
            "id",
            "pivot",
            "nom",
            "commune",
            "code_postal",
            "adresse",
            "date_maj",
        )


class TestColumns:
    def test_the_multi_valued_columns_are_those_the_schema_says(self):
        # A column is multi-valued when its pattern repeats values around "|" or its example holds
        # one; autres_formations_labels says neither, but the Cartographie's data holds a list.
        said = {
            spec["name"]
            for spec in standard.SCHEMA["fields"]
            if r"(?:^|\|)" in spec["constraints"].get("pattern", "") or "|" in str(spec.get("example", ""))
        }
        assert "typologie" in said and "services" in said and "horaires" not in said
        assert standard.MULTI_VALUED - said == {"autres_formations_labels"}
        assert said <= standard.MULTI_VALUED
        assert standard.MULTI_VALUED_COLUMNS == tuple(n for n in FIELDS if n in standard.MULTI_VALUED)

    def test_a_place_holds_a_tuple_for_each_multi_valued_column_and_no_other(self):
        tuples = {f.name for f in dataclasses.fields(Lieu) if f.default == () and f.name != "legacy"}
        assert tuples == standard.MULTI_VALUED
        read = read_csv(csv_text([minimal(**{name: "a|b" for name in standard.FREE_LIST_COLUMNS})]))
        assert [getattr(read.lieux[0], name) for name in standard.FREE_LIST_COLUMNS] == [("a", "b")] * 3


class TestNouvelleCaledonie:
    def test_the_90_places_import(self):
        result = read_fixture(NC)
        assert result.records_read == 90
        assert len(result.lieux) == 90
        assert result.rejected == []

    def test_values_are_normalised(self):
        lieu = read_fixture(NC).lieux[0]
        assert lieu.nom == "Espace municipal de Rivière Salée"
        assert lieu.typologie == ("MQ",)
        assert lieu.telephone == "+687445728"
        assert lieu.latitude == -22.233939
        assert lieu.date_maj == date(2023, 11, 5)
        assert lieu.publics_specifiquement_adresses == ("Familles et/ou enfants", "Jeunes", "Seniors")
        assert lieu.pivot == ""  # 00000000000000 is the Cartographie's "unknown"

    def test_older_keys_are_mapped(self):
        lieux = read_fixture(NC).lieux
        assert sum(1 for lieu in lieux if lieu.courriels) == 64  # "courriel" in this file
        with_other_labels = [lieu for lieu in lieux if lieu.autres_formations_labels]
        assert len(with_other_labels) == 26  # "labels_autres"
        assert any(lieu.autres_formations_labels == ("ZRR", "Case numérique") for lieu in with_other_labels)

    def test_quirks_are_reported_line_by_line(self):
        warnings = messages(read_fixture(NC).warnings)
        placeholder = [m for m in warnings if "1969-12-31" in m]
        assert len(placeholder) == 6
        assert placeholder[0].startswith(
            "Fichier « nouvelle-caledonie-90-lieux.json », colonne date_maj : Lieu n° "
        )
        assert "bouche-trou" in placeholder[0]
        long_resumes = [m for m in warnings if "résumé dépasse 280" in m]
        assert len(long_resumes) == 12
        # A code INSEE of the Puy-de-Dôme on places whose postal code is Nouméa's.
        assert sum("« 63236 »" in m and "même département" in m for m in warnings) == 9

    def test_long_summary_is_kept_whole_in_the_detail(self):
        raw = json.loads((FIXTURES / NC).read_text(encoding="utf-8"))
        longest = max(raw, key=lambda item: len(item.get("presentation_resume", "")))
        lieu = next(lieu for lieu in read_fixture(NC).lieux if lieu.id == longest["id"])
        assert len(lieu.presentation_resume) == 280
        assert lieu.presentation_resume.endswith("…")
        assert lieu.presentation_detail == longest["presentation_resume"].strip()

    def test_export_validates_against_the_schema(self):
        content = write_csv(read_fixture(NC).lieux)
        assert validate_csv(content) == []
        assert content.splitlines()[0] == ",".join(FIELDS)

    def test_round_trip_through_csv_loses_nothing(self):
        lieux = read_fixture(NC).lieux
        again = read_csv(write_csv_bytes(lieux, bom=True), file="export.csv")
        assert again.rejected == []
        assert [lieu.standard_values() for lieu in again.lieux] == [lieu.standard_values() for lieu in lieux]

    def test_round_trip_through_json_loses_nothing(self):
        lieux = read_fixture(NC).lieux
        again = read_cartographie_json(write_cartographie_json(lieux))
        assert again.lieux == lieux

    def test_a_second_round_trip_reports_only_what_the_standard_cannot_know(self):
        again = read_csv(write_csv(read_fixture(NC).lieux))
        # Unknown pivots and dates stay unknown, and the odd INSEE codes are still odd; the long
        # summaries, fixed on the first import, are not reported again.
        for message in messages(again.warnings):
            assert any(word in message for word in ("pivot inconnu", "bouche-trou", "code INSEE")), message


class TestRealDataQuirks:
    def test_paca_extract(self):
        result = read_fixture(PACA)
        assert len(result.lieux) == 23
        assert result.rejected == []
        warnings = messages(result.warnings)
        assert sum("1970-01-01" in m for m in warnings) == 5
        assert sum("publics_accueillis" in m for m in warnings) == 3
        # Trailing spaces and no-break spaces are stripped.
        assert all(lieu.nom == lieu.nom.strip() for lieu in result.lieux)
        assert any(lieu.latitude is None for lieu in result.lieux)
        # "CNFS;France Services" (labels_nationaux, v0) becomes two national programmes.
        assert any(
            lieu.dispositif_programmes_nationaux == ("Conseillers numériques", "France Services")
            for lieu in result.lieux
        )
        duplicates = [m for m in warnings if "doublon probable (même nom dans la même commune)" in m]
        assert any("« ASSOCIATION SCHEBBA »" in m and "« Association Schebba »" in m for m in duplicates)

    def test_publics_accueillis_is_kept_aside_not_mapped(self):
        lieu = next(lieu for lieu in read_fixture(PACA).lieux if lieu.legacy)
        assert lieu.publics_specifiquement_adresses == ()
        assert dict(lieu.legacy)["publics_accueillis"].startswith("Adultes|")

    def test_charente_extract(self):
        result = read_fixture(CHARENTE)
        assert len(result.lieux) == 26
        assert result.rejected == []
        warnings = messages(result.warnings)
        assert any("« 20006801400015 »" in m and "clé de contrôle" in m for m in warnings)
        # La Poste's head office keeps its SIRET (it used to get 00000000000000).
        assert not any("« 35600000000048 »" in m for m in warnings)
        la_poste = [lieu for lieu in result.lieux if lieu.pivot.startswith("356000000")]
        assert "35600000000048" in {lieu.pivot for lieu in la_poste}
        assert la_poste and all(lieu.siret == lieu.pivot for lieu in la_poste)
        assert any(lieu.fiche_acces_libre.startswith("https://acceslibre") for lieu in result.lieux)
        assert any("même SIRET à la même adresse" in m for m in warnings)
        assert validate_csv(write_csv(result.lieux)) == []

    def test_invalid_siret_is_not_lost(self):
        lieu = next(
            lieu for lieu in read_fixture(CHARENTE).lieux if ("pivot", "20006801400015") in lieu.legacy
        )
        assert lieu.pivot == ""


class TestCsvReading:
    def test_standard_example_reads_without_issue(self):
        result = read_csv((FIXTURES / "exemple-valide.csv").read_bytes(), file="exemple-valide.csv")
        assert result.issues == []
        (lieu,) = result.lieux
        assert lieu.typologie == ("TIERS_LIEUX", "ASSO")
        assert lieu.siret == "43493312300029"
        assert lieu.formations_labels == (
            "Formé à « Mon Espace Santé »",
            "Arnia/MedNum BFC (Bourgogne-Franche-Comté)",
        )

    def test_standard_example_validates(self):
        assert validate_csv((FIXTURES / "exemple-valide.csv").read_bytes()) == []

    def test_semicolon_separator_and_spreadsheet_delimiter(self):
        # Version 0.x of the standard put ";" between values: still read.
        text = csv_text(
            [minimal(services="Aide aux démarches administratives;Accès internet et matériel informatique")]
        )
        lieu = read_csv(text).lieux[0]
        assert lieu.services == (
            "Aide aux démarches administratives",
            "Accès internet et matériel informatique",
        )
        french_excel = (
            "id;nom;commune;code_postal;adresse;services\r\n"
            "a;B;C;5000;D;Aide aux démarches administratives\r\n"
        )
        lieu = read_csv(french_excel.encode("utf-8-sig")).lieux[0]
        assert lieu.code_postal == "05000"
        assert lieu.services == ("Aide aux démarches administratives",)

    def test_bad_rows_are_rejected_with_their_line_and_column(self):
        rows = [
            minimal(id="ok"),
            minimal(id="sans-nom", nom=""),
            minimal(id="cp", code_postal="ABCDE"),
            minimal(id="ok"),
        ]
        result = read_csv(csv_text(rows), file="partenaires.csv")
        assert [lieu.id for lieu in result.lieux] == ["ok"]
        assert messages(result.rejected) == [
            "Fichier « partenaires.csv », ligne 3, colonne nom : "
            "la colonne obligatoire « nom » (Nom) est vide.",
            "Fichier « partenaires.csv », ligne 4, colonne code_postal : "
            "le code postal « ABCDE » doit compter 5 chiffres.",
            "Fichier « partenaires.csv », ligne 5, colonne id : "
            "l'identifiant « ok » est déjà celui de la ligne 2 : lieu ignoré.",
        ]

    def test_values_outside_the_standard_are_dropped_and_reported(self):
        row = minimal(
            typologie="ASSO|INCONNU",
            services="Aide aux démarches administratives|Cuisine",
            telephone="02 99 00 00 00",
            latitude="48,11",
            longitude="999",
            date_maj="31/12/2023",
            code_insee="35 238",
        )
        result = read_csv(csv_text([row]), file="f.csv")
        (lieu,) = result.lieux
        assert lieu.typologie == ("ASSO",)
        assert lieu.services == ("Aide aux démarches administratives",)
        assert lieu.telephone == "+33299000000"
        assert lieu.latitude == 48.11
        assert lieu.longitude is None
        assert lieu.date_maj == date(2023, 12, 31)
        assert lieu.code_insee == "35238"
        text = "\n".join(messages(result.warnings))
        assert "ligne 2, colonne typologie : code de typologie inconnue du standard « INCONNU »" in text
        assert "colonne services : valeur inconnue du standard « Cuisine »" in text
        assert "colonne longitude" in text

    def test_multiline_cells_keep_the_line_of_the_record(self):
        rows = [minimal(id="a", presentation_detail="ligne 1\nligne 2"), minimal(id="b", nom="")]
        result = read_csv(csv_text(rows), file="f.csv")
        assert result.rejected[0].line == 4

    def test_unknown_column_is_reported_once(self):
        result = read_csv(csv_text([minimal(couleur="bleu"), minimal(id="b", couleur="vert")]))
        assert (
            messages(result.warnings).count("ligne 1 : colonne « couleur » inconnue du standard : ignorée.")
            == 1
        )

    @pytest.mark.parametrize(
        ("data", "expected"),
        [
            (b"", "le fichier est vide."),
            ("id,nom\né,è\n".encode("latin-1"), "n'est pas encodé en UTF-8"),
            (b"id,nom,commune\n1,2,3\n", "colonne obligatoire absente de l'en-tête : « code_postal »"),
        ],
    )
    def test_unreadable_files_are_rejected_whole(self, data, expected):
        with pytest.raises(ImportRejected) as caught:
            read_csv(data, file="f.csv")
        assert expected in str(caught.value)
        assert all(issue.file == "f.csv" for issue in caught.value.issues)

    def test_short_row_is_rejected(self):
        text = csv_text([minimal()]) + "b,x\n"
        result = read_csv(text)
        assert messages(result.rejected) == [
            "ligne 3 : 2 cellules au lieu de 5 (une par colonne de l'en-tête)."
        ]


class TestJsonReading:
    def test_not_a_list(self):
        with pytest.raises(ImportRejected, match="une liste de lieux"):
            read_cartographie_json('{"id": 1}', file="f.json")

    def test_not_json(self):
        with pytest.raises(ImportRejected, match="pas du JSON lisible"):
            read_cartographie_json("[{", file="f.json")

    def test_items_that_are_not_places(self):
        result = read_cartographie_json(json.dumps([minimal(), 3, minimal(id="b", nom={"x": 1})]))
        assert [lieu.id for lieu in result.lieux] == ["a1"]
        assert (
            messages(result.rejected)[0]
            == "Lieu n° 2 : ce n'est pas une fiche de lieu (un objet JSON { … })."
        )
        assert (
            "colonne nom : Lieu n° 3 (id « b ») : la colonne obligatoire « nom » (Nom) est vide."
            in messages(result.rejected)
        )


class TestWriting:
    def test_etapes_numeriques_is_written_in_the_schema_spelling(self):
        lieu = Lieu(**minimal(), formations_labels=("Étapes numériques (La Poste)",))
        content = write_csv([lieu])
        assert "Étapes numériques(La Poste)" in content
        assert validate_csv(content) == []
        assert read_csv(content).lieux[0].formations_labels == ("Étapes numériques (La Poste)",)

    def test_unknown_pivot_and_date_are_written_as_the_cartographie_does(self):
        row = next(csv.DictReader(io.StringIO(write_csv([Lieu(**minimal())]))))
        assert row["pivot"] == "00000000000000"
        assert row["date_maj"] == "1970-01-01"

    def test_a_place_that_cannot_validate_is_not_exported(self):
        with pytest.raises(StandardExportError) as caught:
            write_csv([Lieu(**minimal(code_postal="123"))])
        assert "colonne code_postal" in str(caught.value)

    def test_lieu_from_values_accepts_form_data(self):
        lieu = lieu_from_values(**minimal(), services=["Aide aux démarches administratives"], latitude=None)
        assert lieu.services == ("Aide aux démarches administratives",)
        assert validate_csv(write_csv([lieu])) == []


class TestValidator:
    def header(self):
        return ",".join(FIELDS)

    def row(self, **changes):
        values = standard.lieu_to_row(Lieu(**minimal()))
        values.update(changes)
        out = io.StringIO()
        csv.writer(out).writerow([values[name] for name in FIELDS])
        return out.getvalue()

    def test_each_constraint_is_checked(self):
        content = (
            self.header()
            + "\n"
            + self.row(
                latitude="nord",
                date_maj="2024-02-30",
                services="Aide aux démarches administratives|Cuisine",
                telephone="0299000000",
                presentation_resume="x" * 281,
                code_insee="20004",
            )
            + self.row(id="a1", nom="")
        )
        problems = messages(validate_csv(content, file="f.csv"))
        expected = [
            "colonne code_insee : « 20004 » ne respecte pas le format",
            "colonne latitude : « nord » n'est pas un nombre",
            "colonne telephone : « 0299000000 » ne respecte pas le format",
            "colonne presentation_resume : 281 caractères, pour 280 au plus",
            "colonne date_maj : « 2024-02-30 » n'est pas une date",
            "colonne services : « Aide aux démarches administratives|Cuisine » ne respecte pas le format",
            "ligne 3, colonne id : « a1 » est déjà utilisé à la ligne 2",
            "ligne 3, colonne nom : valeur obligatoire manquante",
        ]
        for fragment in expected:
            assert any(fragment in problem for problem in problems), (fragment, problems)
        assert len(problems) == len(expected)

    def test_header_must_match_the_schema(self):
        header = self.header().replace("courriels", "courriel")
        problems = messages(validate_csv(header + ",extra\n" + self.row().rstrip("\r\n") + ",x\n"))
        assert "ligne 1 : la colonne n° 13 s'appelle « courriel » au lieu de « courriels »." in problems
        assert "ligne 1 : colonne « extra » en trop." in problems
        assert "ligne 2 : 1 cellule en trop." in problems

    def test_separators_inside_multivalued_cells(self):
        # The schema's own pattern lets a leading "|" through ("|Gratuit"); the validator is
        # faithful to it, and the writer never produces one.
        for bad in ("Gratuit|", "Gratuit;Payant", "Gratuit||Payant", "gratuit"):
            assert validate_csv(self.header() + "\n" + self.row(frais_a_charge=bad)), bad
        assert validate_csv(self.header() + "\n" + self.row(frais_a_charge="Gratuit|Payant")) == []


# ------------------------------------------------------------------------------------------
# Property-based: whatever the input, the reader answers with located French issues.
# ------------------------------------------------------------------------------------------

FRENCH_WORDS = (
    "colonne",
    "ligne",
    "fichier",
    "lieu",
    "valeur",
    "date",
    "cellule",
    "JSON",
    "CSV",
    "clé",
    "pivot",
)


def assert_french_located(issues, *, file):
    for issue in issues:
        assert isinstance(issue, ImportIssue)
        assert issue.file in (file, None)
        text = str(issue)
        assert any(word.lower() in text.lower() for word in FRENCH_WORDS), text


def read_anything(reader, data):
    try:
        result = reader(data, file="hasard")
    except ImportRejected as rejected:
        assert rejected.issues
        assert_french_located(rejected.issues, file="hasard")
        return None
    assert_french_located(result.issues, file="hasard")
    # Every record read is kept or rejected, and a record left out says why.
    dropped = result.records_read - len(result.lieux)
    assert 0 <= dropped <= len(result.rejected)
    assert (dropped == 0) == (not result.rejected)
    return result


@given(st.binary(max_size=400))
@examples(150)
def test_random_bytes_never_crash_the_csv_reader(data):
    read_anything(read_csv, data)


@given(st.binary(max_size=400))
@examples(150)
def test_random_bytes_never_crash_the_json_reader(data):
    read_anything(read_cartographie_json, data)


cell = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        ["", "00000000000000", "1969-12-31", "Gratuit|", "Jeunes;Seniors", "2A004", "+33", "NaN"]
    ),
)


@given(st.lists(st.lists(cell, min_size=0, max_size=8), max_size=6))
@examples(150, suppress_health_check=[HealthCheck.too_slow])
def test_malformed_csv_rows_are_reported_never_raised(rows):
    header = ["id", "nom", "commune", "code_postal", "adresse", "services", "latitude", "date_maj"]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    result = read_anything(read_csv, out.getvalue())
    assert result is not None
    for lieu in result.lieux:
        # Whatever came in, what was kept can be written in the standard.
        assert validate_csv(write_csv([lieu])) == []


json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=15),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)
json_place = st.dictionaries(
    st.sampled_from(list(FIELDS) + ["courriel", "labels_nationaux", "publics_accueillis", "autre"]),
    json_value,
    max_size=10,
)


@given(st.lists(st.one_of(json_place, json_value), max_size=5))
@examples(150, suppress_health_check=[HealthCheck.too_slow])
def test_malformed_json_places_are_reported_never_raised(items):
    result = read_anything(read_cartographie_json, json.dumps(items))
    assert result is not None
    for lieu in result.lieux:
        assert validate_csv(write_csv([lieu])) == []


def test_duplicates_by_siret_and_by_name_and_commune():
    lieux = [
        Lieu(**minimal(id="1", pivot="24160054300128")),
        Lieu(**minimal(id="2", nom="Autre", pivot="24160054300128")),
        Lieu(**minimal(id="3", nom="ESPACE  NUMÉRIQUE", commune="RENNES")),
    ]
    groups = {(group.reason, group.indexes) for group in find_duplicates(lieux)}
    assert groups == {("même SIRET à la même adresse", (0, 1)), ("même nom dans la même commune", (0, 2))}


def test_one_siret_in_another_commune_is_another_place():
    lieux = [
        Lieu(**minimal(id="1", pivot="24160054300128")),
        Lieu(**minimal(id="2", pivot="24160054300128", commune="Vitré", code_postal="35500")),
    ]
    assert find_duplicates(lieux) == []


def _known(lieu, in_file=True):
    return standard.Known(
        nom=lieu.nom,
        commune=lieu.commune,
        adresse=lieu.adresse,
        code_postal=lieu.code_postal,
        pivot=lieu.pivot,
        identifiant=lieu.id,
        lieu=lieu if in_file else None,
        ref=None if in_file else 7,
    )


@pytest.mark.parametrize(
    ("first", "second", "kind"),
    [
        # Same pivot, same address typed otherwise: the same place.
        (
            {"adresse": "235 Avenue du General de Gaulle"},
            {"adresse": "235 AV DU GÉNÉRAL DE GAULLE"},
            "fusion",
        ),
        ({"adresse": "9 bd Léon Blum"}, {"adresse": "9 boulevard Leon Blum 35000 Rennes"}, "fusion"),
        # Same pivot, close address: doubtful, for the user to review.
        ({"adresse": "73 Impasse Joseph Niepce"}, {"adresse": "73 RUE JOSEPH NIEPCE"}, "douteux"),
        ({"adresse": "5 rue du Halage"}, {"adresse": "5 Chemin du Halage"}, "douteux"),
        # Same pivot, another address of the same commune, another name: another office.
        (
            {"adresse": "2 boulevard de l'Artillerie"},
            {"nom": "Antenne", "adresse": "167 rue de Périgueux"},
            "nouveau",
        ),
        # Same pivot, another commune: another place, whatever the address.
        ({}, {"commune": "Confolens", "code_postal": "16500"}, "nouveau"),
        # Same name and commune, another pivot: doubtful.
        ({}, {"pivot": "20007051400324", "adresse": "Rue Burgaud"}, "douteux"),
        # Same name and address, one without a pivot: the same place.
        ({}, {"pivot": ""}, "fusion"),
    ],
)
def test_what_a_place_matches_in_the_index(first, second, kind):
    a = Lieu(**minimal(id="1", pivot="24160054300128", **first))
    b = Lieu(**minimal(id="2", pivot=second.pop("pivot", "24160054300128"), **second))
    index = standard.DirectoryIndex()
    index.add(_known(a))
    assert index.match(b).kind == kind
    # The same pair against an entry of the directory: an update where the file would merge.
    directory = standard.DirectoryIndex()
    directory.add(_known(a, in_file=False))
    assert directory.match(b).kind == {"fusion": "maj"}.get(kind, kind)


def test_the_same_id_is_the_same_place_even_moved():
    a = Lieu(**minimal(id="1"))
    directory = standard.DirectoryIndex()
    directory.add(_known(a, in_file=False))
    moved = Lieu(**minimal(id="1", commune="Vitré", adresse="3 place du Marchix"))
    assert directory.match(moved).kind == "maj"


place_text = st.text(alphabet="abcdeÉé '-,.0123456789", max_size=30)


@examples(200)
@given(nom=place_text, commune=place_text, adresse=place_text, spaces=st.sampled_from(["", " ", "  "]))
def test_a_key_ignores_case_accents_and_spaces(nom, commune, adresse, spaces):
    key = standard.place_key(pivot="", nom=nom, commune=commune, adresse=adresse)
    other = standard.place_key(
        pivot="", nom=spaces + nom.upper(), commune=commune.upper() + spaces, adresse=adresse.upper() + spaces
    )
    assert key == other
    # Close is symmetric, and an address is close to itself.
    address = standard.address_key(adresse)
    assert standard.addresses_close(address, address)


@examples(100)
@given(first=place_text, second=place_text)
def test_closeness_is_symmetric(first, second):
    a, b = standard.address_key(first), standard.address_key(second)
    assert standard.addresses_close(a, b) == standard.addresses_close(b, a)


def test_pure_modules_do_not_import_django():
    import subprocess
    import sys

    modules = ", ".join(
        [
            "ancrage.partenaires.standard",
            "ancrage.partenaires.scoring",
            "ancrage.actions.tasks",
            "ancrage.actions.ical",
        ]
    )
    code = f"import sys, {modules}; print('django' in sys.modules)"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "False"


# data·inclusion's structures, as it publishes them: its own key names for the pivot, the
# opening hours, the description. (Made-up places, in the shape of the schema's examples.)
DATA_INCLUSION = [
    {
        "id": "di-1",
        "siret": "24160054300128",
        "rna": "",
        "nom": "Espace social du Port",
        "commune": "Jarnac",
        "code_postal": "16200",
        "code_insee": "16167",
        "adresse": "1 rue du Port",
        "date_maj": "2024-04-28T16:53:11Z",
        "typologie": "CCAS",
        "telephone": "0545000000",
        "courriel": "accueil@example.org",
        "site_web": "https://example.org/",
        "horaires_accueil": "Mo-Fr 08:30-12:30",
        "accessibilite_lieu": "https://acceslibre.beta.gouv.fr/app/erp/x/",
        "description": "Un accueil social et numérique, sur rendez-vous ou sans.",
        "source": "dora",
        "lien_source": "https://dora.example.org/structures/di-1",
        "thematiques": ["numerique", "acces-aux-droits"],
    },
    {
        "id": "di-2",
        "rna": "W161234567",
        "nom": "Association Clic",
        "commune": "Cognac",
        "code_postal": "16100",
        "adresse": "3 place du Marché",
        "date_maj": "2024-05-02",
        "source": "dora",
        "horaires_ouverture": "Tu 14:00-18:00",
    },
]


def test_data_inclusion_structures_read_in_json_and_in_csv():
    for result in (
        standard.read_cartographie_json(json.dumps(DATA_INCLUSION), file="structures.json"),
        standard.read_csv(
            csv_text(
                [
                    {
                        key: "|".join(value) if isinstance(value, list) else value
                        for key, value in item.items()
                    }
                    for item in DATA_INCLUSION
                ],
                header=list(dict.fromkeys(key for item in DATA_INCLUSION for key in item)),
            ),
            file="structures.csv",
        ),
    ):
        assert result.rejected == [], result.rejected
        port, clic = result.lieux
        assert port.pivot == "24160054300128" and clic.pivot == "W161234567"
        assert port.horaires == "Mo-Fr 08:30-12:30" and clic.horaires == "Tu 14:00-18:00"
        assert port.fiche_acces_libre.startswith("https://acceslibre")
        assert port.presentation_detail.startswith("Un accueil social")
        assert port.telephone == "+33545000000" and port.courriels == ("accueil@example.org",)
        assert port.typologie == ("CCAS",) and port.date_maj == date(2024, 4, 28)
        assert ("lien_source", "https://dora.example.org/structures/di-1") in port.legacy
        notes = messages(result.warnings)
        assert any("data·inclusion" in m and "lien_source" in m for m in notes)
        assert not any("inconnue du standard" in m for m in notes)
        assert validate_csv(write_csv(result.lieux)) == []
