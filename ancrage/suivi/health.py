"""Partnership health: a score from 0 to 100, its components, and why, in plain French.

Pure module: no Django. The caller gathers the facts of one partnership on a given day
(``PartnershipFacts``); ``score_partnership`` weighs them.

Weights (they add up to 100) and why:

- **Convention, 25.** The seed's third question: a partnership without a written convention
  rests on goodwill alone. Full marks when one is in force and not about to end (more than 90
  days left, or a tacit renewal ahead); 15 between 31 and 90 days; 5 in the last 30 days; 0
  without a convention in force.
- **Last contact, 25.** "Une communication régulière": silence is the first sign a partnership
  is fading. Full marks within the reminder delay the user set (90 days by default); 12 up to
  twice that delay; 0 beyond, or when no contact was ever logged.
- **Joint results, 25.** What the partnership brings: new publics reached by joint actions
  count most (10, full at 10 people), then people the partner sent, "orienté par" (7, full at
  5), then participants in joint actions (8, full at 20). The caps are set for an EPN's scale: a
  handful of people is already a real result for a small structure.
- **Reciprocity, 15.** "La mise en place d'une promotion réciproque": 15 when both sides
  promoted the other in the last year, 5 when only one did, 0 when neither did. Lower weight:
  it is often not logged.
- **Duration and renewals, 10.** A long partnership has proved itself, but age must not hide
  a partnership that is dying now, hence the small weight: 3 under a year, 5 under two years, 7
  beyond, plus 3 once the convention was renewed at least once.

Levels: 70 and above "solide", 45 to 69 "à surveiller", below 45 "à risque". One weak area
alone (e.g. no reciprocity, or a convention ending in two months) leaves a partnership solide;
two weak areas make it "à surveiller". One rule overrides the score: with no convention in force
and no contact for more than twice the reminder delay, nothing binds the partners any more, so
the partnership is "à risque" whatever its past results (the score alone could reach 50).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

WEIGHTS = {"convention": 25, "contact": 25, "results": 25, "reciprocity": 15, "duration": 10}
SOLID_FROM = 70
WATCH_FROM = 45
EXPIRY_SOON_DAYS = 90
EXPIRY_IMMINENT_DAYS = 30
DEFAULT_CONTACT_DELAY_DAYS = 90
PARTICIPANTS_FULL, NEW_PUBLICS_FULL, ORIENTED_FULL = 20, 10, 5


class HealthLevel(enum.StrEnum):
    SOLIDE = "solide"
    A_SURVEILLER = "a_surveiller"
    A_RISQUE = "a_risque"

    @property
    def label(self) -> str:
        return {"solide": "Solide", "a_surveiller": "À surveiller", "a_risque": "À risque"}[self.value]


@dataclass(frozen=True)
class PartnershipFacts:
    partner: str
    on: dt.date
    convention_in_force: bool = False
    #: End of the convention's current term; None for a convention à durée indéterminée.
    convention_end: dt.date | None = None
    #: A tacit renewal is still ahead (not denounced, under the cap).
    convention_renews: bool = False
    last_contact: dt.date | None = None
    contact_delay_days: int = DEFAULT_CONTACT_DELAY_DAYS
    #: Joint results over the last twelve months.
    participants: int = 0
    new_publics: int = 0
    oriented_by: int = 0
    promotions_by_epn: int = 0
    promotions_by_partner: int = 0
    since: dt.date | None = None
    renewals: int = 0


@dataclass(frozen=True)
class HealthComponent:
    key: str
    label: str
    points: float
    weight: int
    #: One short French sentence saying what the component saw.
    detail: str
    #: True when the detail is a reason for concern.
    concern: bool

    @property
    def lost(self) -> float:
        return self.weight - self.points


@dataclass(frozen=True)
class HealthScore:
    partner: str
    score: int
    level: HealthLevel
    components: tuple[HealthComponent, ...]
    #: The main reasons for concern, worst first (empty when nothing worries).
    reasons: tuple[str, ...]
    explanation: str


def months_between(start: dt.date, end: dt.date) -> int:
    """Whole calendar months from ``start`` to ``end`` (0 if ``end`` is earlier)."""
    months = (end.year - start.year) * 12 + end.month - start.month - (end.day < start.day)
    return max(months, 0)


def _elapsed(start: dt.date, end: dt.date) -> str:
    months = months_between(start, end)
    if months == 0:
        days = (end - start).days
        return f"{days} jour{'s' if days > 1 else ''}"
    if months < 24:
        return f"{months} mois"
    years, rest = divmod(months, 12)
    return f"{years} ans" + (f" et {rest} mois" if rest else "")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n > 1 else ''}"


def _convention(f: PartnershipFacts) -> HealthComponent:
    weight = WEIGHTS["convention"]
    label = "Convention"
    if not f.convention_in_force:
        return HealthComponent("convention", label, 0, weight, "Aucune convention en vigueur", True)
    if f.convention_end is None:
        return HealthComponent(
            "convention", label, weight, weight, "Convention en vigueur, sans terme", False
        )
    days = (f.convention_end - f.on).days
    if f.convention_renews:
        return HealthComponent(
            "convention", label, weight, weight, "Convention en vigueur, reconduite tacitement", False
        )
    when = "aujourd'hui" if days <= 0 else f"dans {_plural(days, 'jour')}"
    if days > EXPIRY_SOON_DAYS:
        return HealthComponent("convention", label, weight, weight, "Convention en vigueur", False)
    points = 15 if days > EXPIRY_IMMINENT_DAYS else 5
    return HealthComponent("convention", label, points, weight, f"La convention expire {when}", True)


def _contact(f: PartnershipFacts) -> HealthComponent:
    weight = WEIGHTS["contact"]
    label = "Contact"
    if f.last_contact is None:
        return HealthComponent("contact", label, 0, weight, "Aucun contact enregistré", True)
    days = (f.on - f.last_contact).days
    since = _elapsed(f.last_contact, f.on)
    if days <= f.contact_delay_days:
        return HealthComponent("contact", label, weight, weight, f"Dernier contact il y a {since}", False)
    points = 12 if days <= 2 * f.contact_delay_days else 0
    return HealthComponent("contact", label, points, weight, f"Aucun contact depuis {since}", True)


def _results(f: PartnershipFacts) -> HealthComponent:
    weight = WEIGHTS["results"]
    points = (
        8 * min(1, f.participants / PARTICIPANTS_FULL)
        + 10 * min(1, f.new_publics / NEW_PUBLICS_FULL)
        + 7 * min(1, f.oriented_by / ORIENTED_FULL)
    )
    label = "Résultats communs"
    if not (f.participants or f.new_publics or f.oriented_by):
        return HealthComponent(
            "results", label, 0, weight, "Aucun résultat commun sur les douze derniers mois", True
        )
    parts = []
    if f.participants:
        parts.append(_plural(f.participants, "participant"))
    if f.new_publics:
        parts.append(
            f"{f.new_publics} "
            + ("nouveaux publics atteints" if f.new_publics > 1 else "nouveau public atteint")
        )
    if f.oriented_by:
        parts.append(
            f"{_plural(f.oriented_by, 'personne')} orientée{'s' if f.oriented_by > 1 else ''} "
            "par le partenaire"
        )
    if not (f.new_publics or f.oriented_by):
        return HealthComponent(
            "results",
            label,
            points,
            weight,
            f"{parts[0]}, mais aucun nouveau public amené par ce partenariat",
            True,
        )
    detail = ", ".join(parts)
    if points < weight / 2:
        return HealthComponent(
            "results", label, points, weight, f"Résultats communs modestes : {detail}", True
        )
    return HealthComponent("results", label, points, weight, detail[0].upper() + detail[1:], False)


def _reciprocity(f: PartnershipFacts) -> HealthComponent:
    weight = WEIGHTS["reciprocity"]
    label = "Promotion réciproque"
    epn, partner = f.promotions_by_epn > 0, f.promotions_by_partner > 0
    if epn and partner:
        return HealthComponent("reciprocity", label, weight, weight, "Promotion réciproque", False)
    if epn:
        return HealthComponent(
            "reciprocity", label, 5, weight, "La promotion n'est faite que par l'EPN", True
        )
    if partner:
        return HealthComponent(
            "reciprocity", label, 5, weight, "La promotion n'est faite que par le partenaire", True
        )
    return HealthComponent("reciprocity", label, 0, weight, "Aucune promotion réciproque depuis un an", True)


def _duration(f: PartnershipFacts) -> HealthComponent:
    weight = WEIGHTS["duration"]
    label = "Ancienneté"
    if f.since is None:
        base, detail = 3, "Date de début du partenariat inconnue"
    else:
        months = months_between(f.since, f.on)
        base = 3 if months < 12 else (5 if months < 24 else 7)
        detail = f"Partenariat depuis {_elapsed(f.since, f.on)}"
    if f.renewals:
        detail += f", convention renouvelée {f.renewals} fois"
    points = min(weight, base + (3 if f.renewals else 0))
    # Youth is not a fault: this component never counts as a concern.
    return HealthComponent("duration", label, points, weight, detail, False)


def level_for(score: int) -> HealthLevel:
    if score >= SOLID_FROM:
        return HealthLevel.SOLIDE
    if score >= WATCH_FROM:
        return HealthLevel.A_SURVEILLER
    return HealthLevel.A_RISQUE


def score_partnership(facts: PartnershipFacts, *, max_reasons: int = 3) -> HealthScore:
    components = (_convention(facts), _contact(facts), _results(facts), _reciprocity(facts), _duration(facts))
    score = round(sum(c.points for c in components))
    level = level_for(score)
    by_key = {c.key: c for c in components}
    if by_key["convention"].points == 0 and by_key["contact"].points == 0:
        level = HealthLevel.A_RISQUE
    concerns = sorted((c for c in components if c.concern), key=lambda c: -c.lost)
    reasons = tuple(c.detail for c in concerns[:max_reasons])
    if reasons:
        body = " ; ".join(r[0].lower() + r[1:] if i else r for i, r in enumerate(reasons))
    else:
        strengths = [c.detail for c in components if c.points == c.weight]
        body = (
            " ; ".join(s[0].lower() + s[1:] if i else s for i, s in enumerate(strengths[:3]))
            or "rien à signaler"
        )
    explanation = f"{level.label} ({score}/100). {body}."
    return HealthScore(facts.partner, score, level, components, reasons, explanation)
