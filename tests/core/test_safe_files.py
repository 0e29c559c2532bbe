"""Uploaded files are checked before parsing: size, real type, zip bombs, traversal, XML entities."""

import io
import zipfile

import openpyxl
import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from ancrage.core.importing import ImportRejected
from ancrage.core.safe_files import MIB, Limits, check_upload, check_zip, sniff_kind
from tests.properties import examples


def _xlsx_bytes() -> bytes:
    workbook = openpyxl.Workbook()
    workbook.active.append(["iris", "usagers"])
    workbook.active.append(["352380101", 12])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _zip(entries: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _message(error: pytest.ExceptionInfo) -> str:
    return str(error.value)


def test_a_real_workbook_passes():
    assert check_upload(_xlsx_bytes(), filename="export.xlsx", accept={"xlsx"}) == "xlsx"


def test_a_csv_passes_and_is_recognised():
    assert check_upload(b"iris;usagers\n352380101;12\n", filename="u.csv", accept={"csv"}) == "csv"
    assert sniff_kind(b"\xef\xbb\xbf[1, 2]") == "json"


def test_size_limit():
    with pytest.raises(ImportRejected) as error:
        check_upload(b"a" * 2048, filename="gros.csv", limits=Limits(max_size=1024))
    assert "Fichier « gros.csv » : le fichier pèse 2 Ko, au-delà de la limite de 1 Ko." == _message(error)


def test_empty_file():
    with pytest.raises(ImportRejected, match="vide"):
        check_upload(b"", filename="vide.csv")


def test_type_is_read_from_the_content_not_the_name():
    with pytest.raises(ImportRejected, match="n’est pas du type attendu"):
        check_upload(b"iris;usagers\n", filename="faux.xlsx", accept={"xlsx"})
    with pytest.raises(ImportRejected, match="n’est pas du type attendu"):
        check_upload(_zip({"a.txt": b"x"}), filename="archive.xlsx", accept={"xlsx"})


def test_zip_bomb_by_ratio_is_refused():
    bomb = _zip({"xl/workbook.xml": b"<workbook/>", "xl/worksheets/sheet1.xml": b"0" * (50 * MIB)})
    assert len(bomb) < MIB
    with pytest.raises(ImportRejected, match="bombe zip"):
        check_upload(bomb, filename="bombe.xlsx", accept={"xlsx"})


def test_zip_bomb_by_total_size_is_refused():
    entries = {"xl/workbook.xml": b"<workbook/>", "xl/worksheets/sheet1.xml": b"0" * (3 * MIB)}
    archive = _zip(entries, compression=zipfile.ZIP_STORED)
    with pytest.raises(ImportRejected, match="dépasserait 2 Mo"):
        check_upload(archive, accept={"xlsx"}, limits=Limits(max_size=10 * MIB, max_uncompressed=2 * MIB))


def test_too_many_entries():
    entries = {"xl/workbook.xml": b"<workbook/>", **{f"xl/media/{i}.bin": b"x" for i in range(30)}}
    with pytest.raises(ImportRejected, match="31 éléments"):
        check_upload(_zip(entries), accept={"xlsx"}, limits=Limits(max_entries=20))


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "/etc/passwd", "xl/../../x.xml", "C:\\x.xml", "a\\..\\b"]
)
def test_path_traversal_is_refused(name):
    archive = _zip({"xl/workbook.xml": b"<workbook/>", name: b"x"})
    with pytest.raises(ImportRejected, match="chemin interdit"):
        check_zip(archive, filename="x.xlsx")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<workbook>&lol2;</workbook>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><workbook>&xxe;</workbook>"""


@pytest.mark.parametrize(
    "payload", [BILLION_LAUGHS, EXTERNAL, b'<!DOCTYPE workbook SYSTEM "http://x/y.dtd"><workbook/>']
)
def test_xml_entities_and_dtds_are_refused(payload):
    archive = _zip({"xl/workbook.xml": payload})
    with pytest.raises(ImportRejected) as error:
        check_upload(archive, filename="piege.xlsx", accept={"xlsx"})
    assert "entités XML" in _message(error)
    assert "« xl/workbook.xml »" in _message(error)


def test_damaged_xml_part():
    with pytest.raises(ImportRejected, match="endommagée"):
        check_upload(_zip({"xl/workbook.xml": b"<workbook><sheet"}), accept={"xlsx"})


def test_truncated_workbook():
    data = _xlsx_bytes()
    with pytest.raises(ImportRejected):
        check_upload(data[: len(data) // 2], filename="tronque.xlsx", accept={"xlsx"})


@examples(500, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.binary(max_size=4096), st.sampled_from([{"csv"}, {"xlsx"}, {"xlsx", "xls"}, {"docx"}, {"json", "csv"}])
)
def test_random_bytes_never_raise_anything_but_a_located_french_rejection(data, accept):
    try:
        kind = check_upload(data, filename="hasard.bin", accept=accept)
    except ImportRejected as error:
        assert error.issues and all(issue.file == "hasard.bin" for issue in error.issues)
    else:
        assert kind in accept


@examples(200, deadline=None)
@given(st.integers(min_value=0, max_value=4000), st.binary(min_size=1, max_size=64))
def test_corrupted_workbooks_never_raise_anything_else(cut, noise):
    data = _xlsx_bytes()
    corrupted = data[:cut] + noise + data[cut + len(noise) :]
    try:
        check_upload(corrupted, filename="abime.xlsx", accept={"xlsx"})
    except ImportRejected as error:
        assert error.issues
