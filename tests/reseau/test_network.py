"""The network dashboard: each EPN's row equals what that EPN's own pages say, the total is their
sum, and the XLSX and the network bilan PDF say the same; only the coordinateur reads it, and only
their réseau's EPNs.

The pure tests (no database) run first; the demo's tests share one demo load (conventions included:
the three questions and the échéances read them).
"""

import csv
import datetime as dt
import io
import re

import openpyxl
import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from ancrage.accounts.models import User
from ancrage.actions.models import Action
from ancrage.dossiers.selectors import dossiers_visible_to
from ancrage.organisations.enums import Role
from ancrage.organisations.models import Collectivite, Structure
from ancrage.reseau import exports
from ancrage.reseau import indicators as pure
from ancrage.reseau.selectors import network_indicators
from ancrage.suivi import bilan
from ancrage.www.reseau_views.forms import FiltreReseauForm
from tests.demo_accounts import login
from tests.organisations.factories import MembershipFactory

YEAR = dt.date.today().year
PERIOD = {"debut": f"{YEAR}-01-01", "fin": f"{YEAR}-12-31"}
NETWORK_EPNS = (
    "EPN du Blosne (démo)",
    "Espace numérique de Cesson-Sévigné (démo)",
    "Espace numérique de Vitré (démo)",
)
# Which demo account is each EPN's team (its conventions page shows the EPN's alerts).
TEAM = {"EPN du Blosne (démo)": "animateur", "Espace numérique de Vitré (démo)": "animateur2"}


# --- Pure ----------------------------------------------------------------------------------------

counts = st.integers(min_value=0, max_value=10_000)
figures = st.builds(
    pure.Figures,
    seances=counts,
    participants=counts,
    nouveaux_publics=counts,
    partenariats_a_risque=counts,
    dossiers=st.dictionaries(st.sampled_from([s.value for s in pure.DOSSIER_STATES]), counts, max_size=3),
)


@given(st.lists(figures, max_size=6))
def test_the_total_is_the_sum_of_the_rows(rows):
    total = pure.Figures.total(rows)
    assert total.seances == sum(r.seances for r in rows)
    assert total.participants == sum(r.participants for r in rows)
    assert total.dossiers_total == sum(r.dossiers_total for r in rows)
    assert total.dossier_counts == [sum(r.dossier_count(s.value) for r in rows) for s in pure.DOSSIER_STATES]


@given(st.lists(st.tuples(st.integers(0, 5000), st.floats(1, 1e6)), min_size=1, max_size=8))
def test_the_funnel_expects_as_many_usagers_as_the_network_has(reach):
    portees = [pure.Portee(i, f"d{i}", usagers, population) for i, (usagers, population) in enumerate(reach)]
    placed = pure.place_on_funnel(portees)
    assert sum(p.attendus for p in placed) == pytest.approx(sum(u for u, _ in reach), rel=1e-9, abs=1e-9)
    # A flag needs a shortfall of at least 20 % below 10 expected usagers or more (the diagnostic's rule).
    assert all(p.ratio <= 0.8 and p.attendus >= 10 for p in placed if p.sous_frequente)


def test_the_csv_export_escapes_a_name_that_is_a_formula():
    header = pure.header()
    row = pure.EpnIndicators(1, '=HYPERLINK("http://x")', "+33", pure.Figures(seances=-1))
    network = pure.NetworkIndicators(
        None, None, dt.date(2026, 1, 1), "", (row,), pure.Figures.total([row.figures])
    )
    line = list(csv.reader(io.StringIO(exports.csv_bytes(network).decode("utf-8-sig")), delimiter=";"))[1]
    assert line[:2] == ['\'=HYPERLINK("http://x")', "'+33"]
    assert line[header.index("Séances")] == "-1"  # a number stays a number
    sheet = openpyxl.load_workbook(io.BytesIO(exports.xlsx_bytes(network)))["Indicateurs"]
    assert sheet["A2"].value.startswith("'=") and sheet["A2"].data_type == "s"


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "collectivite": st.one_of(st.text(max_size=12), st.integers().map(str)),
            "debut": st.one_of(st.text(max_size=12), st.dates().map(dt.date.isoformat)),
            "fin": st.one_of(st.text(max_size=12), st.dates().map(dt.date.isoformat)),
        },
    )
)
def test_any_filters_are_refused_or_a_period_in_order(data):
    form = FiltreReseauForm(data, collectivites=[])
    if form.is_valid():  # never raises; an unknown collectivité is never a valid choice
        debut, fin = form.cleaned_data["debut"], form.cleaned_data["fin"]
        assert form.cleaned_data["collectivite"] is None
        assert not (debut and fin and debut > fin)
    else:
        assert form.errors


# --- On the demo ---------------------------------------------------------------------------------


def _expected_row(client, epn) -> dict:
    """One EPN's figures as its own pages give them, for the current year."""
    coordinateur = User.objects.get(email="coordinateur@demo.ancrage.fr")
    year = bilan.bilan_of(epn, YEAR)  # what the EPN's bilan annuel (PDF) prints
    login(client, "coordinateur")
    questions = client.get(reverse("suivi:tableau", args=[epn.pk])).context["d"]  # "Les trois questions"
    if epn.nom in TEAM:
        login(client, TEAM[epn.nom])
    else:  # an EPN of the demo without an account: its page as an animateur of its own sees it
        client.force_login(MembershipFactory(structure=epn, role=Role.ANIMATEUR).user)
    alerts = client.get(reverse("conventions:list")).context["alerts"]  # the EPN's conventions page
    deposited = dossiers_visible_to(coordinateur).filter(structure=epn).exclude(etat="brouillon")
    return {
        "actions": Action.objects.visible_to(coordinateur).filter(structure=epn).count(),
        "actions_menees": len(year["actions"]),
        "seances": year["seances"],
        "presences": year["presences"],
        "participants": year["participants"],
        "nouveaux_publics": year["nouveaux_publics"],
        "partenariats": len(questions.partnerships),
        "partenaires_nouveaux_publics": sum(
            1 for r in questions.questions.partners_for_new_publics if r.new_publics_sent
        ),
        "partenariats_a_risque": len(questions.questions.at_risk),
        "partenariats_a_surveiller": len(questions.questions.to_watch),
        "partenariats_sans_convention": len(questions.questions.without_convention),
        "conventions_echeance": len(alerts),
        "dossiers_total": deposited.count(),
    }


def _row(figures: pure.Figures) -> dict:
    return {
        "actions": figures.actions,
        "actions_menees": figures.actions_menees,
        "seances": figures.seances,
        "presences": figures.presences,
        "participants": figures.participants,
        "nouveaux_publics": figures.nouveaux_publics,
        "partenariats": figures.partenariats,
        "partenaires_nouveaux_publics": figures.partenaires_nouveaux_publics,
        "partenariats_a_risque": figures.partenariats_a_risque,
        "partenariats_a_surveiller": figures.partenariats_a_surveiller,
        "partenariats_sans_convention": figures.partenariats_sans_convention,
        "conventions_echeance": figures.conventions_echeance,
        "dossiers_total": figures.dossiers_total,
    }


def test_dashboard_xlsx_and_bilan_equal_the_sum_of_each_epns_pages(client, demo):
    epns = [Structure.objects.get(nom=nom) for nom in NETWORK_EPNS]
    expected = {epn.nom: _expected_row(client, epn) for epn in epns}
    total = {key: sum(row[key] for row in expected.values()) for key in next(iter(expected.values()))}
    # The demo has something to add up in every part of the dashboard.
    assert all(total[k] > 0 for k in ("seances", "participants", "nouveaux_publics", "partenariats"))
    assert total["conventions_echeance"] and total["dossiers_total"]

    login(client, "coordinateur")
    response = client.get(reverse("reseau:tableau"))  # no filter: the current year
    assert response.status_code == 200
    network = response.context["network"]
    assert [e.nom for e in network.epns] == list(NETWORK_EPNS)
    assert {e.nom: _row(e.figures) for e in network.epns} == expected
    assert _row(network.total) == total
    # The funnel plot has one point per EPN, with its name beside it.
    html = response.content.decode()
    funnel = html[
        html.index('aria-labelledby="entonnoir-titre') : html.index("</svg>", html.index("entonnoir-titre"))
    ]
    assert funnel.count("<circle") == len(NETWORK_EPNS)
    assert "Espace numérique de Vitré (démo)</text>" in funnel

    xlsx = client.get(reverse("reseau:export", args=["xlsx"]), PERIOD)
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content))["Indicateurs"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    header = rows[0]
    column = {attr: header.index(h) for h, attr in pure.COLUMNS}
    column["dossiers_total"] = header.index("Dossiers (total)")
    for cells, (nom, row) in zip(rows[1:], [*expected.items(), ("Total du réseau", total)], strict=True):
        assert cells[0] == nom
        assert {key: cells[column[key]] for key in row} == row

    pdf = client.get(reverse("reseau:bilan"), {"annee": YEAR})
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    from pypdf import PdfReader

    text = " ".join(
        " ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf.content)).pages
    )
    assert (
        f"{total['seances']} séances d’actions, {total['presences']} présences, "
        f"{total['participants']} participants, dont {total['nouveaux_publics']} nouveaux publics"
    ) in text
    totals = re.search(rf"Total du réseau {len(NETWORK_EPNS)} lieux ((?:\d+ ){{5}}\d+)", text)
    assert totals and totals.group(1).split() == [
        str(total[k])
        for k in ("actions", "actions_menees", "seances", "presences", "participants", "nouveaux_publics")
    ]


def test_only_the_coordinateur_reads_it_and_only_their_reseau(client, demo):
    for account in ("animateur", "referent", "partenaire"):
        login(client, account)
        assert client.get(reverse("reseau:tableau")).status_code == 403, account
        assert client.get(reverse("reseau:export", args=["csv"])).status_code == 403, account
        assert network_indicators(User.objects.get(email=f"{account}@demo.ancrage.fr")).epns == ()

    login(client, "coordinateur")
    villeurbanne = Collectivite.objects.get(nom="Villeurbanne")  # another réseau's collectivité
    assert client.get(reverse("reseau:tableau"), {"collectivite": villeurbanne.pk}).status_code == 200
    response = client.get(reverse("reseau:tableau"), {"collectivite": villeurbanne.pk})
    assert response.context["network"] is None  # not one of the form's choices
    assert client.get(reverse("reseau:bilan"), {"collectivite": villeurbanne.pk}).status_code == 404
    # Bad filters: the page says what is wrong, the downloads refuse.
    response = client.get(
        reverse("reseau:tableau"), {"debut": "2026-13-45", "fin": "hier", "collectivite": "x"}
    )
    assert response.status_code == 200 and response.context["network"] is None
    assert set(response.context["form"].errors) == {"debut", "fin", "collectivite"}
    assert client.get(reverse("reseau:export", args=["csv"]), {"debut": "x"}).status_code == 404
    assert client.get(reverse("reseau:export", args=["pdf"])).status_code == 404
    for annee in ("abc", "1999", str(YEAR + 1)):
        assert client.get(reverse("reseau:bilan"), {"annee": annee}).status_code == 404, annee
    vitre = Collectivite.objects.get(nom="Vitré")
    response = client.get(reverse("reseau:tableau"), {"collectivite": vitre.pk, **PERIOD})
    (only,) = response.context["network"].epns
    assert only.nom == "Espace numérique de Vitré (démo)"
    # Its point on the funnel plot stays where the whole network's rate puts it.
    everyone = client.get(reverse("reseau:tableau"), PERIOD).context["network"].epns
    assert only.portee == next(e.portee for e in everyone if e.nom == only.nom)
    assert only.portee.ratio != pytest.approx(1)
    assert "Villeurbanne" not in client.get(reverse("reseau:export", args=["csv"])).content.decode(
        "utf-8-sig"
    )
