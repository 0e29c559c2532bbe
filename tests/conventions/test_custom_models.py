import io
import statistics
import sys
import threading
import time
import zipfile
from pathlib import Path

import docx
import pytest
from docx.opc.packuri import PackURI
from hypothesis import example, given
from hypothesis import strategies as st
from pypdf import PdfReader

from ancrage.conventions import custom_models
from ancrage.conventions.custom_models import (
    CustomModelError,
    LibreOfficeError,
    RenderLimits,
    build_context,
    check_custom_model,
    convert_with_libreoffice,
    documented_variables,
    render_custom_model,
    render_in_worker,
)
from tests.conventions.test_documents import pdf_text, requires_libreoffice
from tests.pdf_checks import xmp_identification
from tests.properties import examples

FIXTURES = Path(__file__).parents[1] / "fixtures" / "conventions"


def valid_model() -> bytes:
    return (FIXTURES / "modele-valide.docx").read_bytes()


def model_with(*paragraphs: str) -> bytes:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def rezip(data: bytes, replace: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as target:
        for info in source.infolist():
            target.writestr(info.filename, replace.get(info.filename, source.read(info.filename)))
        for name, content in replace.items():
            if name not in source.namelist():
                target.writestr(name, content)
    return buffer.getvalue()


def rendered_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    footer = document.sections[0].footer.paragraphs[0].text
    return "\n".join([p.text for p in document.paragraphs] + [footer])


def test_good_model_renders_parties_and_commitments(content):
    generated = render_custom_model(valid_model(), content, filename="ma-convention.docx")
    text = rendered_text(generated.content)
    assert "Espace numérique des Glycines, représentée par Mme Claire Dubois" in text
    assert "– mettre à disposition deux bénévoles formés." in text
    assert "– assurer l'animation des séances : douze ateliers de deux heures ;" in text
    assert "Total : 1\u202f200,50\u00a0€" in text
    assert "CONV-2025-007" in text  # footer tags are rendered too
    assert "{{" not in text and "{%" not in text
    assert generated.filename == "ma-convention.docx"


def test_check_lists_tags_and_variables():
    checked = check_custom_model(valid_model())
    assert checked.variables == {"convention", "parties", "finances"}
    assert "{{ partie.representant.nom }}" in checked.tags


def test_every_documented_variable_is_in_the_context(content):
    context = build_context(content)
    for path in documented_variables():
        node = context
        for part in path.split("."):
            if part.endswith("[]"):
                node = node[part[:-2]]
                assert isinstance(node, list)
                if not node:
                    break
                node = node[0]
            else:
                assert part in node, path
                node = node[part]
            if node is None:
                break


@pytest.mark.parametrize(
    ("tag", "named"),
    [
        ("{{ montant_total }}", "montant_total"),
        ("{{ epn.nome }}", "nome"),
        ("{{ epn.representant.adresse }}", "adresse"),
        ("{% for p in parties %}{{ p.inconnu }}{% endfor %}", "inconnu"),
        ("{{ convention.titre.upper() }}", "appels de fonction"),
        ("{{ range(10) }}", "appels de fonction"),
        ("{{ convention.titre|attr('x') }}", "attr"),
        ("{% set x = 1 %}", "affectations"),
        ("{% include 'autre.docx' %}", "inclusion"),
        ("{{ 9 ** 9 }}", "seules"),
    ],
)
def test_unknown_or_forbidden_tags_are_refused_by_name(tag, named):
    with pytest.raises(CustomModelError) as error:
        check_custom_model(model_with("Bonjour", tag))
    assert named in str(error.value)
    assert "balise" in str(error.value).lower()


@pytest.mark.parametrize(
    ("paragraphs", "named"),
    [
        (["{{ epn.nom }"], "{{ epn.nom }"),
        (["{{ epn..nom }}"], "{{ epn..nom }}"),
        (["{% for p in parties %}", "{{ p.nom }}"], "{% for p in parties %}"),
        (["{% if finances.gratuite %}oui"], "{% if finances.gratuite %}"),
        (["{% endfor %}"], "{% endfor %}"),
        (["{{ epn.nom | }}"], "{{ epn.nom | }}"),
    ],
)
def test_broken_tags_are_refused_by_name(paragraphs, named):
    with pytest.raises(CustomModelError) as error:
        check_custom_model(model_with(*paragraphs))
    assert named in str(error.value)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"%PDF-1.7 pas un docx",
        b"PK\x03\x04 tronque",
        b"Bonjour",
    ],
)
def test_non_docx_is_refused(data):
    with pytest.raises(CustomModelError, match="n'est pas un document Word"):
        check_custom_model(data, "contrat.pdf")


def test_zip_without_word_document_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
    with pytest.raises(CustomModelError, match="n'est pas un document Word"):
        check_custom_model(buffer.getvalue(), "modele.odt")


def test_zip_bomb_is_refused_before_opening():
    bomb = rezip(valid_model(), {"word/media/vide.bin": b"\0" * (40 * 1024 * 1024)})
    assert len(bomb) < 1024 * 1024
    with pytest.raises(CustomModelError, match="anormalement volumineux"):
        check_custom_model(bomb)


def test_lying_zip_directory_is_caught_while_reading(monkeypatch):
    # A member bigger than its declared size: the stream is counted, not trusted.
    monkeypatch.setattr(custom_models, "MAX_MEMBER_BYTES", 1000)
    data = rezip(valid_model(), {"word/big.xml": b"<a>" + b"x" * 5000 + b"</a>"})
    with pytest.raises(CustomModelError, match="anormalement volumineux"):
        check_custom_model(data)


def test_xml_entity_attack_is_refused():
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        b"<w:body><w:p><w:r><w:t>&lol2;</w:t></w:r></w:p></w:body></w:document>"
    )
    with pytest.raises(CustomModelError, match="DTD ou entités"):
        check_custom_model(rezip(valid_model(), {"word/document.xml": laughs}))


def test_external_entity_is_refused():
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        b"<w:body><w:p><w:r><w:t>&x;</w:t></w:r></w:p></w:body></w:document>"
    )
    with pytest.raises(CustomModelError, match="DTD ou entités"):
        check_custom_model(rezip(valid_model(), {"word/document.xml": xxe}))


@pytest.mark.parametrize(
    "escape",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ convention.__class__ }}",
        "{{ epn['__class__'] }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
    ],
)
def test_sandbox_escape_is_refused_at_upload(escape):
    with pytest.raises(CustomModelError) as error:
        check_custom_model(model_with(escape))
    assert "refusée" in str(error.value) or "interdit" in str(error.value)


@pytest.mark.parametrize(
    "escape",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ lipsum.__globals__ }}",
    ],
)
def test_sandbox_blocks_escape_even_without_the_checker(escape, content):
    # Defence in depth: skip the upload check and render straight in the sandbox.
    try:
        rendered = custom_models._render_in_sandbox(
            model_with("avant", escape, "après"), build_context(content), custom_models._sandbox()
        )
    except CustomModelError as error:
        assert "bloqué" in str(error) or "invalide" in str(error)
    else:
        text = rendered_text(rendered)
        assert "class" not in text and "object" not in text and "function" not in text
        assert "avant" in text and "après" in text


def test_data_with_markup_does_not_break_the_docx(content):
    from tests.conventions.conftest import make_content

    hostile = make_content(action_title="<w:p>&amp; « Ateliers » </w:t>")
    generated = render_custom_model(model_with("Action : {{ convention.action }}"), hostile)
    assert "Action : <w:p>&amp; « Ateliers » </w:t>" in rendered_text(generated.content)


@examples(200, deadline=None)
@given(data=st.binary(max_size=4096))
def test_random_bytes_always_get_a_french_refusal(data):
    with pytest.raises(CustomModelError) as error:
        check_custom_model(data, "envoi.docx")
    assert "« envoi.docx »" in str(error.value)


@examples(100, deadline=None)
@given(
    members=st.dictionaries(
        st.sampled_from(
            ["[Content_Types].xml", "word/document.xml", "word/_rels/document.xml.rels", "x.bin"]
        ),
        st.binary(max_size=512),
        max_size=4,
    )
)
def test_random_zips_always_get_a_french_refusal(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    with pytest.raises(CustomModelError):
        check_custom_model(buffer.getvalue())


@examples(60, deadline=None)
@given(tag=st.text(alphabet="{}%#|.()[]'_ abcdefgnoprstu", max_size=30))
@example(tag="{{ convention.action }}")  # accepted
@example(tag="{% if %}")  # refused
def test_random_tags_never_crash_the_checker(tag):
    try:
        checked = check_custom_model(model_with(tag))
    except CustomModelError as error:
        assert str(error)
    else:
        # Accepted: the tags found are the paragraph's own, and an opening "{{" or "{%" was one.
        assert all(found in tag for found in checked.tags)
        assert checked.tags or not ("{{" in tag or "{%" in tag)


@requires_libreoffice
def test_rendered_model_converts_to_pdf_with_libreoffice(content):
    generated = render_custom_model(valid_model(), content)
    pdf = convert_with_libreoffice(generated.content)
    text = pdf_text(pdf)
    assert "Association Lire et Écrire Ensemble" in text
    assert "mettre à disposition deux bénévoles formés" in text
    # Archival and accessible, as the PDFs WeasyPrint renders: PDF/A-3b, tagged, PDF/UA-1.
    assert xmp_identification(pdf) == {"pdfaid:part": "3", "pdfaid:conformance": "B", "pdfuaid:part": "1"}
    root = PdfReader(io.BytesIO(pdf)).trailer["/Root"]
    assert root["/MarkInfo"]["/Marked"] and "/StructTreeRoot" in root


def test_missing_libreoffice_is_a_french_error(tmp_path, monkeypatch):
    monkeypatch.setattr(custom_models, "find_soffice", lambda: None)
    with pytest.raises(LibreOfficeError, match="n'est pas installé"):
        convert_with_libreoffice(b"PK")


def test_libreoffice_timeout_kills_it(tmp_path):
    slow = tmp_path / "soffice"
    slow.write_text(f"#!{sys.executable}\nimport time\ntime.sleep(30)\n")
    slow.chmod(0o755)
    with pytest.raises(LibreOfficeError, match="interrompue"):
        convert_with_libreoffice(valid_model(), soffice=str(slow), timeout=0.5)


# --- What docxtpl renders is what is checked ------------------------------------------------------

NOTES_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/footnotes"
NOTES_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"
# Hidden from the old checker's markup stripping: python-docx writes "<" as "&lt;", docxtpl turns
# it back into "<", and the skeleton took "<' ~ lipsum(1000000) ~ '>" for a piece of XML.
UNESCAPED = "{{ convention.titre ~ '<' ~ lipsum(1000000) ~ '>' }}"
CALL = "{{ lipsum(1000000) }}"


def save(document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def with_footnotes(data: bytes, text: str, name: str = "word/notes-annexe.xml") -> bytes:
    """``data`` with a footnotes part under an unusual name, reached by document.xml's relationships."""
    source = zipfile.ZipFile(io.BytesIO(data))
    types = source.read("[Content_Types].xml").decode()
    rels = source.read("word/_rels/document.xml.rels").decode()
    notes = (
        '<w:footnotes xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f'<w:footnote w:id="1"><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:footnote></w:footnotes>'
    )
    return rezip(
        data,
        {
            "[Content_Types].xml": types.replace(
                "</Types>", f'<Override PartName="/{name}" ContentType="{NOTES_TYPE}"/></Types>'
            ).encode(),
            "word/_rels/document.xml.rels": rels.replace(
                "</Relationships>",
                f'<Relationship Id="rIdNotes" Type="{NOTES_REL}" Target="{name.removeprefix("word/")}"/>'
                "</Relationships>",
            ).encode(),
            name: notes.encode(),
        },
    )


def model_with_parts(
    body: str = "{{ epn.nom }}",
    *,
    header: str | None = None,
    footer: str | None = None,
    title: str | None = None,
    footnote: str | None = None,
    main: str | None = None,
) -> bytes:
    """A model whose parts have names the old checker did not read; docxtpl follows the relationships."""
    document = docx.Document()
    document.add_paragraph(body)
    section = document.sections[0]
    if header is not None:
        section.header.paragraphs[0].text = header
        section.header.part.partname = PackURI("/word/entete-annexe.xml")
    if footer is not None:
        section.footer.paragraphs[0].text = footer
        section.footer.part.partname = PackURI("/word/pied-annexe.xml")
    if title is not None:
        document.core_properties.title = title
        document.part.package._core_properties_part.partname = PackURI("/docProps/proprietes.xml")
    if main is not None:
        document.paragraphs[0].text = main
        document.part.partname = PackURI("/word/principal.xml")
    data = save(document)
    if main is not None:  # a harmless decoy where the old checker looked
        decoy = zipfile.ZipFile(io.BytesIO(model_with("Bonjour"))).read("word/document.xml")
        data = rezip(data, {"word/document.xml": decoy})
    if footnote is not None:
        data = with_footnotes(data, footnote)
    return data


@pytest.mark.parametrize("tag", [UNESCAPED, "{{ '<' if lipsum(1000000) else '>' }}"])
def test_unescaped_markup_cannot_hide_a_call(tag):
    with pytest.raises(CustomModelError) as error:
        check_custom_model(model_with("Bonjour", tag))
    message = str(error.value)
    assert "le corps du document (word/document.xml)" in message
    assert "lipsum(1000000)" in message and "appels de fonction" in message


@pytest.mark.parametrize(
    ("where", "part"),
    [
        ({"header": UNESCAPED}, "l'en-tête (word/entete-annexe.xml)"),
        ({"footer": CALL}, "le pied de page (word/pied-annexe.xml)"),
        ({"footnote": CALL}, "les notes de bas de page (word/notes-annexe.xml)"),
        ({"main": UNESCAPED}, "le corps du document (word/principal.xml)"),
        ({"title": UNESCAPED}, "les propriétés du document (titre, sujet, commentaires…)"),
    ],
)
def test_every_part_docxtpl_renders_is_checked(where, part):
    with pytest.raises(CustomModelError) as error:
        check_custom_model(model_with_parts(**where))
    message = str(error.value)
    assert f"Dans {part}, la balise « " in message, message
    assert "lipsum(1000000)" in message and "appels de fonction" in message


def test_the_checker_reads_exactly_the_sources_docxtpl_compiles(content):
    """If docxtpl ever renders one more part, this fails before a model slips through."""
    data = model_with_parts(
        header="{{ convention.reference }}",
        footer="{{ epn.nom }}",
        title="{{ convention.titre }}",
        footnote="{{ collectivite.nom }}",
    )
    compiled = []

    class Recording(custom_models._CheckedSandbox):
        def _parse(self, source, name, filename):
            compiled.append(source)
            return super()._parse(source, name, filename)

    rendered = custom_models._render_in_sandbox(
        data, build_context(content), custom_models._sandbox(Recording)
    )
    checked = sorted(source.text for source in custom_models._jinja_sources(data))
    assert sorted(compiled) == checked
    assert len(checked) >= 5  # body, header, footer, footnotes, and each document property
    assert docx.Document(io.BytesIO(rendered)).sections[0].header.paragraphs[0].text == "CONV-2025-007"


def test_the_renderer_runs_the_whitelist_too(content):
    # Even with no upload check, nothing the whitelist refuses is ever compiled.
    with pytest.raises(CustomModelError, match="appels de fonction"):
        custom_models._render_in_sandbox(model_with_parts(footer=CALL), build_context(content))


def test_footnotes_are_rendered_once_whatever_the_sections(content):
    # docxtpl renders the footnotes once per section, the second pass reading the first one's
    # output: "{_{" (docxtpl's escape for a literal "{{") would become a live tag.
    document = docx.Document()
    document.add_paragraph("Première section")
    document.add_section()
    document.add_paragraph("Deuxième section")
    data = with_footnotes(save(document), "{_{ lipsum(1000000) }_} {{ epn.nom }}")
    check_custom_model(data)
    rendered = custom_models._render_in_sandbox(data, build_context(content))
    notes = zipfile.ZipFile(io.BytesIO(rendered)).read("word/notes-annexe.xml").decode()
    assert "{{ lipsum(1000000) }} Espace numérique des Glycines" in notes


# --- Rendering under limits -----------------------------------------------------------------------


def looping_model(depth: int = 20) -> bytes:
    """Only documented lists, loops and nothing else: the whitelist lets it through, and its
    3^20 turns (three parties) would run for hours."""
    return model_with("".join(f"{{% for p{i} in parties %}}" for i in range(depth)) + "{% endfor %}" * depth)


def allocating_model() -> bytes:
    text = " ~ ".join(["convention.objet"] * 8)
    return model_with("{% for a in parties %}" * 16 + f"{{{{ {text} }}}}" + "{% endfor %}" * 16)


def test_a_looping_model_passes_the_whitelist_and_is_stopped_by_its_cpu_limit(content):
    data = looping_model()
    check_custom_model(data)
    start = time.monotonic()
    with pytest.raises(CustomModelError, match=r"temps de calcul autorisé \(2 s\)"):
        render_custom_model(data, content, limits=RenderLimits(cpu_seconds=2, wall_seconds=60))
    # Two seconds of CPU; the wall clock also counts the worker's lower priority on a busy machine.
    assert time.monotonic() - start < 30


def test_an_allocating_model_is_stopped_by_its_memory_limit(content):
    data = allocating_model()
    check_custom_model(data)
    limits = RenderLimits(cpu_seconds=60, memory_bytes=200 * 1024 * 1024, wall_seconds=60)
    with pytest.raises(CustomModelError, match=r"mémoire autorisée \(200 Mo\)"):
        render_custom_model(data, content, limits=limits)


def test_a_worker_that_takes_too_long_is_killed(content):
    start = time.monotonic()
    with pytest.raises(CustomModelError, match="n'a pas abouti en 1 s"):
        render_custom_model(looping_model(), content, limits=RenderLimits(cpu_seconds=60, wall_seconds=1))
    assert time.monotonic() - start < 10


def test_a_crashing_worker_is_a_french_message(caplog):
    # Not a DOCX (the upload check skipped): python-docx fails in the worker, the user reads French.
    with pytest.raises(CustomModelError, match="échoué de façon inattendue"):
        render_in_worker(b"PK pas un docx", {}, RenderLimits())
    assert "Custom model worker failed" in caplog.text


def _page_seconds_while_a_model_allocates(client, world, content):
    """``(idle, busy, outcome)``: the median time of ``/actions/`` at rest, its times while an
    allocating model renders, and the render's refusal."""
    client.force_login(world.animateur)

    def page_seconds() -> float:
        start = time.perf_counter()
        response = client.get("/actions/")
        assert response.status_code == 200
        return time.perf_counter() - start

    page_seconds()  # warm the caches
    idle = statistics.median(page_seconds() for _ in range(7))
    outcome = []

    def render():
        limits = RenderLimits(cpu_seconds=3, memory_bytes=192 * 1024 * 1024, wall_seconds=60)
        try:
            render_custom_model(allocating_model(), content, limits=limits)
        except CustomModelError as error:
            outcome.append(str(error))

    thread = threading.Thread(target=render)
    thread.start()
    time.sleep(0.5)  # the worker has started
    busy = []
    while thread.is_alive() and len(busy) < 2000:
        busy.append(page_seconds())
    thread.join(60)
    return idle, busy, outcome


def test_other_pages_answer_while_a_model_allocates(client, world, content):
    """The worker, not a thread of the web process, spends the CPU and the memory.

    Rendered in a thread of the web process, Jinja's loops and the long joins and regular
    expressions over their output held its GIL: the audit saw another user's page take 10 s
    instead of 0.08 s, and here (SQLite, the same page) it took 3.5 times its idle time at the
    median, 20 times at worst. In the worker, every page stays under 1 s (or 4 times its idle
    time, if the machine is so busy that the page alone takes over 0.25 s).
    """
    idle, busy, outcome = _page_seconds_while_a_model_allocates(client, world, content)
    assert outcome and "autorisé" in outcome[0], outcome  # stopped by its memory (or CPU) limit
    assert len(busy) >= 5, "the render ended before the pages were measured"
    assert max(busy) < max(1.0, 4 * idle), (idle, max(busy))


@pytest.mark.slow
def test_other_pages_keep_their_idle_time_while_a_model_allocates(client, world, content):
    """The median page stays under 2.5 times its idle median, which a stalled web process fails
    (ratios of 0.8 to 1.2 measured on a quiet 2-core machine). A timing ratio: ``make test-slow``
    runs it, on a machine at rest; in CI the PostgreSQL suite shares the two cores and moves the
    idle median between the two measures (0.0073 s idle against 0.0193 s busy, seen once)."""
    idle, busy, outcome = _page_seconds_while_a_model_allocates(client, world, content)
    assert outcome and "autorisé" in outcome[0], outcome
    assert len(busy) >= 5, "the render ended before the pages were measured"
    assert statistics.median(busy) < 2.5 * idle, (idle, statistics.median(busy))
