"""The programme over HTTP: organizers upload a schedule (all or nothing), everyone at the venue
adds the day to their calendar with the right local times, also on the night the clocks change."""

import datetime
import html
import io
import json
from zoneinfo import ZoneInfo

from icalendar import Calendar

from agenda.models import AgendaItem
from tests.support.clients import signed_in_as, someone
from venue.models import Role

BERLIN = ZoneInfo("Europe/Berlin")
# The night of 28 to 29 March 2026: at 02:00 CET the clocks jump to 03:00 CEST.
DST_DAY = datetime.date(2026, 3, 29)


def schedule_of(events):
    """A minimal frab JSON schedule of (start, minutes, room, title, persons) for DST_DAY."""
    rooms = {}
    for number, (start, minutes, room, title, persons) in enumerate(events, start=1):
        rooms.setdefault(room, []).append({
            "id": number, "guid": f"00000000-0000-4000-8000-{number:012d}", "date": start, "start": start[11:16],
            "duration": f"{minutes // 60:02d}:{minutes % 60:02d}", "room": room, "title": title,
            "persons": [{"name": name} for name in persons]})
    return json.dumps({"schedule": {"version": "1", "conference": {"title": "Nachtkonferenz", "days": [
        {"index": 1, "date": DST_DAY.isoformat(), "rooms": rooms}]}}}).encode()


def upload(client, data, name="schedule.json"):
    handle = io.BytesIO(data)
    handle.name = name
    return client.post("/organizer/schedule/", {"schedule": handle})


def test_the_calendar_has_the_right_local_times_across_the_change_to_summer_time(conference, participants):
    conference.date = DST_DAY
    conference.save()
    organizer = signed_in_as(someone(conference, Role.ORGANIZER))
    response = upload(organizer, schedule_of([
        ("2026-03-29T01:00:00+01:00", 45, "Plenum", "Vor der Umstellung", ["Janine Mehner"]),
        # 01:45 CET to 03:15 CEST is 30 minutes.
        ("2026-03-29T01:45:00+01:00", 30, "Stehtisch-Lounge", "Über die Umstellung", []),
        ("2026-03-29T03:15:00+02:00", 60, "Fachforen", "Nach der Umstellung", []),
    ]))
    assert response.status_code == 200 and "3 Programmpunkte" in response.content.decode()

    venue = signed_in_as(participants[0]).get("/venue/").content.decode()
    assert f"/programme/{conference.slug}.ics" in venue
    ics = signed_in_as(participants[0]).get(f"/programme/{conference.slug}.ics")
    assert ics["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(ics.content)
    events = sorted(calendar.walk("VEVENT"), key=lambda e: e.decoded("dtstart"))
    assert [str(e["summary"]) for e in events] == ["Vor der Umstellung", "Über die Umstellung", "Nach der Umstellung"]
    starts = [e.decoded("dtstart") for e in events]
    ends = [e.decoded("dtend") for e in events]
    assert [e["dtstart"].params["TZID"] for e in events] == ["Europe/Berlin"] * 3
    assert [(s.hour, s.minute) for s in starts] == [(1, 0), (1, 45), (3, 15)]
    assert [(e.hour, e.minute) for e in ends] == [(1, 45), (3, 15), (4, 15)]
    assert [s.utcoffset() for s in starts] == [datetime.timedelta(hours=1)] * 2 + [datetime.timedelta(hours=2)]
    # Python subtracts wall-clock times of one zone; the real time between them is 30 minutes.
    utc = datetime.timezone.utc
    assert ends[1].astimezone(utc) - starts[1].astimezone(utc) == datetime.timedelta(minutes=30)
    assert "Janine Mehner" in str(events[0]["description"]) and str(events[2]["location"]) == "Fachforen"
    assert calendar.walk("VTIMEZONE") and str(calendar.walk("VTIMEZONE")[0]["tzid"]) == "Europe/Berlin"


def test_a_bad_upload_shows_where_and_changes_nothing(conference, participants):
    organizer = signed_in_as(someone(conference, Role.ORGANIZER))
    before = list(AgendaItem.objects.filter(conference=conference).values_list("title", "planned_start"))
    response = upload(organizer, b'{"schedule": {"conference": {"days": [\n{"rooms": {"Saal 1": [\n{"title": "X"}]}}]}}}')
    page = html.unescape(response.content.decode())
    assert response.status_code == 400 and 'rooms["Saal 1"][0].date' in page and "unverändert" in page
    assert list(AgendaItem.objects.filter(conference=conference).values_list("title", "planned_start")) == before
    assert upload(signed_in_as(participants[0]), schedule_of([])).status_code == 403


def test_the_programme_files_are_for_the_people_of_the_conference(conference, participants):
    alice = signed_in_as(participants[0])
    for kind in ("json", "xml", "ics"):
        assert alice.get(f"/programme/{conference.slug}.{kind}").status_code == 200
    assert alice.get(f"/programme/{conference.slug}.pdf").status_code == 404
    assert signed_in_as(participants[0]).get("/programme/some-other-conference.ics").status_code == 404
