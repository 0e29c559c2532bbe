"""No page of the demo shows a sector's IRIS code where it has a name, or an internal word.

Every account of the demo crawls its pages (as scripts/ci_production_pages.py does against
gunicorn, here with Django's test client): from its home page, the links of each page, three pages
of each URL shape per account. In the text a person reads (tags, attributes, scripts and styles
left out), the test looks for

- a known IRIS code of the demo's territories, outside the small-type spans that follow a name
  (``<span class="ancrage-code">``, written by the ``secteur`` filters);
- an internal value of a choice that has a French label (``en_validation``, ``referencee_par``…):
  the values of every model's choices, and the names of every model's fields, written with an
  underscore or in English, so that they cannot be a French word of the text.
"""

import re
import unicodedata
from collections import Counter, deque
from html import unescape
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.db import models
from django.urls import reverse

from ancrage.conventions.models import Convention
from ancrage.diagnostic.models import Diagnostic
from ancrage.diagnostic.priorites import PRIORITES_COLUMNS
from ancrage.frequentation.readers.agrege import AGREGE_COLUMNS
from ancrage.frequentation.readers.usagers import USAGERS_COLUMNS
from ancrage.partenaires.models import Partenaire
from ancrage.territoire.models import Secteur
from tests.demo_accounts import blosne, login

pytestmark = pytest.mark.demo(conventions=True)

ROLES = ["animateur", "responsable", "referent", "elu", "partenaire", "coordinateur", "animateur2"]
SKIPPED = ("/compte/deconnexion/", "/admin/", "/static/", "/media/")
PER_SHAPE = 2
MAX_DEPTH = 3
LINK = re.compile(r"""<a\b[^>]*?\bhref=["']([^"'#]+)""", re.IGNORECASE)
CODE_CLASS = "ancrage-code"
#: English field names a French page never has a reason to show.
ENGLISH_FIELD_NAMES = {"kind", "state", "status", "created_at", "updated_at", "payload", "changes"}
#: The audit trail's English values (its French labels are « Création »…).
ENGLISH_VALUES = {"create", "update", "delete", "download", "login", "logout", "login_failed"}
#: Values without their accents that are French words too (« il refuse », « la retraite »).
FRENCH_WORDS = {"refuse", "retraite", "accepte", "annule", "applique", "termine", "valide", "evaluation"}


class VisibleText(HTMLParser):
    """The text of a page a person reads: no script, style, attribute, typed code, nor code spans."""

    # <code>, <kbd>, <samp>: what a person types (a file's column names, a model's variables).
    SILENT = {"script", "style", "template", "code", "kbd", "samp"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.stack: list[tuple[str, bool]] = []  # (tag, silent)

    def handle_starttag(self, tag, attrs):
        if tag in {"br", "img", "input", "meta", "link", "hr", "wbr", "source", "area", "col"}:
            return
        classes = (dict(attrs).get("class") or "").split()
        silent = tag in self.SILENT or CODE_CLASS in classes or (bool(self.stack) and self.stack[-1][1])
        self.stack.append((tag, silent))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        if not (self.stack and self.stack[-1][1]):
            self.parts.append(data)

    @classmethod
    def of(cls, html: str) -> str:
        parser = cls()
        parser.feed(html)
        parser.close()
        return " ".join(parser.parts)


def internal_words() -> set[str]:
    # The columns of the files a person writes (usagers, counts, priorities, quartiers, outlines):
    # the pages name them, in <code> or not, because the person types them.
    columns = {*USAGERS_COLUMNS, *AGREGE_COLUMNS, *PRIORITES_COLUMNS, "code_iris", "quartier", "oriente_par"}
    words = set()
    for model in apps.get_models():
        if not model.__module__.startswith("ancrage."):
            continue
        for field in model._meta.get_fields():
            if not isinstance(field, models.Field):
                continue
            if "_" in field.name.strip("_") or field.name in ENGLISH_FIELD_NAMES:
                words.add(field.name)
            for value, label in field.flatchoices or ():
                if (
                    isinstance(value, str)
                    and value
                    and value != label
                    and ("_" in value or _unaccented(value, label))
                ):
                    words.add(value)
    return (words | ENGLISH_VALUES) - columns - FRENCH_WORDS


def _unaccented(value: str, label) -> bool:
    """« signee » for « Signée », « elu » for « Élu·e »: a value spelt without the label's accents."""
    first = str(label).split(" ")[0].split("·")[0].casefold()
    plain = unicodedata.normalize("NFKD", first).encode("ascii", "ignore").decode()
    return first != plain and value == plain


def crawl(client, role):
    seen, shapes, pages = set(), Counter(), {}
    queue = deque([("/", 0)])
    while queue:
        path, depth = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        response = client.get(path)
        html = None
        if response.status_code == 200 and "text/html" in response.get("Content-Type", ""):
            html = response.content.decode()
        response.close()  # a PDF or a download is a file response
        if html is None:
            continue
        pages[path] = html
        if depth >= MAX_DEPTH:
            continue
        for href in LINK.findall(html):
            link = unescape(href)
            if not link.startswith("/") or link.startswith("//") or link.startswith(SKIPPED) or link in seen:
                continue
            page_shape = re.sub(r"\d+", "<n>", urlsplit(link).path)
            if shapes[page_shape] >= PER_SHAPE:
                continue
            shapes[page_shape] += 1
            queue.append((link, depth + 1))
    return pages


def offences(text: str, codes: set[str], words: re.Pattern) -> list[str]:
    found = [m for m in re.findall(r"(?<!\d)\d{9}(?!\d)", text) if m in codes]
    found += words.findall(text)
    return found


def _words_pattern() -> re.Pattern:
    # Not a part of a word, a compound, an address (« elu@demo.ancrage.fr ») or a path.
    words = "|".join(sorted(map(re.escape, internal_words())))
    return re.compile(r"(?<![\w@./-])(" + words + r")(?![\w@/-])")


def _named_codes() -> set[str]:
    codes = set(Secteur.objects.exclude(nom=models.F("code")).values_list("code", flat=True))
    assert len(codes) > 80  # the IRIS of Rennes and Vitré, each with a name
    return codes


def _key_pages() -> list[tuple[str, str]]:
    """The pages where sectors, categories, states and changed fields show, as the EPN's staff."""
    epn = blosne()
    diagnostic = Diagnostic.objects.filter(structure=epn).order_by("-created_at").first()
    partenaire = Partenaire.objects.filter(structure__referencee_par=epn).exclude(secteurs=[]).first()
    pages = [
        reverse("home:index"),
        reverse("diagnostic:detail", args=[diagnostic.pk]),
        reverse("diagnostic:secteurs", args=[epn.pk]),
        reverse("diagnostic:priorites", args=[epn.pk]),
        reverse("actions:create") + f"?diagnostic={diagnostic.pk}&cible=1",
        reverse("partenaires:detail", args=[partenaire.pk]),
        reverse("partenaires:update", args=[partenaire.pk]),
    ]
    pages += [reverse("conventions:history", args=[c.pk]) for c in Convention.objects.filter(structure=epn)]
    return [("responsable", page) for page in pages]


def test_key_pages_show_names_not_codes(client, demo):
    codes, words, failures = _named_codes(), _words_pattern(), []
    pages = _key_pages()
    for role, path in pages:
        login(client, role)
        response = client.get(path)
        assert response.status_code == 200, path
        found = offences(VisibleText.of(response.content.decode()), codes, words)
        if found:
            failures.append(f"{role} {path}: {', '.join(sorted(set(found))[:6])}")
    assert len(pages) >= 9
    assert not failures, "\n".join(failures)


def test_the_checks_see_a_code_and_an_internal_word(demo):
    """The test above could fail: a bare code or state is found, a code in its small-type span is not."""
    codes, words = _named_codes(), _words_pattern()
    code = sorted(codes)[0]
    assert offences(VisibleText.of(f"<p>Secteur {code}</p>"), codes, words) == [code]
    assert (
        offences(VisibleText.of(f'<p>Nom <span class="ancrage-code">({code})</span></p>'), codes, words) == []
    )
    assert offences(VisibleText.of("<p>brouillon → en_validation</p>"), codes, words) == ["en_validation"]
    assert offences(VisibleText.of("<p>Champs : referencee_par</p>"), codes, words) == ["referencee_par"]
    assert offences(VisibleText.of("<p>État : signee (create)</p>"), codes, words) == ["signee", "create"]
    assert offences(VisibleText.of("<p>Par elu@demo.ancrage.fr, élu</p>"), codes, words) == []
    assert offences(VisibleText.of("<p>La colonne <code>code_secteur</code></p>"), codes, words) == []


@pytest.mark.slow
def test_no_page_shows_a_code_or_an_internal_word(client, demo):
    """Every page of every account (the crawl takes about two minutes: ``make test-slow``)."""
    codes, words = _named_codes(), _words_pattern()
    failures, crawled = [], 0
    for role in ROLES:
        login(client, role)
        for path, html in crawl(client, role).items():
            crawled += 1
            found = offences(VisibleText.of(html), codes, words)
            if found:
                failures.append(f"{role} {path}: {', '.join(sorted(set(found))[:6])}")
        client.logout()
    assert crawled > 100
    assert not failures, "\n".join(failures)
