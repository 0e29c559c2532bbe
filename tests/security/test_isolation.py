"""Guessing URLs and ids reveals nothing.

- The animateur of Vitré walks every URL pattern of Ancrage with ids of records of the other EPN
  (the Blosne), found by enumerating the models' primary keys: no answer is a 200 showing the
  Blosne's data, and no POST is accepted. ``make test`` probes the edges of each model's hidden
  ids; ``make test-slow`` every one of them.
- The partner account (centre social Ty-Blosne) cannot read the conventions of another partner
  (the CCAS de Rennes), nor their documents, history or generation jobs.
"""

import datetime as dt
import re

import pytest
from django.apps import apps
from django.db import transaction
from django.test import Client
from django.urls import NoReverseMatch, reverse

from ancrage.accounts.models import User
from ancrage.conventions import jobs as convention_jobs
from ancrage.conventions import services as convention_services
from ancrage.conventions.models import Convention
from ancrage.diagnostic.models import ImportJob
from ancrage.organisations.models import Structure
from ancrage.partenaires import services as partenaire_services
from ancrage.partenaires.models import ImportAnnuaire, Partenaire
from tests.security.test_permission_matrix import project_urls
from tests.security.world import login

# Rows no page addresses by id (thousands of them): their ids are covered by the other tables'.
BULK_MODELS = {"frequentation.Usager"}
# What a page about the Blosne's records shows; none of it is the Vitré animateur's business.
BLOSNE_MARKERS = (
    "Blosne",
    "Rennes Métropole",
    "CCAS de Rennes",
    "Mission locale du bassin rennais",
    "Médiathèque de Cesson",
    "Le Goff",
    "Morvan",
    "Benali",
)
# Values for the URL arguments that are not ids.
OTHER_ARGUMENTS = {"kind": ("population", "frequentation"), "fmt": ("pdf", "docx", "csv", "xlsx")}
# Ids also travel in query strings.
QUERY_PROBES = {
    "diagnostic:compare": lambda pk: [{"avant": pk, "apres": pk}],
    "actions:create": lambda pk: [{"diagnostic": pk, "cible": 1}],
    "conventions:create": lambda pk: [{"action": pk}, {"epn": pk}],
    "conventions:modeles": lambda pk: [{"epn": pk}],
    "dossiers:list": lambda pk: [{"epn": pk}],
    "dossiers:export": lambda pk: [{"epn": pk}],
}


def _scoped_models():
    return [m for m in apps.get_models() if hasattr(m, "scoping") and m._meta.label not in BULK_MODELS]


def _add_blosne_records():
    """Records the demo lacks, so that their pages are probed too (a contact, pending imports)."""
    blosne = Structure.objects.get(nom="EPN du Blosne (démo)")
    fiche = Partenaire.objects.of_epn(blosne).first()
    partenaire_services.contact_create(acting_user=None, partenaire=fiche, nom="Contact du Blosne")
    ImportJob.objects.create(
        structure=blosne, kind=ImportJob.Kind.POPULATION, fichier="population-blosne.csv", sha256="0" * 64
    )
    ImportAnnuaire.objects.create(
        structure=blosne, nom_fichier="annuaire-blosne.csv", format="csv", contenu=b"", resultat={}
    )


def _urls_with_ids(pk: int):
    """``(name, url, query)`` for every URL pattern taking ids, with ``pk`` for each id (in the path,
    or in the query string of the pages that read one there)."""
    for name, route in sorted(project_urls().items()):
        arguments = set(re.findall(r"<(?:\w+:)?(\w+)>", route)) | set(re.findall(r"\(\?P<(\w+)>", route))
        if not arguments <= {"pk", "structure_id", "epn_pk", "action_pk", *OTHER_ARGUMENTS}:
            continue  # tokens of the accounts pages: no id in them
        ids = arguments - set(OTHER_ARGUMENTS)
        other = sorted(arguments & set(OTHER_ARGUMENTS))
        variants = [{}] if not other else [{other[0]: value} for value in OTHER_ARGUMENTS[other[0]]]
        queries = [{}] if ids else QUERY_PROBES.get(name, lambda pk: [])(pk)
        for variant in variants:
            try:
                url = reverse(name, kwargs=dict.fromkeys(ids, pk) | variant)
            except NoReverseMatch:
                continue  # e.g. a format that URL does not serve
            for query in queries:
                yield name, url, query


def _hidden_ids(user, *, full: bool) -> tuple[set[int], set[int]]:
    """``(probed, visible)``: the ids of records ``user`` does not see, to guess, and the ids of
    those they see (in any table). ``full`` probes every hidden id; otherwise the edges of each
    model's hidden ids: its smallest and largest, and each one next to an id the user sees, where
    an off-by-one in a filter would show."""
    probed, visible = set(), set()
    for model in _scoped_models():
        seen = set(model.objects.visible_to(user).values_list("pk", flat=True))
        visible |= seen
        every = sorted(model._base_manager.values_list("pk", flat=True))
        hidden = [pk for pk in every if pk not in seen]
        if full or len(hidden) <= 2:
            probed.update(hidden)
            continue
        probed.update((hidden[0], hidden[-1]))
        for before, after in zip(every, every[1:], strict=False):
            if (before in seen) != (after in seen):
                probed.add(after if before in seen else before)
    return probed, visible


@pytest.mark.django_db
@pytest.mark.parametrize("sweep", ["bords", pytest.param("complet", marks=pytest.mark.slow)])
def test_an_epn_account_guessing_ids_sees_nothing_of_another_epn(demo, sweep):
    _add_blosne_records()
    user = User.objects.get(email="animateur2@demo.ancrage.fr")
    hidden, visible = _hidden_ids(user, full=sweep == "complet")
    assert hidden, "the demo should hold records the Vitré animateur does not see"
    client = Client(raise_request_exception=False)
    login(client, user)
    # The Blosne's animateur: no record is both the Blosne's and Vitré's.
    blosne_client = Client(raise_request_exception=False)
    login(blosne_client, User.objects.get(email="animateur@demo.ancrage.fr"))
    leaks, crashes, checked = [], [], 0
    for pk in sorted(hidden):
        for name, url, query in _urls_with_ids(pk):
            response = client.get(url, query)
            checked += 1
            if response.status_code >= 500:
                crashes.append(f"{name} {url} {query}: {response.status_code}")
            if pk not in visible and not query:
                # No record of Vitré has this id, in any table: a write must be refused too.
                with transaction.atomic():
                    posted = client.post(url, {"texte": "?", "nom": "?"})
                    transaction.set_rollback(True)
                if posted.status_code not in (403, 404, 405):
                    leaks.append(f"{name} {url}: POST {posted.status_code}")
            if response.status_code != 200:
                continue
            if pk not in visible and not query:
                # No record of Vitré has this id, in any table: a 200 can only be someone else's.
                leaks.append(f"{name} {url}: 200")
                continue
            # The id is also one of a Vitré record (of another table): the page may be about it. It
            # must not be one the Blosne's team sees too, nor show the Blosne's names.
            if not query and blosne_client.get(url, query).status_code == 200:
                leaks.append(f"{name} {url} {query}: 200, and 200 for the Blosne's team too")
            elif response.get("Content-Type", "").startswith(("text/", "application/json")):
                body = response.content.decode()
                found = [marker for marker in BLOSNE_MARKERS if marker in body]
                if found:
                    leaks.append(f"{name} {url} {query}: 200 showing {found}")
    assert checked > (1000 if sweep == "complet" else 100), checked
    assert not leaks, "Le compte de Vitré lit des données du Blosne :\n" + "\n".join(leaks)
    assert not crashes, "Ces pages plantent sur un identifiant deviné :\n" + "\n".join(crashes)


@pytest.mark.django_db
def test_a_partner_cannot_read_another_partners_conventions(demo):
    blosne = Structure.objects.get(nom="EPN du Blosne (démo)")
    ccas = Structure.objects.get(nom="CCAS de Rennes (démo)")
    other = convention_services.convention_create(
        acting_user=None,
        epn=blosne,
        titre="Convention avec le CCAS seulement",
        objet="Permanences du CCAS à l’EPN.",
        date_debut=dt.date(2030, 1, 1),
        partenaires=[ccas],
    )
    job = convention_services.convention_version_request(acting_user=None, convention=other)
    convention_jobs.run(job.pk)
    version = other.versions.get()
    client = Client()
    login(client, User.objects.get(email="partenaire@demo.ancrage.fr"))

    own = Convention.objects.filter(partenaires__nom="Centre social Ty-Blosne (démo)").first()
    assert client.get(reverse("conventions:detail", kwargs={"pk": own.pk})).status_code == 200

    for url in (
        *(
            reverse(f"conventions:{name}", kwargs={"pk": other.pk})
            for name in ("detail", "history", "signed", "terminate", "update")
        ),
        reverse("conventions:job", kwargs={"pk": job.pk}),
        reverse("conventions:download", kwargs={"pk": version.pk, "fmt": "pdf"}),
        reverse("conventions:download", kwargs={"pk": version.pk, "fmt": "docx"}),
    ):
        assert client.get(url).status_code == 404, url
    for name in (
        "commentaire_add",
        "decide",
        "sign",
        "refuse",
        "delegate",
        "submit",
        "withdraw",
        "generate",
        "avenant",
    ):
        url = reverse(f"conventions:{name}", kwargs={"pk": other.pk})
        assert client.post(url, {"texte": "?", "decision": "valider"}).status_code == 404, url
    listing = client.get(reverse("conventions:list")).content.decode()
    assert own.titre in listing
    assert other.titre not in listing
