"""A structure's own DOCX convention model, with docxtpl (Jinja) tags.

An uploaded model is untrusted input twice over: as a file (zip bombs, XML
entity tricks) and as a template (Jinja can reach Python internals). So:

1. :func:`check_custom_model` opens the zip with hard limits, parses every
   XML part with defusedxml (no DTD, no entities), extracts every tag and
   refuses, with a French message naming the tag, any tag that is broken,
   unknown (not in :data:`VARIABLES`), or that does more than read data:
   no calls, no arithmetic, no attribute starting with "_", a short list of
   filters.
2. :func:`render_custom_model` checks again, then renders with docxtpl in a
   :class:`jinja2.sandbox.SandboxedEnvironment`, as defence in depth.
3. :func:`convert_with_libreoffice` turns the result into a PDF with a
   headless LibreOffice, in a throw-away profile and with a timeout.
"""

from __future__ import annotations

import html
import io
import os
import re
import shutil
import signal
import subprocess
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeElementTree
from jinja2 import ChainableUndefined, TemplateError, TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from ancrage.conventions.content import (
    ConventionContent,
    Party,
    PartyKind,
    format_amount,
    format_date,
    format_months,
)
from ancrage.conventions.documents import DOCX_MEDIA_TYPE, GeneratedDocument, sha256_hex
from ancrage.conventions.modeles.base import of

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_MEMBERS = 500
MAX_MEMBER_BYTES = 30 * 1024 * 1024
MAX_TOTAL_BYTES = 60 * 1024 * 1024
MAX_RATIO = 200  # real .docx parts compress about 5-20x; bombs compress 1000x+
REQUIRED_MEMBERS = ("[Content_Types].xml", "word/document.xml")


class CustomModelError(ValueError):
    """The uploaded model is refused; the message is French and names the problem."""


class LibreOfficeError(RuntimeError):
    """LibreOffice is missing or failed; the message is French."""


# --- The documented variables -------------------------------------------------
# A dict is an object with these fields, [x] a list of x, None a plain value.

_REPRESENTANT = {"nom": None, "qualite": None, "mandat": None}
_PARTIE = {
    "nom": None,
    "designation": None,
    "type": None,
    "forme_juridique": None,
    "adresse": None,
    "siret": None,
    "representant": _REPRESENTANT,
    "engagements": [None],
}
_LIGNE = {"libelle": None, "montant": None, "partie": None, "en_nature": None}

VARIABLES: dict = {
    "convention": {
        "titre": None,
        "reference": None,
        "version": None,
        "action": None,
        "objet": None,
        "objectifs": [None],
        "publics": [None],
        "date_debut": None,
        "date_fin": None,
        "duree": None,
        "tacite_reconduction": None,
        "renouvellement": None,
        "preavis_resiliation": None,
        "indicateurs": [None],
        "frequence_evaluation": None,
        "communication": None,
        "juridiction": None,
        "lieu_signature": None,
        "date_signature": None,
    },
    "parties": [_PARTIE],
    "epn": _PARTIE,
    "collectivite": _PARTIE,
    "partenaires": [_PARTIE],
    "finances": {
        "gratuite": None,
        "charges": [_LIGNE],
        "ressources": [_LIGNE],
        "total_charges": None,
        "total_ressources": None,
        "modalites_versement": None,
    },
    "signataires": [{"nom": None, "qualite": None, "partie": None}],
}

_LOOP = {"index": None, "index0": None, "first": None, "last": None, "length": None, "revindex": None}
ALLOWED_FILTERS = frozenset(
    {
        "upper",
        "lower",
        "capitalize",
        "title",
        "default",
        "d",
        "join",
        "length",
        "count",
        "first",
        "last",
        "trim",
    }
)
ALLOWED_TESTS = frozenset({"defined", "undefined", "none", "true", "false", "number", "string"})


def documented_variables() -> list[str]:
    """Every tag path a model may use, e.g. "epn.representant.nom", for the help page."""
    paths: list[str] = []

    def walk(prefix: str, schema) -> None:
        if isinstance(schema, dict):
            for key, child in schema.items():
                walk(f"{prefix}.{key}" if prefix else key, child)
        elif isinstance(schema, list):
            paths.append(f"{prefix}[]")
            if isinstance(schema[0], dict):
                walk(f"{prefix}[]", schema[0])
        else:
            paths.append(prefix)

    walk("", VARIABLES)
    return paths


def build_context(content: ConventionContent) -> dict:
    """The data a custom model sees: plain dicts and strings, already formatted in French."""

    def party(p: Party | None) -> dict | None:
        if p is None:
            return None
        rep = p.representative
        return {
            "nom": p.name,
            "designation": p.designation,
            "type": str(p.kind),
            "forme_juridique": p.legal_form,
            "adresse": p.address,
            "siret": p.siret,
            "representant": {"nom": rep.name, "qualite": rep.title, "mandat": rep.mandate} if rep else None,
            "engagements": [c.text for c in content.commitments_of(p.key)],
        }

    def line(item) -> dict:
        return {
            "libelle": item.label,
            "montant": format_amount(item.amount),
            "partie": content.party(item.party_key).designation if item.party_key else "",
            "en_nature": item.in_kind,
        }

    d = content.duration
    finances = content.finances
    epn = content.first_of_kind(PartyKind.EPN)
    collectivite = content.first_of_kind(PartyKind.COLLECTIVITE)
    return {
        "convention": {
            "titre": content.title,
            "reference": content.reference,
            "version": content.version,
            "action": content.action_title,
            "objet": content.purpose,
            "objectifs": list(content.objectives),
            "publics": list(content.target_publics),
            "date_debut": format_date(d.start_date),
            "date_fin": format_date(d.end_date),
            "duree": format_months(d.months),
            "tacite_reconduction": d.tacit_renewal,
            "renouvellement": (
                f"tacite, par périodes {of(format_months(d.renewal_months or d.months))}"
                if d.tacit_renewal
                else "expresse, par avenant"
            ),
            "preavis_resiliation": format_months(content.termination_notice_months),
            "indicateurs": list(content.evaluation_indicators),
            "frequence_evaluation": content.evaluation_frequency,
            "communication": content.communication,
            "juridiction": content.jurisdiction,
            "lieu_signature": content.place_of_signature,
            "date_signature": format_date(content.signature_date) if content.signature_date else "",
        },
        "parties": [party(p) for p in content.parties],
        "epn": party(epn),
        "collectivite": party(collectivite),
        "partenaires": [party(p) for p in content.parties if p is not epn and p is not collectivite],
        "finances": {
            "gratuite": finances is None or finances.free_of_charge,
            "charges": [line(i) for i in finances.charges] if finances else [],
            "ressources": [line(i) for i in finances.resources] if finances else [],
            "total_charges": format_amount(finances.total_charges) if finances else "",
            "total_ressources": format_amount(finances.total_resources) if finances else "",
            "modalites_versement": finances.payment_terms if finances else "",
        },
        "signataires": [
            {"nom": s.name, "qualite": s.title, "partie": content.party(s.party_key).name}
            for s in content.signatories
        ],
    }


# --- Checking an upload -----------------------------------------------------


@dataclass(frozen=True)
class CheckedModel:
    tags: tuple[str, ...]  # every tag found, as the user wrote it
    variables: frozenset[str]  # top-level variables used


def check_custom_model(data: bytes, filename: str = "modèle") -> CheckedModel:
    """Refuse a model that is not a safe, well-formed DOCX with known tags.

    Always raises :class:`CustomModelError` (with a French message) on a bad
    file, never anything else.
    """
    try:
        parts = _read_docx_safely(data, filename)
        return _check_tags(parts)
    except CustomModelError:
        raise
    except Exception as exc:  # the last line of defence: any surprise is a refusal, not a crash
        raise CustomModelError(
            f"Le fichier « {filename} » n'a pas pu être analysé comme un modèle Word."
        ) from exc


def _read_docx_safely(data: bytes, filename: str) -> dict[str, bytes]:
    not_docx = f"Le fichier « {filename} » n'est pas un document Word (.docx)."
    if len(data) > MAX_UPLOAD_BYTES:
        raise CustomModelError(f"Le fichier « {filename} » dépasse la taille maximale de 10 Mo.")
    if not data.startswith(b"PK"):
        raise CustomModelError(not_docx)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise CustomModelError(not_docx) from exc
    if len(infos) > MAX_MEMBERS:
        raise CustomModelError(f"Le fichier « {filename} » contient trop d'éléments pour un document Word.")
    names = {info.filename for info in infos}
    if not all(name in names for name in REQUIRED_MEMBERS):
        raise CustomModelError(not_docx)
    bomb = f"Le fichier « {filename} » est refusé : son contenu décompressé est anormalement volumineux."
    declared_total = sum(info.file_size for info in infos)
    if declared_total > MAX_TOTAL_BYTES:
        raise CustomModelError(bomb)
    parts: dict[str, bytes] = {}
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise CustomModelError(
                f"Le fichier « {filename} » est chiffré : enregistrez-le sans mot de passe."
            )
        if info.file_size > MAX_MEMBER_BYTES or (
            info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1)
        ):
            raise CustomModelError(bomb)
        # The sizes in the zip directory can lie: count what actually comes out.
        limit = min(info.file_size, MAX_MEMBER_BYTES)
        chunks, read = [], 0
        try:
            with archive.open(info) as member:
                while chunk := member.read(65536):
                    read += len(chunk)
                    total += len(chunk)
                    if read > limit or total > MAX_TOTAL_BYTES:
                        raise CustomModelError(bomb)
                    chunks.append(chunk)
        except CustomModelError:
            raise
        except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError, OSError) as exc:
            raise CustomModelError(
                f"Le fichier « {filename} » est endommagé et ne peut pas être lu."
            ) from exc
        content = b"".join(chunks)
        if info.filename.endswith((".xml", ".rels")):
            try:
                SafeElementTree.fromstring(
                    content, forbid_dtd=True, forbid_entities=True, forbid_external=True
                )
            except DefusedXmlException as exc:
                raise CustomModelError(
                    f"Le fichier « {filename} » contient des déclarations XML interdites (DTD ou entités) "
                    f"dans « {info.filename} »."
                ) from exc
            except SafeElementTree.ParseError as exc:
                raise CustomModelError(
                    f"Le fichier « {filename} » est endommagé : « {info.filename} » n'est pas un XML valide."
                ) from exc
        parts[info.filename] = content
    return parts


_TAG_RE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_XML_TAG_RE = re.compile(r"<[^>]*>")
_TEMPLATED_PART_RE = re.compile(r"^(word/(document|header\d*|footer\d*|footnotes)\.xml|docProps/core\.xml)$")


def _template_sources(parts: dict[str, bytes]) -> list[str]:
    from docxtpl import DocxTemplate

    # patch_xml is what docxtpl runs before Jinja sees the XML (it merges tags
    # split across runs and turns {%p %}, {%tr %}… into plain tags); it only
    # uses its argument, so an unloaded instance is enough.
    patcher = DocxTemplate.__new__(DocxTemplate)
    sources = []
    for name, content in parts.items():
        if _TEMPLATED_PART_RE.match(name):
            sources.append(patcher.patch_xml(content.decode("utf-8", errors="replace")))
    return sources


def _visible(tag: str) -> str:
    return html.unescape(_XML_TAG_RE.sub("", tag)).strip()


def _sandbox() -> SandboxedEnvironment:
    return SandboxedEnvironment(autoescape=True, undefined=ChainableUndefined)


def _check_tags(parts: dict[str, bytes]) -> CheckedModel:
    tags: list[str] = []
    for source in _template_sources(parts):
        found = _TAG_RE.findall(source)
        tags.extend(found)
        leftover = _visible(_TAG_RE.sub(" ", source))
        for delimiter in ("{{", "}}", "{%", "%}"):
            position = leftover.find(delimiter)
            if position >= 0:
                excerpt = leftover[max(0, position - 30) : position + 30].strip()
                raise CustomModelError(
                    f"Balise mal formée près de « {excerpt} » : "
                    f"chaque « {{{{ » doit être fermé par « }}}} », "
                    "et chaque « {% » par « %} »."
                )
    # One tag per line: Jinja's line numbers then point at the faulty tag.
    skeleton_tags = [_XML_TAG_RE.sub("", t).replace("\n", " ") for t in tags]
    skeleton = "\n".join(skeleton_tags)
    env = _sandbox()
    try:
        tree = env.parse(skeleton)
    except TemplateSyntaxError as exc:
        raise CustomModelError(_syntax_message(exc, tags, skeleton_tags)) from exc
    checker = _TagChecker(tags)
    checker.visit(tree, {})
    return CheckedModel(tuple(_visible(t) for t in tags), frozenset(checker.used))


def _syntax_message(exc: TemplateSyntaxError, tags: list[str], skeleton_tags: list[str]) -> str:
    unclosed = _unclosed_block(skeleton_tags)
    if unclosed is not None:
        opener = _visible(tags[unclosed])
        keyword = opener.strip("{%- ").split()[0] if opener.strip("{%- ") else "bloc"
        return f"Le bloc « {opener} » n'est pas refermé : ajoutez « {{% end{keyword} %}} »."
    index = (exc.lineno or 1) - 1
    tag = _visible(tags[index]) if 0 <= index < len(tags) else ""
    return f"La balise « {tag} » est mal formée et ne peut pas être interprétée."


def _unclosed_block(skeleton_tags: list[str]) -> int | None:
    stack: list[tuple[str, int]] = []
    for index, tag in enumerate(skeleton_tags):
        if not tag.startswith("{%"):
            continue
        words = tag.strip("{%-+ }").split()
        if not words:
            continue
        word = words[0]
        if word in ("for", "if", "macro", "block", "filter", "call", "raw", "with"):
            stack.append((word, index))
        elif word.startswith("end"):
            if not stack or stack[-1][0] != word[3:]:
                return None  # a stray end tag: Jinja's own line number is the better pointer
            stack.pop()
    return stack[-1][1] if stack else None


_ALLOWED_NODES = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Const,
    nodes.Name,
    nodes.Getattr,
    nodes.Getitem,
    nodes.For,
    nodes.If,
    nodes.Filter,
    nodes.Test,
    nodes.Compare,
    nodes.Operand,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.CondExpr,
    nodes.Concat,
)


class _TagChecker:
    def __init__(self, tags: list[str]) -> None:
        self.tags = tags
        self.used: set[str] = set()

    def _tag(self, node: nodes.Node) -> str:
        index = getattr(node, "lineno", 1) - 1
        return _visible(self.tags[index]) if 0 <= index < len(self.tags) else ""

    def _refuse(self, node: nodes.Node, reason: str):
        raise CustomModelError(f"La balise « {self._tag(node)} » est refusée : {reason}.")

    def visit(self, node: nodes.Node, scope: dict) -> None:
        if not isinstance(node, _ALLOWED_NODES):
            kind = {
                "Call": "les appels de fonction ne sont pas autorisés",
                "Assign": "les affectations ({% set %}) ne sont pas autorisées",
                "Macro": "les macros ne sont pas autorisées",
                "Include": "l'inclusion d'autres fichiers n'est pas autorisée",
                "Extends": "l'héritage de modèles n'est pas autorisé",
                "Import": "l'import de modèles n'est pas autorisé",
                "FromImport": "l'import de modèles n'est pas autorisé",
            }.get(
                type(node).__name__,
                "seules la lecture des variables documentées, les conditions et les boucles sont autorisées",
            )
            self._refuse(node, kind)
        if isinstance(node, nodes.For):
            if node.recursive:
                self._refuse(node, "les boucles récursives ne sont pas autorisées")
            if not isinstance(node.target, nodes.Name):
                self._refuse(node, "une boucle ne peut parcourir qu'une seule variable")
            element = self.schema_of(node.iter, scope)
            if not isinstance(element, list):
                self._refuse(node, "cette variable n'est pas une liste")
            inner = {**scope, node.target.name: element[0], "loop": _LOOP}
            if node.test is not None:
                self.visit(node.test, inner)
            for child in node.body:
                self.visit(child, inner)
            for child in node.else_:
                self.visit(child, scope)
            return
        if isinstance(node, nodes.Name | nodes.Getattr | nodes.Getitem):
            self.schema_of(node, scope)
            return
        if isinstance(node, nodes.Filter):
            if node.name not in ALLOWED_FILTERS:
                self._refuse(node, f"le filtre « {node.name} » n'est pas autorisé")
            if node.dyn_args or node.dyn_kwargs:
                self._refuse(node, "les arguments dynamiques ne sont pas autorisés")
        if isinstance(node, nodes.Test) and node.name not in ALLOWED_TESTS:
            self._refuse(node, f"le test « {node.name} » n'est pas autorisé")
        if isinstance(node, nodes.Const) and isinstance(node.value, str) and len(node.value) > 1000:
            self._refuse(node, "le texte est trop long")
        for child in node.iter_child_nodes():
            self.visit(child, scope)

    def schema_of(self, node: nodes.Node, scope: dict):
        if isinstance(node, nodes.Name):
            if node.name in scope:
                return scope[node.name]
            if node.name in VARIABLES:
                self.used.add(node.name)
                return VARIABLES[node.name]
            self._refuse(
                node, f"la variable « {node.name} » est inconnue (voir la liste des variables documentées)"
            )
        if isinstance(node, nodes.Getattr | nodes.Getitem):
            if isinstance(node, nodes.Getattr):
                key = node.attr
            elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str | int):
                key = node.arg.value
            else:
                self._refuse(node, "seul un indice fixe est autorisé entre crochets")
            if isinstance(key, str) and key.startswith("_"):
                self._refuse(node, f"l'accès à « {key} » est interdit")
            parent = self.schema_of(node.node, scope)
            if isinstance(key, int):
                if isinstance(parent, list):
                    return parent[0]
                self._refuse(node, "cette variable n'est pas une liste")
            if isinstance(parent, dict) and key in parent:
                return parent[key]
            self._refuse(
                node, f"« {key} » n'existe pas à cet endroit (voir la liste des variables documentées)"
            )
        self._refuse(node, "seules les variables documentées peuvent être lues")


# --- Rendering ----------------------------------------------------------------


def render_custom_model(
    data: bytes, content: ConventionContent | dict, filename: str = "modèle"
) -> GeneratedDocument:
    """Check, then render an uploaded model to DOCX in a Jinja sandbox."""
    check_custom_model(data, filename)
    context = build_context(content) if isinstance(content, ConventionContent) else content
    rendered = _render_in_sandbox(data, context)
    stem = Path(filename).stem or "convention"
    return GeneratedDocument(rendered, sha256_hex(rendered), DOCX_MEDIA_TYPE, f"{stem}.docx")


def _render_in_sandbox(data: bytes, context: dict) -> bytes:
    from docxtpl import DocxTemplate

    template = DocxTemplate(io.BytesIO(data))
    try:
        template.render(context, jinja_env=_sandbox(), autoescape=True)
    except SecurityError as exc:
        raise CustomModelError(
            "Le modèle tente d'accéder à des éléments interdits ; il a été bloqué."
        ) from exc
    except TemplateError as exc:
        raise CustomModelError("Le modèle n'a pas pu être rempli : une balise est invalide.") from exc
    buffer = io.BytesIO()
    template.save(buffer)
    return buffer.getvalue()


# --- LibreOffice --------------------------------------------------------------


def find_soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert_with_libreoffice(docx_bytes: bytes, *, timeout: float = 120, soffice: str | None = None) -> bytes:
    """Convert a DOCX to PDF with headless LibreOffice (Debian: libreoffice-writer-nogui).

    Each call uses a fresh LibreOffice profile in a temporary directory, so
    concurrent conversions do not share (or lock) a user installation, and
    the whole process group is killed on timeout.
    """
    executable = soffice or find_soffice()
    if executable is None:
        raise LibreOfficeError("LibreOffice n'est pas installé : la conversion en PDF est impossible.")
    with tempfile.TemporaryDirectory(prefix="ancrage-soffice-") as tmp:
        work = Path(tmp)
        source = work / "convention.docx"
        source.write_bytes(docx_bytes)
        out_dir = work / "out"
        out_dir.mkdir()
        command = [
            executable,
            f"-env:UserInstallation={(work / 'profile').as_uri()}",
            "--headless",
            "--norestore",
            "--nolockcheck",
            "--nodefault",
            "--convert-to",
            "pdf:writer_pdf_Export",
            "--outdir",
            str(out_dir),
            str(source),
        ]
        env = {**os.environ, "HOME": str(work), "TMPDIR": str(work)}
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True
        )
        try:
            _, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise LibreOfficeError(
                f"LibreOffice n'a pas terminé la conversion en {int(timeout)} secondes ; "
                "elle a été interrompue."
            ) from exc
        result = out_dir / "convention.pdf"
        if process.returncode != 0 or not result.exists():
            detail = stderr.decode("utf-8", errors="replace").strip()[-300:]
            raise LibreOfficeError(f"LibreOffice n'a pas pu convertir le document en PDF. {detail}".strip())
        return result.read_bytes()
