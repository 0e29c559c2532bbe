from datetime import UTC, datetime

import icalendar
import pytest

from ancrage.actions.ical import Attendee, CalendarEvent, build_calendar, calendar_bytes, event_uid

STAMP = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def session(**changes):
    values = dict(
        kind="seance",
        id="12",
        title="Atelier CV numérique",
        start=datetime(2026, 3, 10, 14, 0),
        end=datetime(2026, 3, 10, 16, 0),
        location="EPN de Villejean, 1 rue X, Rennes",
    )
    values.update(changes)
    return CalendarEvent(**values)


def meeting(**changes):
    values = dict(
        kind="reunion",
        id="3",
        title="Réunion préalable avec la Mission locale",
        start=datetime(2026, 7, 1, 8, 0, tzinfo=UTC),
        end=datetime(2026, 7, 1, 10, 0, tzinfo=UTC),
        description="Ordre du jour : répartition des tâches.",
        attendees=(Attendee("Claire Martin", "claire@mission-locale.example"), Attendee("Paul Durand")),
    )
    values.update(changes)
    return CalendarEvent(**values)


def parse(data):
    calendar = icalendar.Calendar.from_ical(data)
    return calendar, list(calendar.walk("VEVENT"))


def test_times_are_europe_paris():
    _calendar, (first, second) = parse(calendar_bytes([session(), meeting()], name="Action", dtstamp=STAMP))
    start = first.decoded("dtstart")
    assert start.tzinfo.key == "Europe/Paris"
    assert (start.hour, start.utcoffset().total_seconds()) == (14, 3600)  # winter: UTC+1
    # 08:00 UTC in July is 10:00 in Paris (summer time).
    meeting_start = second.decoded("dtstart")
    assert (meeting_start.hour, meeting_start.utcoffset().total_seconds()) == (10, 7200)
    assert b"DTSTART;TZID=Europe/Paris:20260701T100000" in calendar_bytes(
        [meeting()], name="A", dtstamp=STAMP
    )


def test_the_calendar_carries_its_timezone():
    calendar, _events = parse(calendar_bytes([session()], name="Action", dtstamp=STAMP))
    (timezone,) = calendar.walk("VTIMEZONE")
    assert timezone["tzid"] == "Europe/Paris"


def test_uids_are_stable():
    first = calendar_bytes([session(), meeting()], name="Action", dtstamp=STAMP)
    again = calendar_bytes(
        [session(title="Atelier CV (nouveau titre)"), meeting()], name="Action", dtstamp=STAMP
    )
    uids = [str(event["uid"]) for event in parse(first)[1]]
    assert uids == ["seance-12@ancrage.local", "reunion-3@ancrage.local"]
    assert uids == [str(event["uid"]) for event in parse(again)[1]]
    assert event_uid("reunion", "3", "ancrage.example.fr") == "reunion-3@ancrage.example.fr"


def test_same_input_same_bytes():
    events = [session(), meeting()]
    assert calendar_bytes(events, name="A", dtstamp=STAMP) == calendar_bytes(events, name="A", dtstamp=STAMP)


def test_meeting_details():
    _calendar, (event,) = parse(calendar_bytes([meeting()], name="Action", dtstamp=STAMP))
    assert str(event["summary"]) == "Réunion préalable avec la Mission locale"
    assert str(event["attendee"]) == "mailto:claire@mission-locale.example"
    assert event["attendee"].params["cn"] == "Claire Martin"
    # A participant with no e-mail cannot be an ATTENDEE; the reader still sees the name.
    assert str(event["description"]).endswith("Participants : Paul Durand")
    assert str(event["status"]) == "CONFIRMED"


def test_cancelled_event_and_sequence():
    _calendar, (event,) = parse(
        calendar_bytes([session(cancelled=True, sequence=2)], name="A", dtstamp=STAMP)
    )
    assert str(event["status"]) == "CANCELLED"
    assert event["sequence"] == 2


def test_calendar_name_and_empty_calendar():
    calendar = build_calendar([], name="Atelier CV", dtstamp=STAMP)
    assert str(calendar["x-wr-calname"]) == "Atelier CV"
    assert not calendar.walk("VEVENT")


def test_end_before_start_is_refused_in_french():
    with pytest.raises(ValueError, match="la fin doit être après le début"):
        session(end=datetime(2026, 3, 10, 13, 0))


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="Type d'événement inconnu"):
        session(kind="fete")
