"""The diagnostic pages: imports with a dry run, scoping, charts, documents."""

import io
import re
from pathlib import Path

import openpyxl
import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from pypdf import PdfReader

from ancrage.audit.models import AuditEntry
from ancrage.diagnostic.models import Diagnostic, ImportJob
from ancrage.frequentation.models import CompteAgrege, FrequentationImport, Profils, Usager
from ancrage.organisations.enums import Role
from ancrage.territoire.models import PopulationImport, PopulationValeurs, Secteur
from tests.organisations.factories import MembershipFactory, StructureFactory, UserFactory
from tests.properties import examples

pytestmark = pytest.mark.demo(conventions=False)  # the demo's conventions are not read here

FIXTURES = Path(__file__).parents[1] / "fixtures"
EDGE = FIXTURES / "frequentation" / "edge-cases"
CORRECT = FIXTURES / "frequentation" / "correct-files"


@pytest.fixture
def animateur(db):
    membership = MembershipFactory(role=Role.ANIMATEUR)
    return membership.user, membership.structure


def _upload(client, structure, kind, path_or_bytes, name=None, fmt="ancrage"):
    data = path_or_bytes.read_bytes() if isinstance(path_or_bytes, Path) else path_or_bytes
    upload = io.BytesIO(data)
    upload.name = name or getattr(path_or_bytes, "name", "fichier.csv")
    return client.post(
        reverse("diagnostic:import", args=[structure.pk, kind]), {"fichier": upload, "format": fmt}
    )


def _import(client, structure, kind, path, fmt="ancrage", name=None):
    response = _upload(client, structure, kind, path, name=name, fmt=fmt)
    job = ImportJob.objects.latest("id")
    assert job.state == ImportJob.State.PRET, job.erreurs
    preview = client.get(job.get_absolute_url())
    assert "Confirmer l’import" in preview.content.decode()
    client.post(job.get_absolute_url(), {"action": "confirmer"})
    job.refresh_from_db()
    assert job.state == ImportJob.State.TERMINE, job.erreurs
    return response


def _row_counts():
    return [
        m.objects.count()
        for m in (
            PopulationImport,
            PopulationValeurs,
            FrequentationImport,
            Usager,
            Profils,
            CompteAgrege,
            Diagnostic,
        )
    ]


def test_full_flow_import_preview_confirm_compute(client, animateur):
    user, epn = animateur
    client.force_login(user)
    _import(client, epn, "population", FIXTURES / "insee" / "rennes-iris-2016.csv")
    # Nothing is written before confirmation: the dry run alone leaves no rows.
    _upload(client, epn, "frequentation", CORRECT / "usagers.csv")
    job = ImportJob.objects.latest("id")
    assert job.state == ImportJob.State.PRET and FrequentationImport.objects.count() == 0
    page = client.get(job.get_absolute_url()).content.decode()
    assert "Premières lignes lues" in page and "352380101" in page
    client.post(job.get_absolute_url(), {"action": "confirmer"})
    dataset = FrequentationImport.objects.get()
    assert dataset.nb_enregistrements == 5
    response = client.post(
        reverse("diagnostic:compute", args=[epn.pk]),
        {"frequentation": dataset.pk, "niveau": "iris", "titre": "Essai"},
    )
    diagnostic = Diagnostic.objects.get()
    assert response.url == diagnostic.get_absolute_url()
    assert client.get(response.url).status_code == 200


@pytest.mark.parametrize(
    ("name", "fmt", "expected"),
    [
        ("mauvais-separateur.csv", "ancrage", "séparateur"),
        ("colonne-manquante.csv", "ancrage", "tranche_age"),
        ("nombres-negatifs.csv", "agrege", "ligne 2, colonne usagers"),
        ("fichier-vide.csv", "ancrage", "vide"),
        ("pas-un-classeur.xlsx", "coop", "pas-un-classeur.xlsx"),
        ("valeurs-invalides.csv", "ancrage", "en double"),
    ],
)
def test_bad_attendance_files_are_refused_with_located_french_messages(
    client, animateur, name, fmt, expected
):
    user, epn = animateur
    client.force_login(user)
    _import(client, epn, "population", FIXTURES / "insee" / "rennes-iris-2016.csv")
    before = _row_counts()
    _upload(client, epn, "frequentation", EDGE / name, fmt=fmt)
    job = ImportJob.objects.latest("id")
    assert job.state == ImportJob.State.REFUSE
    page = client.get(job.get_absolute_url()).content.decode()
    assert f"Fichier « {name} »" in page and expected in page
    assert _row_counts() == before
    # The job is not even confirmable.
    client.post(job.get_absolute_url(), {"action": "confirmer"})
    assert _row_counts() == before


def test_windows_1252_edge_case_is_read(client, animateur):
    user, epn = animateur
    client.force_login(user)
    _import(client, epn, "population", FIXTURES / "insee" / "rennes-iris-2016.csv")
    _import(client, epn, "frequentation", EDGE / "windows-1252.csv")
    assert Usager.objects.filter(situation="retraite").exists()


def test_bad_insee_file_is_refused_and_leaves_nothing(client, animateur):
    user, epn = animateur
    client.force_login(user)
    bad = (FIXTURES / "insee" / "rennes-iris-2016.csv").read_text().replace("202.16105269508637", "-5", 1)
    _upload(client, epn, "population", bad.encode(), name="rennes-negatif.csv")
    job = ImportJob.objects.latest("id")
    page = client.get(job.get_absolute_url()).content.decode()
    assert "Fichier « rennes-negatif.csv », ligne 2, colonne E : Valeur négative" in page
    assert _row_counts() == [0] * 7 and Secteur.objects.count() == 0


def test_attendance_before_population_is_refused(client, animateur):
    user, epn = animateur
    client.force_login(user)
    _upload(client, epn, "frequentation", CORRECT / "usagers.csv")
    job = ImportJob.objects.latest("id")
    assert job.state == ImportJob.State.REFUSE and "Importez d'abord la population" in job.erreurs[0]


@examples(25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=600), kind=st.sampled_from(["population", "frequentation", "priorites"]))
def test_random_bytes_never_crash_nor_half_import(client, animateur, data, kind):
    user, epn = animateur
    client.force_login(user)
    before = _row_counts()
    response = _upload(client, epn, kind, data, name="aleatoire.csv")
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        job = ImportJob.objects.latest("id")
        # Random bytes may happen to be a valid file (PRET): still, nothing is written before confirming.
        assert job.state in (ImportJob.State.PRET, ImportJob.State.REFUSE)
        if job.state == ImportJob.State.REFUSE:
            assert job.erreurs and all("aleatoire.csv" in e for e in job.erreurs[:1])
    else:
        assert "aleatoire.csv" in response.content.decode()
    assert _row_counts() == before


@pytest.fixture
def demo(demo):
    return Diagnostic.objects.get(titre__startswith="Diagnostic 2024 de l’EPN du Blosne")


def _login(client, email):
    from ancrage.accounts.models import User

    client.force_login(User.objects.get(email=email))


def test_diagnostic_page_shows_charts_with_intervals_and_targets(client, demo):
    _login(client, "animateur@demo.ancrage.fr")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(demo.get_absolute_url())
    assert response.status_code == 200
    assert len(queries) <= 12, [q["sql"] for q in queries]
    page = response.content.decode()
    assert page.count("<svg") >= 2 and "intervalle de confiance à 95 %" in page
    assert " style=" not in page.split('id="content"')[-1]  # CSP: no inline styles in our markup
    assert f"/actions/nouvelle/?diagnostic={demo.pk}&amp;cible=1" in page
    assert "personnes de 60 à 74 ans" in page
    assert '<th scope="col">' in page and "<caption>" in page


def test_diagnostic_page_pages_its_sectors_and_renders_the_result_once(
    client, demo, django_assert_max_num_queries
):
    # A département's diagnostic: hundreds of sectors, shown 100 at a time.
    resultat = demo.resultat
    model = resultat["secteurs"][0]
    resultat["secteurs"] = [dict(model, code=f"35238{i:04d}", nom=f"Secteur {i}") for i in range(250)]
    Diagnostic.objects.filter(pk=demo.pk).update(resultat=resultat)
    cache.clear()
    url = demo.get_absolute_url()
    _login(client, "animateur@demo.ancrage.fr")
    with django_assert_max_num_queries(12) as first:
        page = client.get(url).content.decode()
    assert "(352380099)</span>" in page and "(352380100)</span>" not in page
    assert "1 à 100 sur 250" in page and "/actions/nouvelle/?diagnostic=" in page
    # The same page again: its result part is kept, the JSON result is not even read.
    with django_assert_max_num_queries(len(first.captured_queries) - 1) as second:
        again = client.get(url).content.decode()
    # The CSRF token and the CSP nonce change with each response; the rest is the same page.
    csrf = re.compile(r'(name="csrfmiddlewaretoken" value=|nonce=)"[^"]*"')
    assert csrf.sub("", again) == csrf.sub("", page)
    assert not any("resultat" in q["sql"] for q in second.captured_queries)
    last = client.get(url, {"page": 3}).content.decode()
    assert "(352380249)</span>" in last and "(352380099)</span>" not in last
    assert client.get(url, {"page": "x"}).status_code == 200
    # Who may not write sees no link to create an action, even once the writer's page is kept.
    _login(client, "referent@demo.ancrage.fr")
    assert "/actions/nouvelle/?diagnostic=" not in client.get(url).content.decode()


def test_epn_page_and_lists_have_bounded_queries(client, demo):
    _login(client, "animateur@demo.ancrage.fr")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("diagnostic:epn", args=[demo.structure_id]))
    assert response.status_code == 200 and len(queries) <= 20
    for name in ("priorites", "secteurs"):
        assert client.get(reverse(f"diagnostic:{name}", args=[demo.structure_id])).status_code == 200


def test_pdf_downloads_with_the_targets(client, demo):
    _login(client, "animateur@demo.ancrage.fr")
    response = client.get(reverse("diagnostic:pdf", args=[demo.pk]))
    assert response["Content-Type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Publics cibles prioritaires" in text
    assert "60 à 74 ans" in text
    assert AuditEntry.objects.filter(action="download", object_id=str(demo.pk)).exists()


def test_csv_and_xlsx_exports(client, demo):
    _login(client, "animateur@demo.ancrage.fr")
    csv_text = client.get(reverse("diagnostic:export_csv", args=[demo.pk])).content.decode("utf-8-sig")
    assert "# secteurs" in csv_text and "352381101" in csv_text and "# cibles" in csv_text
    content = client.get(reverse("diagnostic:export_xlsx", args=[demo.pk])).content
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    assert workbook.sheetnames == ["Secteurs", "Categories", "Cibles"]
    assert workbook["Cibles"]["A2"].value == 1


def test_usagers_export_is_audited_and_escapes_formulas(client, demo):
    dataset = FrequentationImport.objects.filter(structure=demo.structure).first()
    Usager.objects.filter(dataset=dataset).update(oriente_par='=HYPERLINK("x")')
    _login(client, "animateur@demo.ancrage.fr")
    response = client.get(reverse("diagnostic:usagers_export", args=[dataset.pk]))
    assert "'=HYPERLINK" in response.content.decode("utf-8-sig")
    assert AuditEntry.objects.filter(action="export", object_id=str(dataset.pk)).count() == 1
    # A référent sees the diagnostic but not the pseudonymous records.
    _login(client, "referent@demo.ancrage.fr")
    assert client.get(reverse("diagnostic:usagers_export", args=[dataset.pk])).status_code == 403
    assert client.get(demo.get_absolute_url()).status_code == 200


@pytest.mark.parametrize("name", ["detail", "pdf", "export_csv", "export_xlsx"])
def test_other_epn_and_partners_get_404(client, demo, name):
    url = reverse(f"diagnostic:{name}", args=[demo.pk])
    for email in ("animateur2@demo.ancrage.fr", "partenaire@demo.ancrage.fr"):
        _login(client, email)
        assert client.get(url).status_code == 404
    _login(client, "animateur2@demo.ancrage.fr")
    assert client.get(reverse("diagnostic:epn", args=[demo.structure_id])).status_code == 404
    dataset = FrequentationImport.objects.filter(structure=demo.structure).first()
    assert client.get(reverse("diagnostic:usagers_export", args=[dataset.pk])).status_code == 404


def test_vitre_animateur_sees_only_vitre(client, demo):
    _login(client, "animateur2@demo.ancrage.fr")
    response = client.get(reverse("diagnostic:index"), follow=True)
    page = response.content.decode()
    assert "Vitré" in page and "Blosne" not in page.split('id="content"')[-1]


def test_comparison_of_two_diagnostics(client, demo):
    before = Diagnostic.objects.get(titre__startswith="Diagnostic 2023 de l’EPN du Blosne")
    _login(client, "animateur@demo.ancrage.fr")
    response = client.get(reverse("diagnostic:compare"), {"avant": before.pk, "apres": demo.pk})
    assert response.status_code == 200 and "Indice avant" in response.content.decode()
    _login(client, "animateur2@demo.ancrage.fr")
    assert (
        client.get(reverse("diagnostic:compare"), {"avant": before.pk, "apres": demo.pk}).status_code == 404
    )


def test_priorities_edit_reset_and_csv_import(client, animateur):
    user, epn = animateur
    client.force_login(user)
    url = reverse("diagnostic:priorites", args=[epn.pk])
    client.post(
        url,
        {
            "action": "ajouter",
            "theme": "numérique et parentalité",
            "poids": "2",
            "dimension": "age",
            "categorie": "30-44",
        },
    )
    themes = list(epn.priorites.values_list("theme", flat=True))
    assert "numérique et parentalité" in themes and "seniors" in themes  # started from the defaults
    csv = "theme;poids;dimension;categorie;secteurs\njeunesse;2;age;15-29;\npolitique de la ville;3;;;QPV\n"
    _import(client, epn, "priorites", csv.encode(), name="priorites.csv")
    assert list(epn.priorites.values_list("theme", "poids")) == [
        ("jeunesse", 2.0),
        ("politique de la ville", 3.0),
    ]
    client.post(url, {"action": "reinitialiser"})
    assert epn.priorites.count() == 5


def test_staff_of_another_role_cannot_write(client, demo):
    _login(client, "referent@demo.ancrage.fr")
    assert client.get(reverse("diagnostic:import", args=[demo.structure_id, "population"])).status_code == 403
    assert client.post(reverse("diagnostic:compute", args=[demo.structure_id]), {}).status_code == 403


def test_contours_import_draws_a_map(client, animateur):
    import json

    user, epn = animateur
    client.force_login(user)
    _import(client, epn, "population", FIXTURES / "insee" / "rennes-iris-2016.csv")

    def square(x):
        return {
            "type": "Polygon",
            "coordinates": [[[x, 48.1], [x + 0.01, 48.1], [x + 0.01, 48.11], [x, 48.1]]],
        }  # noqa: E731

    geojson = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"code_iris": code}, "geometry": square(-1.7 + i * 0.01)}
            for i, code in enumerate(["352380101", "352380102"])
        ],
    }
    _import(client, epn, "contours", json.dumps(geojson).encode(), name="contours.geojson")
    assert Secteur.objects.filter(contour__isnull=False).count() == 2
    _import(client, epn, "frequentation", CORRECT / "usagers.csv")
    client.post(
        reverse("diagnostic:compute", args=[epn.pk]),
        {"frequentation": FrequentationImport.objects.get().pk, "niveau": "iris"},
    )
    page = client.get(Diagnostic.objects.get().get_absolute_url()).content.decode()
    assert "Carte des secteurs" in page and '<path d="M' in page


def test_menu_has_the_diagnostic(client, demo):
    _login(client, "animateur@demo.ancrage.fr")
    assert reverse("diagnostic:index") in client.get(reverse("home:index")).content.decode()
    assert UserFactory  # factories stay importable for other tests
    assert StructureFactory


@pytest.mark.parametrize(
    ("page", "data"),
    [
        ("diagnostic:priorites", {"action": "supprimer", "priorite": "abc"}),
        ("diagnostic:secteurs", {"action": "supprimer_quartier", "quartier": "abc"}),
    ],
)
def test_a_malformed_posted_id_is_a_404_not_a_500(client, animateur, page, data):
    user, epn = animateur
    client.force_login(user)
    assert client.post(reverse(page, args=[epn.pk]), data).status_code == 404
