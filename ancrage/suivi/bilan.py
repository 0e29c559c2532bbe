"""The bilan annuel of an EPN, for its collectivité: activity, publics, actions, partnerships and
conventions over one calendar year, in PDF.

WeasyPrint renders a template; the charts are inline SVG (``suivi.charts``). Nothing is fetched:
the URL fetcher refuses everything but ``data:`` (``core.pdf``), so a text typed by a
user cannot make the server call out while rendering.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils import timezone

from ancrage.actions.models import Action
from ancrage.conventions import circuit as convention_rules
from ancrage.conventions.enums import ETAT_LABELS, Etat
from ancrage.conventions.models import Convention
from ancrage.conventions.selectors import terms_of
from ancrage.core.pdf import html_to_pdf
from ancrage.suivi import charts, selectors
from ancrage.suivi import new_publics as pure
from ancrage.suivi.enums import SITUATION_CHOICES
from ancrage.suivi.models import Echange, Participation, Promotion

SITUATIONS = dict(SITUATION_CHOICES)
SEXES = {"F": "Femmes", "H": "Hommes", "": "Non renseigné"}


@dataclass
class ActionLine:
    action: Action
    seances: int
    presences: int
    participants: int
    new_publics: int
    objectives: int
    objectives_met: int


MONTH_NAMES = (
    "janv.",
    "févr.",
    "mars",
    "avr.",
    "mai",
    "juin",
    "juil.",
    "août",
    "sept.",
    "oct.",
    "nov.",
    "déc.",
)


@dataclass
class Activite:
    """An EPN's sessions, participants and new publics over a period: what the bilan and the
    network dashboard (``ancrage.reseau``) count, the same way."""

    lines: list[ActionLine]
    #: The presences (a person present at a session) of the period's sessions.
    present: list
    new_ids: set

    @property
    def seances(self) -> int:
        return sum(line.seances for line in self.lines)

    @property
    def presences(self) -> int:
        return len(self.present)

    @property
    def people(self) -> dict:
        return {p.beneficiaire_id: p.beneficiaire for p in self.present}

    @property
    def participants(self) -> int:
        return len(self.people)

    @property
    def nouveaux_publics(self) -> int:
        return len(self.new_ids)


def _local_day(moment) -> dt.date:
    return timezone.localtime(moment).date()


def activite_of(epn, debut: dt.date | None = None, fin: dt.date | None = None) -> Activite:
    """The sessions of the EPN's actions that start between ``debut`` and ``fin`` (local days, both
    included; None: no bound), their presences and participants, and the new publics among them
    (the action's period is all its sessions, as on the action's page)."""
    bounds = {}  # on a session's start
    if debut is not None:
        bounds["debut__date__gte"] = debut
    if fin is not None:
        bounds["debut__date__lte"] = fin
    quartiers = selectors._quartiers(epn.pk)
    participations = list(
        Participation.objects.filter(
            seance__action__structure=epn, **{f"seance__{k}": v for k, v in bounds.items()}
        ).select_related("beneficiaire", "seance", "oriente_par")
    )
    actions = list(
        Action.objects.filter(structure=epn, **{f"seances__{k}": v for k, v in bounds.items()})
        .distinct()
        .prefetch_related("seances", "objectifs")
        .order_by("titre")
    )

    def in_period(seance) -> bool:
        day = _local_day(seance.debut)
        return (debut is None or day >= debut) and (fin is None or day <= fin)

    lines, new_ids = _action_lines(actions, participations, quartiers, in_period)
    return Activite(lines, [p for p in participations if p.present], new_ids)


def bilan_of(epn, year: int, on: dt.date | None = None) -> dict:
    """Everything the bilan says, computed once (the PDF and the tests read the same numbers)."""
    on = on or selectors.today()
    year_end = dt.date(year, 12, 31)
    as_of = min(on, year_end)
    activite = activite_of(epn, dt.date(year, 1, 1), year_end)
    lines, present = activite.lines, activite.present
    people = activite.people
    ages = Counter(charts.age_band(b.annee_naissance, year) for b in people.values())
    sexes = Counter(SEXES.get(b.sexe, b.sexe) for b in people.values())
    situations = Counter(SITUATIONS.get(b.situation, b.situation) for b in people.values())
    months = Counter(timezone.localtime(p.seance.debut).month for p in present)
    oriented = Counter()
    seen = set()
    for p in sorted(present, key=lambda p: p.seance.debut):
        if p.oriente_par_id and p.beneficiaire_id not in seen:
            oriented[p.oriente_par.nom] += 1
        seen.add(p.beneficiaire_id)

    dashboard = selectors.three_questions_of(epn, as_of)
    contacts = Counter(
        Echange.objects.filter(structure=epn, date__year=year).values_list("partenaire_id", flat=True)
    )
    promotions = Counter(
        Promotion.objects.filter(structure=epn, date__year=year).values_list("partenaire_id", flat=True)
    )
    conventions = _conventions_of(epn, as_of, year_end)
    health_rows = [(p.partner.nom, p.health.score) for p in dashboard.partnerships]
    health_colours = [
        {"solide": "vert", "a_surveiller": "orange", "a_risque": "rouge"}[p.health.level.value]
        for p in dashboard.partnerships
    ]
    return {
        "epn": epn,
        "annee": year,
        "au": as_of,
        "seances": activite.seances,
        "presences": activite.presences,
        "participants": activite.participants,
        "nouveaux_publics": activite.nouveaux_publics,
        "actions": lines,
        "ages": [(label, ages[label]) for label in charts.AGE_ORDER if ages[label]],
        "sexes": sorted(sexes.items()),
        "situations": sorted(situations.items(), key=lambda kv: -kv[1]),
        "orientes": sorted(oriented.items(), key=lambda kv: (-kv[1], kv[0])),
        "dashboard": dashboard,
        "partenariats": [
            {
                "p": p,
                "contacts": contacts.get(p.partner.pk, 0),
                "promotions": promotions.get(p.partner.pk, 0),
            }
            for p in dashboard.partnerships
        ],
        "conventions": conventions,
        "conventions_en_vigueur": sum(1 for c in conventions if c["en_vigueur"]),
        "chart_mois": charts.bar_chart([(MONTH_NAMES[m - 1], months[m]) for m in range(1, 13)]),
        "chart_ages": charts.bar_chart(
            [(label, n) for label, n in ((a, ages[a]) for a in charts.AGE_ORDER) if n]
        ),
        "chart_sante": charts.bar_chart(health_rows, maximum=100, colours=health_colours),
    }


def _action_lines(actions, participations, quartiers, in_period) -> tuple[list[ActionLine], set]:
    """One line per action of the period, and the ids of the new publics they reached."""
    by_action = defaultdict(list)
    for p in participations:
        by_action[p.seance.action_id].append(p)
    lines = []
    new_ids: set = set()
    for action in actions:
        seances = [s for s in action.seances.all() if in_period(s)]
        the_action = selectors.pure_action(action, action.seances.all(), action.objectifs.all(), quartiers)
        rows = by_action.get(action.pk, [])
        level = selectors._level(the_action.targets[0].sectors if the_action and the_action.targets else ())
        people = pure.participants_from_attendance(selectors.attendance_of(rows, level))
        news = pure.new_publics(the_action, people) if the_action else []
        new_ids |= {p.usager.id for p in news}
        results = pure.results_against_objectives(the_action, people) if the_action else []
        lines.append(
            ActionLine(
                action=action,
                seances=len(seances),
                presences=sum(1 for r in rows if r.present),
                participants=len(people),
                new_publics=len(news),
                objectives=len(results),
                objectives_met=sum(1 for r in results if r.met),
            )
        )
    return lines, new_ids


def _conventions_of(epn, as_of: dt.date, year_end: dt.date) -> list[dict]:
    """The EPN's conventions begun by the end of the year, with their state on ``as_of``."""
    conventions = []
    for c in Convention.objects.filter(structure=epn).prefetch_related("partenaires").order_by("date_debut"):
        terms = terms_of(c)
        state = convention_rules.effective_state(terms, as_of)
        end, _ = convention_rules.current_term(terms, as_of)
        if c.date_debut and c.date_debut > year_end:
            continue
        conventions.append(
            {
                "titre": c.titre,
                "partenaires": ", ".join(p.nom for p in c.partenaires.all()),
                "etat": ETAT_LABELS.get(state, state),
                "en_vigueur": state == Etat.EN_VIGUEUR,
                "debut": c.date_debut,
                "fin": end,
            }
        )
    return conventions


def render_bilan_pdf(epn, year: int, on: dt.date | None = None) -> bytes:
    context = bilan_of(epn, year, on)
    context["genere_le"] = timezone.localtime()
    return html_to_pdf(render_to_string("suivi/bilan_pdf.html", context))
