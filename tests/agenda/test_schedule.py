"""The programme in and out in the frab schedule format: a pretalx export imported and exported
again is the same programme, the exports validate against c3voc's schema and XSD, and a file
that cannot be mapped is refused whole with where and why."""

import copy
import datetime
import io
import json
from pathlib import Path

import jsonschema
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation
from lxml import etree

from agenda import schedule
from agenda.models import AgendaItem, ItemState, Phase
from frontend import schedule as programme
from venue.models import Person

SCHEMAS = Path(__file__).parent / "schedule_schema"
BASE = "https://plenum.example.org/"


@pytest.fixture(scope="module")
def json_schema():
    return json.loads((SCHEMAS / "schema.json").read_text())


@pytest.fixture(scope="module")
def xsd():
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "schedule.xml.xsd")))


def event(number, start, minutes, room, title, persons=(), **extra):
    return {"id": number, "guid": f"00000000-0000-4000-8000-{number:012d}", "code": f"ABC{number:03d}",
            "date": start, "start": start[11:16], "duration": f"{minutes // 60:02d}:{minutes % 60:02d}",
            "room": room, "slug": f"demo-{number}", "url": f"https://pretalx.example.org/demo/talk/ABC{number:03d}/",
            "title": title, "subtitle": "", "track": None, "type": "Talk", "language": "de",
            "abstract": f"Kurzfassung {number}", "description": f"Beschreibung {number}",
            "persons": [{"code": f"P{n}", "name": name, "biography": None} for n, name in enumerate(persons)],
            "links": [], "attachments": [], **extra}


def pretalx_export():
    """As pretalx exports a one-day event (schedule/export/schedule.json), in the demo's rooms."""
    return {"$schema": "https://c3voc.de/schedule/schema.json",
            "generator": {"name": "pretalx", "version": "2025.1.0"},
            "schedule": {"version": "1.0", "base_url": "https://pretalx.example.org/demo/",
                         "conference": {"acronym": "demo", "title": "Demo", "start": "2021-11-29", "end": "2021-11-29",
                                        "daysCount": 1, "timeslot_duration": "00:05", "time_zone_name": "Europe/Berlin",
                                        "rooms": [], "days": [{"index": 1, "date": "2021-11-29",
                                                               "day_start": "2021-11-29T04:00:00+01:00",
                                                               "day_end": "2021-11-30T03:59:00+01:00", "rooms": {
            "Plenum": [
                event(1, "2021-11-29T09:00:00+01:00", 20, "Plenum", "Eröffnung", ["Janine Mehner"]),
                event(2, "2021-11-29T09:20:00+01:00", 40, "Plenum", "Vortrag: Kommunale Integrationszentren",
                      ["Dr. Ada Neu", "Janine Mehner"]),
                event(5, "2021-11-29T13:00:00+01:00", 30, "Plenum", "Berichte aus den Foren"),
            ],
            "Stehtisch-Lounge": [event(3, "2021-11-29T10:00:00+01:00", 60, "Stehtisch-Lounge", "Mittagspause")],
            "Fachforen": [event(4, "2021-11-29T11:00:00+01:00", 120, "Fachforen", "Sechs Foren parallel")],
        }}]}}}


def encoded(document):
    return json.dumps(document, ensure_ascii=False, indent=1).encode()


def programme_of(entries):
    return sorted((e.title, e.start, e.end, e.room, tuple(e.persons)) for e in entries)


def snapshot(conference):
    return (list(AgendaItem.objects.filter(conference=conference).values_list("order", "title", "planned_start", "room_id")),
            Person.objects.count())


def test_a_pretalx_export_imported_and_exported_again_is_the_same_programme(conference, json_schema, xsd):
    source = pretalx_export()
    jsonschema.validate(source, json_schema)  # the test's own input is what pretalx would send
    items = programme.import_file(conference, encoded(source))

    assert [i.title for i in items] == ["Eröffnung", "Vortrag: Kommunale Integrationszentren", "Mittagspause",
                                        "Sechs Foren parallel", "Berichte aus den Foren"]
    assert [i.phase for i in items] == [Phase.PLENARY, Phase.PLENARY, Phase.BREAK, Phase.FORUMS, Phase.PLENARY]
    assert items[3].room_id is None and items[2].room.slug == "lounge"
    talk = AgendaItem.objects.get(pk=items[1].pk)
    # A known person is found by name, a new one becomes a speaker; the order is the programme's.
    assert [p.display_name for p in talk.speaker_list] == ["Dr. Ada Neu", "Janine Mehner"]
    assert talk.speaker_list[0].role == "speaker" and Person.objects.filter(display_name="Janine Mehner").count() == 1
    assert talk.planned_start == datetime.datetime(2021, 11, 29, 8, 20, tzinfo=datetime.timezone.utc)

    exported = json.loads(programme.export(conference, "json", BASE))
    jsonschema.validate(exported, json_schema, format_checker=jsonschema.FormatChecker())
    assert programme_of(schedule.parse(encoded(exported))) == programme_of(schedule.parse(encoded(source)))

    xml = programme.export(conference, "xml", BASE)
    document = etree.fromstring(xml)
    assert xsd.validate(document), xsd.error_log
    assert programme_of(schedule.parse(xml)) == programme_of(schedule.parse(encoded(source)))
    # The XML, imported, gives the same day again.
    programme.import_file(conference, xml)
    assert programme_of(schedule.parse(programme.export(conference, "json", BASE))) == programme_of(schedule.parse(encoded(source)))


def test_the_demo_day_exports_valid_json_and_xml(conference, json_schema, xsd):
    exported = json.loads(programme.export(conference, "json", BASE))
    jsonschema.validate(exported, json_schema, format_checker=jsonschema.FormatChecker())
    rooms = exported["schedule"]["conference"]["days"][0]["rooms"]
    assert set(rooms) == {"Plenum", "Stehtisch-Lounge", "Fachforen"}
    assert sum(len(events) for events in rooms.values()) == AgendaItem.objects.filter(conference=conference).count()
    assert xsd.validate(etree.fromstring(programme.export(conference, "xml", BASE))), xsd.error_log


def broken_files():
    unknown_room = pretalx_export()
    days = unknown_room["schedule"]["conference"]["days"]
    days[0]["rooms"]["Saal Zuse"] = [event(9, "2021-11-29T15:00:00+01:00", 30, "Saal Zuse", "Anderswo")]
    overlapping = pretalx_export()
    overlapping["schedule"]["conference"]["days"][0]["rooms"]["Plenum"][1]["date"] = "2021-11-29T09:10:00+01:00"
    wrong_day = pretalx_export()
    wrong_day["schedule"]["conference"]["days"][0]["rooms"]["Plenum"][2]["date"] = "2021-11-30T13:00:00+01:00"
    no_title = copy.deepcopy(pretalx_export())
    no_title["schedule"]["conference"]["days"][0]["rooms"]["Plenum"][0]["title"] = ""
    bad_duration = pretalx_export()
    bad_duration["schedule"]["conference"]["days"][0]["rooms"]["Plenum"][0]["duration"] = "eine Stunde"
    return [
        (b'{"schedule": {"conference": {"days": [\n  {"rooms": }\n]}}}', "line 2"),
        (encoded(unknown_room), 'rooms["Saal Zuse"][0].room'),
        (encoded(overlapping), 'rooms["Plenum"][1]'),
        (encoded(wrong_day), 'rooms["Plenum"][2].date'),
        (encoded(no_title), 'rooms["Plenum"][0].title'),
        (encoded(bad_duration), 'rooms["Plenum"][0].duration'),
        (b"<?xml version='1.0'?>\n<!DOCTYPE s [<!ENTITY x 'y'>]>\n<schedule/>", "line"),
        (b"<schedule><version>1</version>\n<day index='1' date='2021-11-29' start='x' end='y'>\n<room name='Plenum'>\n"
         b"<event id='1' guid='g'><date>2021-11-29T09:00:00+01:00</date><duration>00:30</duration></event>"
         b"</room></day></schedule>", "line 4, <title>"),
        (b"<schedule><unclosed></schedule>", "line 1"),
        (b"Name;E-Mail", ""),
    ]


@pytest.mark.parametrize("data, where", broken_files())
def test_a_file_that_cannot_be_mapped_is_refused_whole_with_where_and_why(conference, data, where):
    before = snapshot(conference)
    with translation.override("en"), pytest.raises(schedule.ScheduleError) as refused:
        programme.import_file(conference, data)
    assert any(where in problem.where for problem in refused.value.problems), refused.value.problems
    assert snapshot(conference) == before


def test_a_day_that_has_begun_keeps_its_programme(conference):
    first = AgendaItem.objects.filter(conference=conference).order_by("order").first()
    first.state = ItemState.DONE
    first.save()
    before = snapshot(conference)
    with pytest.raises(schedule.ScheduleError):
        programme.import_file(conference, encoded(pretalx_export()))
    assert snapshot(conference) == before


def test_the_command_imports_and_exports(conference, tmp_path, json_schema):
    source = tmp_path / "pretalx.json"
    source.write_bytes(encoded(pretalx_export()))
    out = io.StringIO()
    call_command("plenum_schedule", "import", conference.slug, str(source), stdout=out)
    assert "5 items" in out.getvalue()
    target = tmp_path / "out.json"
    call_command("plenum_schedule", "export", conference.slug, str(target), "--format", "json")
    jsonschema.validate(json.loads(target.read_bytes()), json_schema)
    broken = tmp_path / "broken.json"
    broken.write_bytes(b"{")
    with pytest.raises(CommandError, match="unchanged"):
        call_command("plenum_schedule", "import", conference.slug, str(broken))
