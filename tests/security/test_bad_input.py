"""Bad input on every importer and every form that takes files (property-based, hypothesis).

For each importer: random bytes, truncated or corrupted workbooks (a real XLSX cut at random
offsets, bytes flipped), wrong encodings, huge cells, formula cells. The result is never an
unhandled error (nor a reader bug caught by the job's last-resort handler), never a partial import
(rows counted before and after), and a refusal is always a French message that names the file.
Then: CSV injection on every CSV/XLSX export.

Example counts: twice the counts written below under the hypothesis profile ``ci`` (the default,
3,700 cases in all), ten times more under ``full`` (HYPOTHESIS_PROFILE=full, tests/conftest.py).
"""

import csv
import io
import json
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, example, given, reject
from hypothesis import strategies as st

from ancrage.audit.models import AuditEntry
from ancrage.conventions.custom_models import CustomModelError, check_custom_model
from ancrage.core import csv_safe
from ancrage.core.importing import ImportRejected
from ancrage.diagnostic import jobs, rapport
from ancrage.diagnostic.models import ImportJob, Priorite
from ancrage.dossiers import pieces
from ancrage.frequentation import services as frequentation_services
from ancrage.frequentation.models import CompteAgrege, FrequentationImport, Profils, Usager
from ancrage.organisations.enums import Role
from ancrage.partenaires import services as partenaires_services
from ancrage.partenaires import standard
from ancrage.partenaires.models import Partenaire
from ancrage.partenaires.standard import reading
from ancrage.territoire.models import PopulationImport, PopulationValeurs, Quartier, Secteur
from tests import properties
from tests.diagnostic.test_charts_exports import RESULT
from tests.organisations.factories import MembershipFactory

FIXTURES = Path(__file__).parents[1] / "fixtures"
JOB_SETTINGS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}


def examples(n: int, **kwargs):
    return properties.examples(2 * n, **{**JOB_SETTINGS, **kwargs})


# --- Bad files ----------------------------------------------------------------------------------

FORMULAS = ["=1+1", '=HYPERLINK("http://x","y")', "+33 1 23", "-2+3", "@SUM(A1)", "=cmd|' /C calc'!A0"]
ENCODINGS = ["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16", "utf-32", "mac_roman", "cp850"]
hostile_cell = st.one_of(
    st.sampled_from(FORMULAS),
    st.integers(1_000, 70_000).map(lambda n: "x" * n),  # huge cell
    st.text(max_size=20),
    st.sampled_from(["", "\x00", "\u202e", "ÿþ", "1e309", "-0", "NaN", "2024-02-30", "9" * 40, ";;;", '"']),
)


@st.composite
def text_file(draw, seed: str, sep: str = ";"):
    """A valid CSV changed: hostile cells, short or extra rows, a wrong encoding, a cut."""
    rows = [line.split(sep) for line in seed.strip("\n").split("\n")]
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["cell", "short", "dup", "noise"]))
        i = draw(st.integers(0, len(rows) - 1))
        if op == "cell" and rows[i]:
            j = draw(st.integers(0, len(rows[i]) - 1))
            rows[i][j] = draw(hostile_cell)
        elif op in ("short", "cell"):
            rows[i] = rows[i][: draw(st.integers(0, len(rows[i])))]
        elif op == "dup":
            rows.insert(i, list(rows[i]))
        else:
            rows.insert(i, [draw(st.text(max_size=30))])
    text = "\n".join(sep.join(row) for row in rows) + "\n"
    data = text.encode(draw(st.sampled_from(ENCODINGS)), "replace")
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return data


def corrupted(seed: bytes):
    """A real file cut at a random offset, or with a few bytes flipped, or random bytes."""
    cut = st.integers(0, len(seed) - 1).map(lambda k: seed[:k])
    flips = st.lists(st.tuples(st.integers(0, len(seed) - 1), st.integers(0, 255)), min_size=1, max_size=6)
    flipped = flips.map(lambda fs: _flip(seed, fs))
    return st.one_of(cut, flipped, st.binary(max_size=1500))


def _flip(seed: bytes, flips) -> bytes:
    data = bytearray(seed)
    for at, value in flips:
        data[at] = value
    return bytes(data)


def _xlsx(rows) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)  # a text starting with "=" becomes a formula cell: that is the point
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


POPULATION_CSV = "\n".join((FIXTURES / "insee" / "rennes-iris-2016.csv").read_text().splitlines()[:12]) + "\n"
POPULATION_XLSX = _xlsx([line.split(",") for line in POPULATION_CSV.splitlines()])
USAGERS = (FIXTURES / "frequentation" / "correct-files" / "usagers.csv").read_text()
AGREGE = (FIXTURES / "frequentation" / "correct-files" / "agrege.csv").read_text()
COOP = (FIXTURES / "frequentation" / "correct-files" / "export-coop.xlsx").read_bytes()
PRIORITES = "theme;poids;dimension;categorie;secteurs\njeunesse;2;age;15-29;\npolitique de la ville;3;;;QPV\n"
QUARTIERS = "code_iris;quartier\n352380101;Centre\n352380102;Centre\n"
CONTOURS = json.dumps(
    {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code_iris": code},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[x, 48.1], [x + 0.01, 48.1], [x + 0.01, 48.11], [x, 48.1]]],
                },
            }
            for code, x in (("352380101", -1.7), ("352380102", -1.69))
        ],
    }
)


@st.composite
def coop_workbook(draw):
    """La Coop's real export with hostile cells written into it (formulas, huge text, odd types)."""
    workbook = openpyxl.load_workbook(io.BytesIO(COOP))
    sheet = workbook.worksheets[draw(st.integers(0, len(workbook.worksheets) - 1))]
    for _ in range(draw(st.integers(1, 4))):
        row = draw(st.integers(1, max(1, sheet.max_row)))
        col = draw(st.integers(1, max(1, sheet.max_column)))
        value = draw(
            st.one_of(hostile_cell, st.integers(-(10**12), 10**12), st.floats(allow_nan=True), st.none())
        )
        # openpyxl cannot write XML-illegal control characters: a real workbook cannot hold them either.
        if isinstance(value, str):
            value = csv_safe.XLSX_ILLEGAL.sub("", value)
        sheet.cell(row=row, column=col).value = value
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --- Checks -------------------------------------------------------------------------------------

ENGLISH = re.compile(r"Traceback|Error\b|Exception|invalid literal|codec|object has no|NoneType|unexpected")


def assert_french_and_located(messages, fichier):
    assert messages
    for message in messages:
        assert not ENGLISH.search(message), message
        assert f"« {fichier} »" in message or "ligne" in message, message


MODELS = (
    PopulationImport,
    PopulationValeurs,
    Secteur,
    FrequentationImport,
    Usager,
    Profils,
    CompteAgrege,
    Priorite,
    Quartier,
    Partenaire,
    AuditEntry,
)


def counts() -> dict:
    counted = {m.__name__: m.objects.count() for m in MODELS}
    counted["contours"] = Secteur.objects.filter(contour__isnull=False).count()
    return counted


@pytest.fixture
def epn(db, monkeypatch):
    membership = MembershipFactory(role=Role.RESPONSABLE)
    bugs = []
    # The job's last resort turns a reader bug into a refusal: here, a reader bug fails the test.
    monkeypatch.setattr(jobs, "_log_bug", lambda job, step, exc: bugs.append((step, repr(exc))))
    epn = membership.structure
    epn.bugs, epn.user = bugs, membership.user
    job = jobs.job_submit(
        acting_user=epn.user,
        structure=epn,
        kind="population",
        fichier="p.csv",
        contenu=POPULATION_CSV.encode(),
    )
    jobs.job_confirm(acting_user=epn.user, job=job)
    return epn


def run_import(epn, kind, data: bytes, fichier: str, fmt: str | None = None):
    before = counts()
    options = {"format": fmt} if fmt else None
    job = jobs.job_submit(
        acting_user=epn.user, structure=epn, kind=kind, fichier=fichier, contenu=data, options=options
    )
    job.refresh_from_db()
    if job.state == ImportJob.State.PRET:
        jobs.job_confirm(acting_user=epn.user, job=job)
        job.refresh_from_db()
    assert not epn.bugs, epn.bugs
    assert job.state in (ImportJob.State.REFUSE, ImportJob.State.TERMINE), job.state
    after = counts()
    if job.state == ImportJob.State.REFUSE:
        assert after == before, "a refused file left rows behind"
        assert_french_and_located(job.erreurs, fichier)
    else:
        assert after["AuditEntry"] > before["AuditEntry"]  # an import is always audited
    return job


@examples(60)
@given(data=st.one_of(text_file(POPULATION_CSV, sep=","), corrupted(POPULATION_XLSX)))
def test_population(epn, data):
    name = "population.xlsx" if data[:2] == b"PK" else "population.csv"
    run_import(epn, "population", data, name)


# Found by hypothesis on PostgreSQL: a NUL past the first 4 KiB was quoted in a message, which
# PostgreSQL cannot keep in the job's JSON. A NUL anywhere now refuses the file, with its line.
NUL_PAST_4_KIB = USAGERS.encode() + b"u998;;;;;;;35238;;" + b"y" * 5000 + b"\nu999;;;;;;;35238;\x00;\n"


@examples(150)
@example(data=NUL_PAST_4_KIB)
@given(data=st.one_of(text_file(USAGERS), st.binary(max_size=800)))
def test_usagers_file(epn, data):
    run_import(epn, "frequentation", data, "usagers.csv", "ancrage")


@examples(100)
@given(data=st.one_of(text_file(AGREGE), st.binary(max_size=500)))
def test_aggregated_counts(epn, data):
    run_import(epn, "frequentation", data, "agrege.csv", "agrege")


@examples(120)
@given(data=st.one_of(corrupted(COOP), coop_workbook()))
def test_coop_export(epn, data):
    run_import(epn, "frequentation", data, "export-coop.xlsx", "coop")


@examples(100)
@given(data=st.one_of(text_file(PRIORITES), st.binary(max_size=400)))
def test_priorities(epn, data):
    run_import(epn, "priorites", data, "priorites.csv")


@examples(100)
@given(data=st.one_of(text_file(QUARTIERS), st.binary(max_size=400)))
def test_quartiers(epn, data):
    run_import(epn, "quartiers", data, "quartiers.csv")


json_value = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20), st.sampled_from(FORMULAS)
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def geojson(draw):
    doc = json.loads(CONTOURS)
    feature = doc["features"][draw(st.integers(0, 1))]
    target = draw(st.sampled_from(["properties", "geometry", "coordinates", "root"]))
    value = draw(json_value)
    if target == "properties":
        feature["properties"][draw(st.sampled_from(["code_iris", "code", "x"]))] = value
    elif target == "geometry":
        feature["geometry"]["type"] = value if isinstance(value, str) else "Polygon"
        feature["geometry"]["coordinates"] = value
    elif target == "coordinates":
        feature["geometry"]["coordinates"][0][0] = value
    else:
        doc = value
    return json.dumps(doc).encode(draw(st.sampled_from(["utf-8", "utf-16", "latin-1"])), "replace")


@examples(120)
@given(data=st.one_of(geojson(), corrupted(CONTOURS.encode())))
def test_geojson_outlines(epn, data):
    run_import(epn, "contours", data, "contours.json")


def _shapefile_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted((FIXTURES / "geo" / "iris-ge-extrait").glob("IRIS_GE.*")):
            archive.write(path, f"CONTOURS-IRIS/{path.name}")
    return buffer.getvalue()


SHAPEFILE_ZIP = _shapefile_zip()


@examples(60)
@given(
    data=st.one_of(
        corrupted(SHAPEFILE_ZIP),
        corrupted((FIXTURES / "geo" / "iris-ge-extrait" / "IRIS_GE.shp").read_bytes()),
    )
)
def test_ign_shapefile_outlines(epn, data):
    # IGN's Lambert-93 shapefile (its IRIS are not this EPN's: a whole file is refused, by name).
    run_import(epn, "contours", data, "contours.zip")


# --- The partner directory (its own dry run, then one transaction) ------------------------------

DIRECTORY_CSV = (FIXTURES / "partenaires" / "exemple-valide.csv").read_text()
DIRECTORY_JSON = (FIXTURES / "partenaires" / "charente-extrait-quirks.json").read_bytes()


@st.composite
def directory_json(draw):
    doc = json.loads(DIRECTORY_JSON)
    items = doc if isinstance(doc, list) else next(v for v in doc.values() if isinstance(v, list))
    for _ in range(draw(st.integers(1, 3))):
        item = items[draw(st.integers(0, len(items) - 1))]
        if isinstance(item, dict) and item:
            item[draw(st.sampled_from(sorted(item)))] = draw(json_value)
    return json.dumps(doc).encode()


def run_directory_import(epn, data: bytes, name: str):
    before = counts()
    try:
        created = partenaires_services.import_directly(
            acting_user=epn.user, epn=epn, data=data, filename=name
        )
    except ImportRejected as rejected:
        assert counts() == before, "a refused directory left rows behind"
        assert_french_and_located([str(i) for i in rejected.issues], name)
        return
    assert counts()["Partenaire"] == before["Partenaire"] + len(created.created)


@examples(120)
@given(data=st.one_of(text_file(DIRECTORY_CSV, sep=","), st.binary(max_size=600)))
def test_directory_csv(epn, data):
    run_directory_import(epn, data, "annuaire.csv")


@examples(80)
@given(data=st.one_of(directory_json(), corrupted(DIRECTORY_JSON[:3000])))
def test_directory_json(epn, data):
    run_directory_import(epn, data, "annuaire.json")


# --- Forms that take files without importing rows: dossier attachments, convention models -------

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
DOCX_MODEL = (FIXTURES / "conventions" / "modele-valide.docx").read_bytes()


@examples(300)
@given(
    data=st.one_of(
        corrupted(PDF), corrupted(POPULATION_XLSX), corrupted(DOCX_MODEL), st.binary(max_size=2000)
    ),
    filename=st.one_of(
        st.sampled_from(["piece.pdf", "budget.xlsx", "a.docx", "x.exe", "..\\..\\etc", ""]),
        st.text(max_size=40),
    ),
)
def test_dossier_attachments(data, filename):
    name = pieces.safe_name(filename)
    assert "/" not in name and "\\" not in name
    try:
        checked = pieces.check_piece(data, name)
    except pieces.PieceRefused as refused:
        assert not ENGLISH.search(str(refused)), str(refused)
        return
    assert checked.size == len(data) and checked.kind


@examples(200)
@given(data=st.one_of(corrupted(DOCX_MODEL), st.binary(max_size=1000)))
def test_custom_convention_model(data):
    try:
        check_custom_model(data, "modele.docx")
    except CustomModelError as refused:
        assert "modele.docx" in str(refused) or "modèle" in str(refused), str(refused)
        assert not ENGLISH.search(str(refused)), str(refused)


# --- CSV injection on export ----------------------------------------------------------------------

dangerous = st.builds(
    lambda prefix, rest, spaces: spaces + prefix + rest,
    st.sampled_from(list(csv_safe.DANGEROUS_PREFIXES)),
    st.text(max_size=15),
    st.sampled_from(["", " ", "  "]),
)


NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?(?:[eE][+-]?\d+)?")


def assert_no_formula(cells):
    for cell in cells:
        # A negative number stays a number (csv_safe escapes text only).
        if isinstance(cell, str) and not NUMBER.fullmatch(cell):
            assert not csv_safe.is_dangerous(cell), repr(cell)


def csv_cells(data: bytes, delimiter=";"):
    text = data.decode("utf-8-sig")
    return [cell for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) for cell in row]


@examples(150)
@given(texts=st.lists(dangerous, min_size=3, max_size=3))
def test_diagnostic_exports_escape_formulas(texts):
    resultat = json.loads(json.dumps(RESULT))
    resultat["secteurs"][0]["nom"] = texts[0]
    resultat["cibles"] = [{**c, "libelle": texts[1]} for c in resultat.get("cibles", [])]
    for category in resultat["categories"]:
        category["libelle"] = texts[2]
    assert_no_formula(csv_cells(rapport.export_csv(resultat)))
    workbook = openpyxl.load_workbook(io.BytesIO(rapport.export_xlsx(resultat)))
    for sheet in workbook.worksheets:
        assert_no_formula(cell.value for row in sheet.iter_rows() for cell in row)


@examples(150)
@given(nom=dangerous, adresse=dangerous, horaires=dangerous)
def test_directory_csv_export_escapes_formulas_and_reads_back(nom, adresse, horaires):
    lieu = standard.lieu_from_values(
        id="lieu-1",
        nom="x" + nom.strip(),
        commune="Rennes",
        code_postal="35000",
        adresse="1 rue " + adresse,
        horaires=horaires,
    )
    lieu = standard.Lieu(**{**lieu.__dict__, "nom": nom})
    try:
        data = standard.write_csv_bytes([lieu], bom=True, escape_formulas=True)
    except standard.StandardExportError:
        reject()  # the standard refuses this place (an empty name…): nothing is exported
    assert_no_formula(csv_cells(data, delimiter=","))
    back = standard.read_csv(data.decode("utf-8-sig"), file="annuaire.csv")
    assert [x.nom for x in back.lieux] in ([reading._text(lieu.nom)], [])


@pytest.mark.django_db
@examples(60)
@given(
    # No NUL: the reader refuses a file holding one (binary data), and forms refuse it too, so no
    # stored identifier can hold one (PostgreSQL text could not store it anyway).
    identifiant=dangerous.filter(lambda t: 0 < len(t.strip()) <= 100 and "\x00" not in t),
    oriente=dangerous.filter(lambda t: "\x00" not in t),
)
def test_usagers_exports_escape_formulas(identifiant, oriente):
    from ancrage.frequentation import readers
    from tests.organisations.factories import StructureFactory

    record = readers.Usager(
        ligne=2,
        identifiant=identifiant.strip(),
        annee_naissance=1980,
        tranche_age=None,
        sexe="F",
        csp=None,
        situation=None,
        code_iris=None,
        code_commune="35238",
        premiere_visite=None,
        oriente_par=oriente,
    )
    freq = readers.Frequentation(unite="personnes", source="ancrage", fichier="u.csv", individus=(record,))
    structure = StructureFactory()
    dataset = frequentation_services.frequentation_import(
        acting_user=None, structure=structure, frequentation=freq, sha256="x" * 64
    )
    assert_no_formula(csv_cells(rapport.csv_bytes(frequentation_services.usagers_export_rows(dataset))))
    rows = frequentation_services.usager_export(
        acting_user=None, structure=structure, identifiant=identifiant
    )
    assert_no_formula(csv_cells(rapport.csv_bytes(rows)))


def test_every_csv_writer_of_ancrage_goes_through_csv_safe():
    """A new export that writes CSV or XLSX cells without ``csv_safe`` fails here."""
    root = Path(__file__).parents[2] / "ancrage"
    offenders = []
    for path in root.rglob("*.py"):
        text = path.read_text()
        # csv_safe itself; the benchmark generator writes input files for importers, not exports.
        if (
            path.name == "csv_safe.py"
            or "migrations" in path.parts
            or path.parts[-2:] == ("bench", "generator.py")
        ):
            continue
        writes = re.findall(r"csv\.(?:writer|DictWriter)\(|sheet\.append\((?:xlsx_row)?", text)
        unsafe = [w for w in writes if w != "sheet.append(xlsx_row"]
        if unsafe and "csv_safe" not in text and "escape_row" not in text:
            offenders.append(str(path.relative_to(root)))
    assert not offenders, offenders


def test_a_quartier_name_too_long_for_the_database_is_refused_with_its_place(epn):
    """Found by test_quartiers on PostgreSQL: a 121-character name passed the reader, then failed
    inside the import transaction (varchar(120)) with an unlocated message."""
    data = f"code_iris;quartier\n352380101;{'q' * 121}\n".encode()
    job = run_import(epn, "quartiers", data, "quartiers.csv")
    assert job.state == ImportJob.State.REFUSE
    assert "ligne 2" in job.erreurs[0] and "trop long" in job.erreurs[0]


def test_a_theme_too_long_for_the_database_is_refused_with_its_place(epn):
    """Found by test_priorities on PostgreSQL: same defect as the quartiers (varchar(120))."""
    data = f"theme;poids;dimension;categorie;secteurs\n{'t' * 121};2;;;\n".encode()
    job = run_import(epn, "priorites", data, "priorites.csv")
    assert job.state == ImportJob.State.REFUSE
    assert "ligne 2" in job.erreurs[0] and "trop long" in job.erreurs[0]


def test_a_nul_anywhere_refuses_the_file_at_its_line(epn):
    job = run_import(epn, "frequentation", NUL_PAST_4_KIB, "usagers.csv", "ancrage")
    line = NUL_PAST_4_KIB.count(b"\n", 0, NUL_PAST_4_KIB.index(b"\x00")) + 1
    assert job.state == ImportJob.State.REFUSE
    assert job.erreurs == [
        f"Fichier « usagers.csv », ligne {line} : Ce fichier n'est pas un fichier texte (CSV) : "
        "il contient des données binaires."
    ]
