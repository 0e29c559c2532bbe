"""A structure's own DOCX convention model, with docxtpl (Jinja) tags.

An uploaded model is untrusted input twice over: as a file (zip bombs, XML
entity tricks) and as a template (Jinja can reach Python internals). So:

1. :func:`check_custom_model` opens the zip with hard limits, parses every
   XML part with defusedxml (no DTD, no entities), then checks exactly what
   docxtpl will compile: docxtpl itself finds the parts (following the
   relationships), unescapes and patches them (:class:`_Recorder`), and each
   source is parsed by Jinja and walked by a whitelist (:class:`_TagChecker`):
   only the documented variables (:data:`VARIABLES`), conditions, loops and a
   short list of filters and tests; no calls, no arithmetic, no assignment, no
   attribute starting with "_". A refusal is a French message naming the part
   and the tag.
2. :func:`render_custom_model` checks again, then renders with docxtpl in a
   worker process with CPU-time and memory limits (:func:`render_in_worker`),
   in a :class:`jinja2.sandbox.SandboxedEnvironment` that runs the whitelist
   again on every source it compiles, as defence in depth.
3. :func:`convert_with_libreoffice` turns the result into a PDF with a
   headless LibreOffice, in a throw-away profile and with a timeout.
"""

from __future__ import annotations

import base64
import contextlib
import html
import io
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeElementTree
from docxtpl import DocxTemplate
from jinja2 import ChainableUndefined, TemplateError, TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from ancrage.conventions import financement, model_worker
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

logger = logging.getLogger(__name__)


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
            # As the built-in models decide it: no cash flows between the parties.
            "gratuite": financement.decide(content).free,
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
        _read_docx_safely(data, filename)
        return _check_sources(_jinja_sources(data))
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
        parts[info.filename] = b"".join(chunks)
    for name in _xml_members(parts):
        try:
            SafeElementTree.fromstring(
                parts[name], forbid_dtd=True, forbid_entities=True, forbid_external=True
            )
        except DefusedXmlException as exc:
            raise CustomModelError(
                f"Le fichier « {filename} » contient des déclarations XML interdites (DTD ou entités) "
                f"dans « {name} »."
            ) from exc
        except SafeElementTree.ParseError as exc:
            raise CustomModelError(
                f"Le fichier « {filename} » est endommagé : « {name} » n'est pas un XML valide."
            ) from exc
    return parts


_CONTENT_TYPES_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"


def _xml_members(parts: dict[str, bytes]) -> list[str]:
    """The members an XML parser will read: named .xml or .rels, or declared XML in [Content_Types].xml
    (python-docx goes by the declared type, whatever the name), the declarations file first."""
    names = ["[Content_Types].xml"] + [
        n for n in parts if n.endswith((".xml", ".rels")) and n != "[Content_Types].xml"
    ]
    try:
        declarations = SafeElementTree.fromstring(
            parts["[Content_Types].xml"], forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except (DefusedXmlException, SafeElementTree.ParseError):
        return names  # refused in the loop over names, with the right message
    defaults = {
        e.get("Extension", "").lower(): e.get("ContentType", "")
        for e in declarations.iter(f"{_CONTENT_TYPES_NS}Default")
    }
    overrides = {
        e.get("PartName", "").lstrip("/").lower(): e.get("ContentType", "")
        for e in declarations.iter(f"{_CONTENT_TYPES_NS}Override")
    }
    for name in parts:
        declared = overrides.get(name.lower()) or defaults.get(name.rpartition(".")[2].lower(), "")
        if declared.endswith(("+xml", "/xml")) and name not in names:
            names.append(name)
    return names


_TAG_RE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_XML_TAG_RE = re.compile(r"<[^>]*>")
_NEWLINE_RE = re.compile(r"\r\n|\r|\n")  # Jinja's line breaks, which its line numbers count
_FOOTNOTES_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"
_PART_KINDS = {
    "header+xml": "l'en-tête",
    "footer+xml": "le pied de page",
    "footnotes+xml": "les notes de bas de page",
}


class _DocxTemplate(DocxTemplate):
    """docxtpl's template, with each footnotes part rendered once.

    docxtpl renders the footnotes once per section of the document: from the second section on,
    it would compile the previous pass's output, the convention's data and the ``{_{`` escapes
    turned back into ``{{`` included, as a new template.
    """

    def render_footnotes(self, context, jinja_env=None) -> None:
        for part in self.docx.part.package.parts:
            if part.content_type == _FOOTNOTES_TYPE:
                blob = part.blob.decode("utf-8") if isinstance(part.blob, bytes) else part.blob
                xml = self.render_xml_part(self.patch_xml(blob), part, context, jinja_env)
                part._blob = xml.encode("utf-8")


@dataclass(frozen=True)
class _Source:
    where: str  # the part, in French: "l'en-tête (word/header1.xml)"
    text: str  # the Jinja source, exactly as docxtpl compiles it


class _Recorder:
    """Stands for the Jinja environment while docxtpl prepares every part it renders.

    docxtpl finds the parts (the main document wherever ``_rels/.rels`` puts it, the headers and
    footers its relationships name, the footnotes, the document's properties), unescapes and
    patches their XML, then calls ``from_string`` on each: the recorder keeps that source and
    renders nothing.
    """

    def __init__(self, template: DocxTemplate) -> None:
        self.template = template
        self.sources: list[_Source] = []

    def from_string(self, source: str) -> _Recorder:
        part = self.template.current_rendering_part
        if part is None:
            where = "les propriétés du document (titre, sujet, commentaires…)"
        else:
            name = str(part.partname).lstrip("/")
            if part is self.template.docx.part:
                kind = "le corps du document"
            else:
                kind = next(
                    (k for end, k in _PART_KINDS.items() if part.content_type.endswith(end)), "la partie"
                )
            where = f"{kind} ({name})"
        self.sources.append(_Source(where, source))
        return self

    def render(self, *args, **kwargs) -> str:
        return ""


def _jinja_sources(data: bytes) -> list[_Source]:
    """Every source docxtpl would compile to render ``data``, in the order of ``DocxTemplate.render``."""
    template = _DocxTemplate(io.BytesIO(data))
    template.render_init()
    recorder = _Recorder(template)
    template.build_xml({}, recorder)
    for uri in (template.HEADER_URI, template.FOOTER_URI):
        for _ in template.build_headers_footers_xml({}, uri, recorder):
            pass
    template.current_rendering_part = None
    template.render_properties({}, recorder)
    template.render_footnotes({}, recorder)
    return recorder.sources


def _visible(text: str) -> str:
    """Text as Word shows it: without its XML markup, unescaped."""
    return html.unescape(_XML_TAG_RE.sub("", text)).strip()


def _shown(tag: str) -> str:
    """A tag as Jinja reads it (its "<" may be an operator, not markup), on one line."""
    return " ".join(tag.split())


def _sandbox(environment: type[SandboxedEnvironment] = SandboxedEnvironment) -> SandboxedEnvironment:
    """A Jinja sandbox with no globals (``lipsum``, ``range``…) and only the allowed filters and tests."""
    env = environment(autoescape=True, undefined=ChainableUndefined)
    env.globals.clear()
    env.filters = {name: f for name, f in env.filters.items() if name in ALLOWED_FILTERS}
    env.tests = {name: t for name, t in env.tests.items() if name in ALLOWED_TESTS}
    return env


class _CheckedSandbox(SandboxedEnvironment):
    """The sandbox models are rendered in: it refuses any source the whitelist refuses before
    compiling it, whatever part of the document docxtpl took it from."""

    def _parse(self, source, name, filename):
        tree = super()._parse(source, name, filename)
        _TagChecker(_tags_of(source), "le modèle").visit(tree, {})
        return tree


@dataclass(frozen=True)
class _Tag:
    first_line: int
    last_line: int
    text: str  # as it stands in the source


def _tags_of(source: str) -> list[_Tag]:
    tags, line, position = [], 1, 0
    for match in _TAG_RE.finditer(source):
        line += len(_NEWLINE_RE.findall(source, position, match.start()))
        last = line + len(_NEWLINE_RE.findall(match.group()))
        tags.append(_Tag(line, last, match.group()))
        line, position = last, match.end()
    return tags


def _check_sources(sources: list[_Source]) -> CheckedModel:
    env = _sandbox()
    found: list[str] = []
    used: set[str] = set()
    for source in sources:
        tags = _tags_of(source.text)
        found.extend(_shown(t.text) for t in tags)
        leftover = _visible(_TAG_RE.sub(" ", source.text))
        for delimiter in ("{{", "}}", "{%", "%}"):
            position = leftover.find(delimiter)
            if position >= 0:
                excerpt = leftover[max(0, position - 30) : position + 30].strip()
                raise CustomModelError(
                    f"Dans {source.where}, balise mal formée près de « {excerpt} » : "
                    f"chaque « {{{{ » doit être fermé par « }}}} », "
                    "et chaque « {% » par « %} »."
                )
        # The very source docxtpl compiles, parsed by the same Jinja: what is checked is what runs.
        try:
            tree = env.parse(source.text)
        except TemplateSyntaxError as exc:
            raise CustomModelError(f"Dans {source.where}, {_syntax_message(exc, tags)}") from exc
        checker = _TagChecker(tags, source.where)
        checker.visit(tree, {})
        used |= checker.used
    return CheckedModel(tuple(found), frozenset(used))


def _syntax_message(exc: TemplateSyntaxError, tags: list[_Tag]) -> str:
    unclosed = _unclosed_block([_shown(t.text) for t in tags])
    if unclosed is not None:
        opener = _shown(tags[unclosed].text)
        keyword = opener.strip("{%- ").split()[0] if opener.strip("{%- ") else "bloc"
        return f"le bloc « {opener} » n'est pas refermé : ajoutez « {{% end{keyword} %}} »."
    line = exc.lineno or 1
    tag = next((_shown(t.text) for t in tags if t.first_line <= line <= t.last_line), "")
    return f"la balise « {tag} » est mal formée et ne peut pas être interprétée."


def _unclosed_block(visible_tags: list[str]) -> int | None:
    stack: list[tuple[str, int]] = []
    for index, tag in enumerate(visible_tags):
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


def _hint(node: nodes.Node) -> str | None:
    """A word of the tag ``node`` comes from, to tell it from the other tags of its line."""
    if isinstance(node, nodes.Name | nodes.Filter | nodes.Test):
        return node.name
    if isinstance(node, nodes.Getattr):
        return node.attr
    if isinstance(node, nodes.Call | nodes.Getitem):
        return _hint(node.node)
    if isinstance(node, nodes.For):
        return "for"
    if isinstance(node, nodes.Assign | nodes.AssignBlock):
        return "set"
    return type(node).__name__.lower()


class _TagChecker:
    """The whitelist, over the tree Jinja parsed from one part's source."""

    def __init__(self, tags: list[_Tag], where: str) -> None:
        self.tags = tags
        self.where = where
        self.used: set[str] = set()

    def _tag(self, node: nodes.Node) -> str:
        line = getattr(node, "lineno", 1)
        on_line = [t for t in self.tags if t.first_line <= line <= t.last_line]
        hint = _hint(node)
        chosen = next((t for t in on_line if hint and hint in t.text), on_line[0] if on_line else None)
        return _shown(chosen.text) if chosen else ""

    def _refuse(self, node: nodes.Node, reason: str):
        raise CustomModelError(f"Dans {self.where}, la balise « {self._tag(node)} » est refusée : {reason}.")

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


@dataclass(frozen=True)
class RenderLimits:
    """What one rendering of a custom model may use, in its own worker process."""

    cpu_seconds: int = 20
    memory_bytes: int = 512 * 1024 * 1024  # a worker needs about 50 Mio, a real model a few more
    wall_seconds: float = 90  # the worker runs at a lower priority: on a busy server it waits


DEFAULT_LIMITS = RenderLimits()
_PROJECT_ROOT = Path(__file__).resolve().parents[2]  # the folder holding the ``ancrage`` package


def render_custom_model(
    data: bytes,
    content: ConventionContent | dict,
    filename: str = "modèle",
    limits: RenderLimits | None = None,
) -> GeneratedDocument:
    """Check, then render an uploaded model to DOCX, in a worker process with CPU and memory limits."""
    check_custom_model(data, filename)
    context = build_context(content) if isinstance(content, ConventionContent) else content
    rendered = render_in_worker(data, context, limits or DEFAULT_LIMITS)
    stem = Path(filename).stem or "convention"
    return GeneratedDocument(rendered, sha256_hex(rendered), DOCX_MEDIA_TYPE, f"{stem}.docx")


def render_in_worker(data: bytes, context: dict, limits: RenderLimits) -> bytes:
    """Render in ``python -m ancrage.conventions.model_worker``, under ``limits``.

    The worker sets its own ``RLIMIT_CPU`` and ``RLIMIT_AS`` before reading anything, lowers its
    priority, and gets no secret in its environment. Rendering there, rather than in a thread of
    the web process, also keeps Jinja's pure-Python loops from holding this process's GIL while
    other requests wait. Every failure is a :class:`CustomModelError` with a French message.
    """
    payload = json.dumps(
        {"model": base64.b64encode(data).decode("ascii"), "context": context}, default=str
    ).encode("utf-8")
    command = [
        sys.executable,
        "-m",
        model_worker.__name__,
        str(limits.cpu_seconds),
        str(limits.memory_bytes),
    ]
    env = {name: os.environ[name] for name in ("PATH", "PYTHONPATH", "VIRTUAL_ENV") if name in os.environ}
    env["LC_ALL"] = "C.UTF-8"
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=_PROJECT_ROOT,
            env=env,
            start_new_session=True,
        )
    except OSError as exc:
        logger.exception("Custom model worker could not start")
        raise CustomModelError(
            "Le remplissage du modèle n'a pas pu être lancé ; prévenez l'exploitant."
        ) from exc
    try:
        out, err = process.communicate(payload, timeout=limits.wall_seconds)
    except subprocess.TimeoutExpired as exc:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise CustomModelError(
            f"Le remplissage du modèle n'a pas abouti en {limits.wall_seconds:g} s ; "
            "il a été interrompu. Simplifiez ses boucles."
        ) from exc
    code = process.returncode
    if code == 0:
        return out
    if code == model_worker.REFUSED:
        raise CustomModelError(out.decode("utf-8", errors="replace"))
    if code == model_worker.OUT_OF_MEMORY:
        raise CustomModelError(
            f"Le remplissage du modèle a dépassé la mémoire autorisée "
            f"({limits.memory_bytes // (1024 * 1024)} Mo) ; il a été interrompu. Simplifiez ses boucles."
        )
    if code in (-signal.SIGXCPU, -signal.SIGKILL):
        raise CustomModelError(
            f"Le remplissage du modèle a dépassé le temps de calcul autorisé ({limits.cpu_seconds} s) ; "
            "il a été interrompu. Simplifiez ses boucles."
        )
    logger.error(
        "Custom model worker failed (exit %s): %s", code, err.decode("utf-8", errors="replace")[-2000:]
    )
    raise CustomModelError(
        "Le remplissage du modèle a échoué de façon inattendue ; vérifiez le modèle ou prévenez l'exploitant."
    )


def _render_in_sandbox(data: bytes, context: dict, env: SandboxedEnvironment | None = None) -> bytes:
    """Render with docxtpl in the checking sandbox (in the worker: :func:`render_in_worker`)."""
    template = _DocxTemplate(io.BytesIO(data))
    try:
        template.render(context, jinja_env=env or _sandbox(_CheckedSandbox), autoescape=True)
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


# PDF/A-3b, tagged and PDF/UA, as the PDFs WeasyPrint renders (ancrage/core/pdf.py): LibreOffice's
# writer_pdf_Export filter, with its options in JSON (LibreOffice 7.4 and later). SelectPdfVersion
# 3 is PDF/A-3b; LibreOffice embeds the fonts and the sRGB output intent itself.
LIBREOFFICE_PDF_EXPORT = "pdf:writer_pdf_Export:" + json.dumps(
    {
        "SelectPdfVersion": {"type": "long", "value": "3"},
        "UseTaggedPDF": {"type": "boolean", "value": "true"},
        "PDFUACompliance": {"type": "boolean", "value": "true"},
    },
    separators=(",", ":"),
)


def find_soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert_with_libreoffice(
    docx_bytes: bytes, *, timeout: float = 120, soffice: str | None = None, suffix: str = ".docx"
) -> bytes:
    """Convert a DOCX (or, with ``suffix=".odt"``, an ODT) to PDF with headless LibreOffice
    (Debian: libreoffice-writer-nogui).

    Each call uses a fresh LibreOffice profile in a temporary directory, so
    concurrent conversions do not share (or lock) a user installation, and
    the whole process group is killed on timeout.
    """
    executable = soffice or find_soffice()
    if executable is None:
        raise LibreOfficeError("LibreOffice n'est pas installé : la conversion en PDF est impossible.")
    with tempfile.TemporaryDirectory(prefix="ancrage-soffice-") as tmp:
        work = Path(tmp)
        source = work / f"convention{suffix}"
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
            LIBREOFFICE_PDF_EXPORT,
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
