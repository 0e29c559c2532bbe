"""iCalendar export of an action's sessions and preliminary meetings.

Pure module: no Django. Times are Europe/Paris: a naive datetime is taken as Paris wall-clock
time (what an animateur types), an aware one is converted. Each event's UID is derived from its
kind and its id, so that exporting again updates the events already in a calendar instead of
duplicating them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar

PARIS = ZoneInfo("Europe/Paris")
PRODID = "-//Ancrage//Actions et partenariats//FR"


@dataclass(frozen=True)
class Attendee:
    name: str
    email: str = ""


@dataclass(frozen=True)
class CalendarEvent:
    """A session (``kind="seance"``) or a meeting (``kind="reunion"``) of an action."""

    kind: str
    id: str
    title: str
    start: datetime
    end: datetime
    location: str = ""
    description: str = ""
    url: str = ""
    attendees: Sequence[Attendee] = field(default_factory=tuple)
    # Bump when the event changes, so that calendars take the new version.
    sequence: int = 0
    cancelled: bool = False
    # When the event last changed (LAST-MODIFIED); omitted when unknown.
    last_modified: datetime | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("seance", "reunion"):
            raise ValueError(f"Type d'événement inconnu : « {self.kind} » (séance ou réunion attendu).")
        if to_paris(self.end) <= to_paris(self.start):
            raise ValueError(f"« {self.title} » : la fin doit être après le début.")


def to_paris(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=PARIS)
    return moment.astimezone(PARIS)


def event_uid(kind: str, event_id: str, domain: str) -> str:
    return f"{kind}-{event_id}@{domain}"


def build_calendar(
    events: Iterable[CalendarEvent],
    *,
    name: str,
    domain: str = "ancrage.local",
    dtstamp: datetime | None = None,
    refresh: timedelta | None = None,
) -> icalendar.Calendar:
    """A calendar holding the events, with the Europe/Paris VTIMEZONE they refer to.

    ``dtstamp`` defaults to now; pass a fixed one to get byte-identical exports. ``domain`` ends
    every UID (``seance-12@domain``): keep it fixed, or calendars duplicate the events. ``refresh``
    (a subscribed feed): how often a client should fetch it again (REFRESH-INTERVAL, RFC 7986,
    and X-PUBLISHED-TTL, which Outlook and older clients read).
    """
    stamp = (dtstamp or datetime.now(UTC)).astimezone(UTC)
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", "Europe/Paris")
    if refresh is not None:
        calendar.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", icalendar.vDuration(refresh))
    events = list(events)
    for item in events:
        event = icalendar.Event()
        event.add("uid", event_uid(item.kind, item.id, domain))
        event.add("dtstamp", stamp)
        event.add("dtstart", to_paris(item.start))
        event.add("dtend", to_paris(item.end))
        event.add("summary", item.title)
        event.add("sequence", item.sequence)
        if item.last_modified is not None:
            event.add("last-modified", item.last_modified.astimezone(UTC))
        event.add("status", "CANCELLED" if item.cancelled else "CONFIRMED")
        event.add("categories", ["Séance" if item.kind == "seance" else "Réunion"])
        if item.location:
            event.add("location", item.location)
        without_email = [person.name for person in item.attendees if not person.email]
        description = item.description
        if without_email:
            # ATTENDEE needs an address; people without one are still listed for the reader.
            names = ", ".join(without_email)
            description = (
                f"{description}\n\nParticipants : {names}" if description else f"Participants : {names}"
            )
        if description:
            event.add("description", description)
        if item.url:
            event.add("url", item.url)
        for person in item.attendees:
            if not person.email:
                continue
            attendee = icalendar.vCalAddress(f"mailto:{person.email}")
            attendee.params["cn"] = icalendar.vText(person.name)
            attendee.params["role"] = icalendar.vText("REQ-PARTICIPANT")
            event.add("attendee", attendee, encode=0)
        calendar.add_component(event)
    if events:
        # Only the years the events span: the default range writes 70 years of transitions.
        first = min(to_paris(item.start) for item in events).date()
        last = max(to_paris(item.end) for item in events).date()
        calendar.add_missing_timezones(
            first_date=first.replace(month=1, day=1),
            last_date=last.replace(year=last.year + 1, month=1, day=1),
        )
    return calendar


def calendar_bytes(events: Iterable[CalendarEvent], **kwargs) -> bytes:
    """The .ics file (text/calendar, UTF-8)."""
    return build_calendar(events, **kwargs).to_ical()
