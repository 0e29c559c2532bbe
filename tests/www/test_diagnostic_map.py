"""The diagnostic's map: IGN's outlines imported through the page, the demo's map, its legend,
its table and its print version."""

import io
import re
import zipfile
from pathlib import Path

import pytest
from django.urls import reverse

from ancrage.accounts.models import User
from ancrage.diagnostic import rapport
from ancrage.diagnostic.models import Diagnostic, ImportJob
from ancrage.organisations.enums import Role
from ancrage.territoire.models import Secteur
from ancrage.www.diagnostic_views import views
from tests.organisations.factories import MembershipFactory

pytestmark = pytest.mark.demo(conventions=False)

FIXTURES = Path(__file__).parents[1] / "fixtures"
SHAPEFILE = FIXTURES / "geo" / "iris-ge-extrait"
VILLEURBANNE = (
    Path(__file__).parents[2] / "ancrage" / "demo" / "data" / "iris-population-2016-villeurbanne.csv"
)
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
PATH_TOKEN = re.compile(r"[MLlz]|-?\d+(?:\.\d+)?|[, ]+")


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(SHAPEFILE.glob("IRIS_GE.*")):
            archive.write(path, f"CONTOURS-IRIS/{path.name}")
    return buffer.getvalue()


def _post(client, epn, kind, data: bytes, name: str):
    upload = io.BytesIO(data)
    upload.name = name
    client.post(reverse("diagnostic:import", args=[epn.pk, kind]), {"fichier": upload})
    return ImportJob.objects.latest("id")


def _confirm(client, job):
    client.post(job.get_absolute_url(), {"action": "confirmer"})
    job.refresh_from_db()
    assert job.state == ImportJob.State.TERMINE, job.erreurs


def test_ign_shapefile_zip_imported_through_the_page_names_the_sectors(client, db):
    membership = MembershipFactory(role=Role.ANIMATEUR)
    epn = membership.structure
    client.force_login(membership.user)
    _confirm(client, _post(client, epn, "population", VILLEURBANNE.read_bytes(), VILLEURBANNE.name))
    assert Secteur.objects.get(structure=epn, code="692661101").nom == "Villeurbanne (IRIS 1101)"
    job = _post(client, epn, "contours", _zip(), "CONTOURS-IRIS.zip")
    assert job.state == ImportJob.State.PRET, job.erreurs
    preview = client.get(job.get_absolute_url()).content.decode()
    assert "RGF93_Lambert_93 (EPSG:2154)" in preview and "Villeurbanne - Gratte-Ciel" in preview
    _confirm(client, job)
    gratte_ciel = Secteur.objects.get(structure=epn, code="692661101")
    assert gratte_ciel.nom == "Villeurbanne - Gratte-Ciel"
    lon, lat = gratte_ciel.contour["coordinates"][0][0]
    assert 4.87 < lon < 4.89 and 45.76 < lat < 45.78
    assert Secteur.objects.filter(structure=epn, contour__isnull=False).count() == 6


def test_a_shapefile_chosen_as_its_four_files_is_read_as_one(client, db):
    membership = MembershipFactory(role=Role.ANIMATEUR)
    epn = membership.structure
    client.force_login(membership.user)
    _confirm(client, _post(client, epn, "population", VILLEURBANNE.read_bytes(), VILLEURBANNE.name))
    page = client.get(reverse("diagnostic:import", args=[epn.pk, "contours"])).content.decode()
    assert 'type="file"' in page and " multiple>" in page
    uploads = []
    for suffix in ("shp", "shx", "dbf", "prj"):
        upload = io.BytesIO((SHAPEFILE / f"IRIS_GE.{suffix}").read_bytes())
        upload.name = f"IRIS_GE.{suffix}"
        uploads.append(upload)
    client.post(reverse("diagnostic:import", args=[epn.pk, "contours"]), {"fichier": uploads})
    job = ImportJob.objects.latest("id")
    assert job.fichier == "IRIS_GE.shp + IRIS_GE.shx + IRIS_GE.dbf + IRIS_GE.prj"
    _confirm(client, job)
    assert Secteur.objects.filter(structure=epn, contour__isnull=False).count() == 6
    # Without the .prj, the refusal says which file is missing, and nothing changes.
    for upload in uploads:
        upload.seek(0)
    client.post(reverse("diagnostic:import", args=[epn.pk, "contours"]), {"fichier": uploads[:3]})
    job = ImportJob.objects.latest("id")
    assert job.state == ImportJob.State.REFUSE and ".prj" in str(job.erreurs)


def test_a_lone_shp_is_refused_with_what_to_do(client, db):
    membership = MembershipFactory(role=Role.ANIMATEUR)
    client.force_login(membership.user)
    job = _post(
        client, membership.structure, "contours", (SHAPEFILE / "IRIS_GE.shp").read_bytes(), "IRIS_GE.shp"
    )
    assert job.state == ImportJob.State.REFUSE
    assert "archive .zip" in str(job.erreurs) and "IRIS_GE.shp" in str(job.erreurs)


def _demo_map_diagnostic():
    return Diagnostic.objects.get(titre="Diagnostic 2024 de l’EPN de Villeurbanne (démo)")


def _map_svg(html: str) -> str:
    match = re.search(r'<svg[^>]*class="ancrage-carte-svg".*?</svg>', html, re.S)
    assert match, "no map on the page"
    return match.group(0)


def _assert_drawable(svg: str) -> list[str]:
    view_box = re.search(r'viewBox="([^"]+)"', svg).group(1).split()
    assert len(view_box) == 4 and all(NUMBER.match(n) for n in view_box)
    assert 'preserveAspectRatio="xMidYMid meet"' in svg
    paths = re.findall(r'<path d="([^"]+)"', svg)
    for d in paths:
        assert "".join(PATH_TOKEN.findall(d)) == d, d[:80]  # commands and plain numbers only
    for attribute in re.findall(r'stroke-width="([^"]+)"', svg):
        assert NUMBER.match(attribute)
    return paths


def test_demo_first_diagnostic_of_its_animatrice_has_a_map_of_45_sectors(client, demo):
    client.force_login(User.objects.get(email="animateur3@demo.ancrage.fr"))
    listing = client.get(reverse("diagnostic:index"), follow=True).content.decode()
    diagnostic = _demo_map_diagnostic()
    assert diagnostic.get_absolute_url() in listing
    html = client.get(diagnostic.get_absolute_url()).content.decode()
    paths = _assert_drawable(_map_svg(html))
    assert len(paths) == 45 >= 20
    # The legend: every class break in words, with its count of sectors.
    for label in ("moins de 50 %", "de 50 à 80 %", "de 80 à 120 %", "plus de 120 %", "contour rouge"):
        assert label in html
    counts = [int(n) for n in re.findall(r"\((\d+) secteurs?\)</li>", html)]
    assert sum(counts) == 45
    # The table of the map: caption, column and row headers, one row per sector, names not codes.
    table = re.search(r'<details class="ancrage-carte-tableau.*?</details>', html, re.S).group(0)
    assert "<caption>Carte des secteurs" in table and '<th scope="col">' in table
    assert table.count('<th scope="row">') == 45
    assert "Villeurbanne - Gratte-Ciel" in table
    assert 'href="#tableau-carte"' in html


def test_the_pdf_report_prints_the_map_with_its_legend_and_table(demo):
    diagnostic = _demo_map_diagnostic()
    html = rapport.render_pdf_html(
        diagnostic.resultat,
        titre=diagnostic.titre,
        structure=diagnostic.structure.nom,
        parametres=diagnostic.parametres,
        contours_svg=views._contours_svg(diagnostic),
    )
    assert len(_assert_drawable(_map_svg(html))) == 45
    assert "<details" not in html  # printed open
    assert "<caption>Carte des secteurs" in html and "moins de 50 %" in html


def test_a_diagnostic_without_outlines_has_no_map(client, demo):
    client.post(
        reverse("accounts:login"), {"username": "animateur@demo.ancrage.fr", "password": "demo-ancrage"}
    )
    diagnostic = Diagnostic.objects.filter(structure__nom="EPN du Blosne (démo)").latest("id")
    html = client.get(diagnostic.get_absolute_url()).content.decode()
    assert "ancrage-carte-svg" not in html and "Tous les chiffres" in html
