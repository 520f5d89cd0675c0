"""The programme in and out: the frab schedule format (JSON and XML) that pretalx, frab and the
c3voc tools speak, and iCalendar for participants' calendars.

The agenda knows no place: where an item happens comes in and goes out as a room's name, and
the caller (`frontend/schedule.py`) says what each name means (`Place`: a room, and the phase
that follows from it). An import is checked whole before anything is written: one problem, and
the programme stays as it was.
"""

import datetime
import json
import re
import uuid
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from icalendar import Calendar, Event
from lxml import etree

from agenda import signals
from agenda.models import AgendaItem, ItemState, Phase
from venue import version
from venue.models import Conference, Person, Role

MAX_BYTES = 5 * 1024 * 1024
MAX_ITEMS = 200
TITLE_LENGTH = AgendaItem._meta.get_field("title").max_length
NAME_LENGTH = Person._meta.get_field("display_name").max_length
DURATION = re.compile(r"^(\d{1,2}):([0-5]\d)(?::([0-5]\d))?$")
CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(?::[0-5]\d)?$")
# Each Plenum item's guid in the exports: stable for the item, unlike anything else's.
GUID_NAMESPACE = uuid.UUID("6c1f3b7e-52a4-4d2c-9a53-0b6c1d0e9a11")
EVENT_TYPES = {Phase.PLENARY: "talk", Phase.FORUMS: "workshop", Phase.BREAK: "break"}


@dataclass(frozen=True)
class Place:
    """What a schedule's room name means here: the room (None for the forums, which happen in
    every forum at once) and the phase of an item there."""

    room_id: int | None
    phase: str
    name: str  # as the organizers know it, for the error that lists what is known


@dataclass
class Entry:
    """One event of an imported schedule, before it is checked."""

    where: str  # where it is in the file: a line, or the path of a JSON field
    title: str = ""
    description: str = ""
    room: str = ""
    start: datetime.datetime | None = None
    end: datetime.datetime | None = None
    persons: list = field(default_factory=list)


@dataclass
class Problem:
    where: str
    message: str

    def __str__(self):
        return f"{self.where}: {self.message}" if self.where else self.message


class ScheduleError(Exception):
    """The schedule cannot be imported; `problems` says where and why. Nothing was changed."""

    def __init__(self, problems):
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def zone():
    return ZoneInfo(settings.TIME_ZONE)


# -- reading ------------------------------------------------------------------------------------


def parse(data: bytes):
    """The events of a frab schedule, JSON or XML (told apart by the first character)."""
    if len(data) > MAX_BYTES:
        raise ScheduleError([Problem("", _("The file is larger than 5 MB."))])
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head == b"<":
        return parse_xml(data)
    if head == b"{":
        return parse_json(data)
    raise ScheduleError([Problem("", _("This is neither a frab schedule in JSON nor in XML."))])


def parse_json(data: bytes):
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ScheduleError([Problem("", _("The file is not UTF-8."))]) from None
    except json.JSONDecodeError as error:
        raise ScheduleError([Problem(_("line %(line)s") % {"line": error.lineno}, error.msg)]) from None
    problems, entries = [], []
    conference = _member(document, "schedule", dict, "", problems)
    conference = _member(conference, "conference", dict, "schedule", problems)
    days = _member(conference, "days", list, "schedule.conference", problems)
    for d, day in enumerate(days or []):
        path = f"schedule.conference.days[{d}]"
        rooms = _member(day, "rooms", dict, path, problems)
        for room_name, events in (rooms or {}).items():
            room_path = f"{path}.rooms[{json.dumps(room_name, ensure_ascii=False)}]"
            if not isinstance(events, list):
                problems.append(Problem(room_path, _("must be a list of events")))
                continue
            for e, event in enumerate(events):
                where = f"{room_path}[{e}]"
                if not isinstance(event, dict):
                    problems.append(Problem(where, _("must be an event")))
                    continue
                persons = []
                for p, person in enumerate(event.get("persons") or []):
                    name = person.get("name") or person.get("public_name") if isinstance(person, dict) else None
                    if not isinstance(name, str) or not name.strip():
                        problems.append(Problem(f"{where}.persons[{p}]", _("a person needs a name")))
                    else:
                        persons.append(name.strip())
                entries.append(_entry(
                    where, problems, title=event.get("title"), room=event.get("room", room_name),
                    description=event.get("description") or event.get("abstract") or "",
                    date=event.get("date"), start=event.get("start"), day=day.get("date"),
                    duration=event.get("duration"), end=event.get("end"), persons=persons,
                ))
    if problems:
        raise ScheduleError(problems)
    return entries


def _member(parent, key, kind, path, problems):
    if parent is None:
        return None
    value = parent.get(key) if isinstance(parent, dict) else None
    if not isinstance(value, kind):
        problems.append(Problem(f"{path}.{key}" if path else key, _("missing or of the wrong type")))
        return None
    return value


def parse_xml(data: bytes):
    # No DTD, no entities, no network: a schedule is data, not a program.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise ScheduleError([Problem(_("line %(line)s") % {"line": error.lineno}, error.msg)]) from None
    if root.getroottree().docinfo.doctype:
        raise ScheduleError([Problem(_("line %(line)s") % {"line": 1}, _("a DOCTYPE is not allowed"))])
    if root.tag != "schedule":
        raise ScheduleError([Problem(_("line %(line)s") % {"line": root.sourceline}, _("the root element must be <schedule>"))])
    problems, entries = [], []
    for day in root.findall("day"):
        for room in day.findall("room"):
            for event in room.findall("event"):
                where = _("line %(line)s") % {"line": event.sourceline}
                persons = [" ".join((p.text or "").split()) for p in event.findall("persons/person")]
                if any(not p for p in persons):
                    problems.append(Problem(where, _("a person needs a name")))
                entries.append(_entry(
                    where, problems, title=event.findtext("title"), room=event.findtext("room") or room.get("name"),
                    description=event.findtext("description") or event.findtext("abstract") or "",
                    date=event.findtext("date"), start=event.findtext("start"), day=day.get("date"),
                    duration=event.findtext("duration"), end=None, persons=[p for p in persons if p],
                ))
    if problems:
        raise ScheduleError(problems)
    return entries


def _entry(where, problems, *, title, room, description, date, start, day, duration, end, persons):
    entry = Entry(where, persons=persons)
    if not isinstance(title, str) or not title.strip():
        problems.append(Problem(_field(where, "title"), _("the title is missing")))
    else:
        entry.title = " ".join(title.split())
    entry.room = room.strip() if isinstance(room, str) else ""
    entry.description = description if isinstance(description, str) else ""
    entry.start = _start(date, start, day)
    if entry.start is None:
        problems.append(Problem(_field(where, "date"), _("no valid start time (date with time zone, or day and start)")))
    length = _duration(duration)
    if isinstance(end, str) and entry.start is not None:
        entry.end = _moment(end)
    elif length is not None and entry.start is not None:
        entry.end = entry.start + length
    if entry.start is not None and (entry.end is None or entry.end <= entry.start):
        problems.append(Problem(_field(where, "duration"), _("no valid duration (hh:mm, more than zero)")))
    return entry


def _field(where, name):
    """Where a field is: the JSON path goes on, an XML line names the element."""
    return f"{where}.{name}" if where.startswith("schedule") else f"{where}, <{name}>"


def _moment(text):
    try:
        moment = datetime.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone())


def _start(date, start, day):
    if isinstance(date, str) and "T" in date:
        return _moment(date)
    if isinstance(start, str) and CLOCK.match(start) and isinstance(day, str):
        return _moment(f"{day}T{start}")
    return None


def _duration(text):
    match = DURATION.match(text) if isinstance(text, str) else None
    if not match:
        return None
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return datetime.timedelta(hours=hours, minutes=minutes, seconds=seconds)


# -- importing -----------------------------------------------------------------------------------


def import_programme(conference: Conference, entries, places: dict):
    """Replace the day's programme by `entries`. `places` maps a room name, lower case, to its
    `Place`. Persons are found by name among the conference's people; whoever is new becomes a
    speaker. Raises ScheduleError (nothing written) if anything cannot be mapped."""
    problems = []
    if not entries:
        problems.append(Problem("", _("The schedule has no events.")))
    if len(entries) > MAX_ITEMS:
        problems.append(Problem("", _("At most %(count)s events per day.") % {"count": MAX_ITEMS}))
    local_zone = zone()
    for entry in entries:
        if entry.room.lower() not in places:
            problems.append(Problem(_field(entry.where, "room"), _("No room here is called “%(room)s”; known: %(known)s.") % {
                "room": entry.room, "known": ", ".join(sorted({place.name for place in places.values()}))}))
        if len(entry.title) > TITLE_LENGTH:
            problems.append(Problem(_field(entry.where, "title"), _("The title is longer than %(count)s characters.") % {"count": TITLE_LENGTH}))
        if entry.start.astimezone(local_zone).date() != conference.date:
            problems.append(Problem(_field(entry.where, "date"), _("%(date)s is not the conference's day (%(day)s).") % {
                "date": entry.start.astimezone(local_zone).date().isoformat(), "day": conference.date.isoformat()}))
        for name in entry.persons:
            if len(name) > NAME_LENGTH:
                problems.append(Problem(_field(entry.where, "persons"), _("A name is longer than %(count)s characters.") % {"count": NAME_LENGTH}))
    ordered = sorted(entries, key=lambda e: e.start)
    for before, after in zip(ordered, ordered[1:]):
        # One thing at a time: the day's state machine has one live item.
        if after.start < before.end:
            problems.append(Problem(after.where, _("overlaps “%(other)s” (%(where)s); Plenum runs one item at a time.") % {
                "other": before.title, "where": before.where}))
    if problems:
        raise ScheduleError(problems)
    with transaction.atomic():
        Conference.objects.select_for_update().filter(pk=conference.pk).first()
        if AgendaItem.objects.filter(conference=conference).exclude(state=ItemState.SCHEDULED).exists():
            raise ScheduleError([Problem("", _("The day has begun; its programme can no longer be replaced."))])
        people = {}
        for person in Person.objects.filter(conference=conference).order_by("pk"):
            people.setdefault(person.display_name.lower(), person)
        AgendaItem.objects.filter(conference=conference).delete()
        items = []
        for order, entry in enumerate(ordered, start=1):
            place = places[entry.room.lower()]
            item = AgendaItem.objects.create(
                conference=conference, order=order, title=entry.title, description=entry.description,
                phase=place.phase, room_id=place.room_id, planned_start=entry.start, planned_end=entry.end,
            )
            for name in entry.persons:
                person = people.get(name.lower())
                if person is None:
                    person = people[name.lower()] = Person.objects.create(
                        conference=conference, display_name=name, role=Role.SPEAKER)
                # One at a time: the order of the speakers is the programme's.
                item.speakers.add(person)
            items.append(item)
        version.bump(conference.pk)
        transaction.on_commit(lambda: signals.day_changed.send(sender=AgendaItem, conference_id=conference.pk))
    return items


# -- exporting -----------------------------------------------------------------------------------


def guid(item):
    return str(uuid.uuid5(GUID_NAMESPACE, f"{item.conference.slug}/{item.pk}"))


def person_guid(person):
    return str(uuid.uuid5(GUID_NAMESPACE, f"person/{person.conference_id}/{person.pk}"))


def acronym(conference):
    # The schema wants [a-z0-9_], at least four characters.
    return (re.sub(r"[^a-z0-9_]", "_", conference.slug.lower()) + "____")[: max(4, len(conference.slug))]


def _items(conference):
    return AgendaItem.with_speakers(list(AgendaItem.objects.filter(conference=conference).order_by("planned_start", "order")))


def _hhmm(delta):
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _event_slug(conference, item):
    rest = slugify(item.title).replace("-", "_")[:50].strip("_") or "item"
    return f"{acronym(conference)}-{item.pk}-{rest}"


def _day_bounds(conference, items):
    local_zone = zone()
    if items:
        return min(i.planned_start for i in items).astimezone(local_zone), max(i.planned_end for i in items).astimezone(local_zone)
    start = datetime.datetime.combine(conference.date, datetime.time(0), tzinfo=local_zone)
    return start, start + datetime.timedelta(days=1)


def as_frab_json(conference, room_name, base_url, generator_version="0.1.0"):
    """The day as a frab schedule (c3voc's schema.json). `room_name(item)` names an item's room."""
    local_zone = zone()
    items = _items(conference)
    rooms = {}
    for item in items:
        rooms.setdefault(room_name(item), []).append(_json_event(conference, item, room_name(item), base_url, local_zone))
    day_start, day_end = _day_bounds(conference, items)
    return {
        "$schema": "https://c3voc.de/schedule/schema.json",
        "generator": {"name": "Plenum", "version": generator_version},
        "schedule": {
            "version": str(conference.state_version),
            "base_url": base_url.rstrip("/") + "/",
            "conference": {
                "acronym": acronym(conference),
                "title": conference.title,
                "start": conference.date.isoformat(),
                "end": conference.date.isoformat(),
                "daysCount": 1,
                "timeslot_duration": "00:05",
                "time_zone_name": settings.TIME_ZONE,
                "rooms": [{"name": name, "guid": str(uuid.uuid5(GUID_NAMESPACE, f"room/{conference.slug}/{name}"))}
                          for name in rooms],
                "days": [{
                    "index": 1,
                    "date": conference.date.isoformat(),
                    "day_start": day_start.isoformat(),
                    "day_end": day_end.isoformat(),
                    "rooms": rooms,
                }],
            },
        },
    }


def _json_event(conference, item, room, base_url, local_zone):
    start = item.planned_start.astimezone(local_zone)
    return {
        "guid": guid(item),
        "id": item.pk,
        "date": start.isoformat(),
        "start": start.strftime("%H:%M"),
        "end": item.planned_end.astimezone(local_zone).isoformat(),
        "duration": _hhmm(item.planned_end - item.planned_start),
        "room": room,
        "slug": _event_slug(conference, item),
        "url": f"{base_url.rstrip('/')}/venue/#item-{item.pk}",
        "title": item.title,
        "subtitle": "",
        "track": str(item.get_phase_display()),
        "type": EVENT_TYPES.get(item.phase, "other"),
        "language": settings.LANGUAGE_CODE,
        "abstract": "",
        "description": item.description,
        "persons": [{"name": p.display_name, "guid": person_guid(p)} for p in item.speaker_list],
        "links": [],
    }


def as_frab_xml(conference, room_name, base_url, generator_version="0.1.0"):
    """The day as a frab schedule.xml (c3voc's schedule.xml.xsd)."""
    document = as_frab_json(conference, room_name, base_url, generator_version)["schedule"]
    meta = document["conference"]
    root = etree.Element("schedule")
    etree.SubElement(root, "generator", name="Plenum", version=generator_version)
    etree.SubElement(root, "version").text = document["version"]
    head = etree.SubElement(root, "conference")
    for key, value in (("title", meta["title"]), ("acronym", meta["acronym"]), ("start", meta["start"]),
                       ("end", meta["end"]), ("days", "1"), ("timeslot_duration", meta["timeslot_duration"]),
                       ("base_url", document["base_url"]), ("time_zone_name", meta["time_zone_name"])):
        etree.SubElement(head, key).text = value
    for day in meta["days"]:
        day_element = etree.SubElement(root, "day", index=str(day["index"]), date=day["date"],
                                       start=day["day_start"], end=day["day_end"])
        for room, events in day["rooms"].items():
            room_element = etree.SubElement(day_element, "room", name=room)
            for event in events:
                element = etree.SubElement(room_element, "event", id=str(event["id"]), guid=event["guid"])
                for key in ("date", "start", "duration", "room", "slug", "url", "title", "subtitle", "track", "type",
                            "language", "abstract", "description"):
                    etree.SubElement(element, key).text = event[key]
                persons = etree.SubElement(element, "persons")
                for person in event["persons"]:
                    etree.SubElement(persons, "person", guid=person["guid"]).text = person["name"]
                etree.SubElement(element, "links")
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)


def as_ical(conference, room_name, base_url):
    """The programme as iCalendar: one event per item, in the conference's time zone."""
    local_zone = zone()
    calendar = Calendar()
    calendar.add("prodid", "-//Plenum//Programme//DE")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", conference.title)
    calendar.add("x-wr-timezone", settings.TIME_ZONE)
    stamp = timezone.now()
    for item in _items(conference):
        event = Event()
        event.add("uid", f"{guid(item)}@plenum")
        event.add("dtstamp", stamp)
        event.add("dtstart", item.planned_start.astimezone(local_zone))
        event.add("dtend", item.planned_end.astimezone(local_zone))
        event.add("summary", item.title)
        speakers = ", ".join(p.display_name for p in item.speaker_list)
        event.add("description", "\n\n".join(part for part in (speakers, item.description) if part))
        event.add("location", room_name(item))
        event.add("url", f"{base_url.rstrip('/')}/venue/#item-{item.pk}")
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()
