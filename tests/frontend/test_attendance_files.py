"""The attendance files an organizer downloads (XLSX, CSV for German Excel, the raw joins and
leaves) say what the attendance page says, on a day with reconnects inside and outside the grace
period."""

import csv
import datetime
import io
import re

import pytest
from django.test import override_settings
from openpyxl import load_workbook

from agenda.models import AgendaItem
from rooms.models import Connection
from tests.support.clients import signed_in_as, someone
from tests.support.day import at, ran
from venue.models import Role


@pytest.fixture
def day(conference, participants):
    """Welcome 0–20, talk 20–40 (minutes after T0); three people with their sockets."""
    welcome, talk = list(AgendaItem.objects.filter(conference=conference).order_by("order"))[:2]
    ran((welcome, 0), (talk, 20))
    alice, bob, carla = participants[:3]
    # Alice's page reloads after 50 s (inside the grace period), later she is gone for 6 minutes.
    Connection.objects.create(person=alice, process="p", opened_at=at(0), closed_at=at(10))
    Connection.objects.create(person=alice, process="p", opened_at=at(10, 50), closed_at=at(25))
    Connection.objects.create(person=alice, process="p", opened_at=at(31), closed_at=at(40))
    # Bob loses two minutes (outside the grace period).
    Connection.objects.create(person=bob, process="p", opened_at=at(5), closed_at=at(15))
    Connection.objects.create(person=bob, process="p", opened_at=at(17), closed_at=at(19))
    # Carla has two tabs open.
    Connection.objects.create(person=carla, process="p", opened_at=at(22), closed_at=at(30))
    Connection.objects.create(person=carla, process="p", opened_at=at(24), closed_at=at(38))
    return {"welcome": welcome, "talk": talk, "people": (alice, bob, carla),
            "organizer": signed_in_as(someone(conference, Role.ORGANIZER))}


def page_figures(page):
    def cells(name):
        # German pages write decimals with a comma.
        return {int(k): v.replace(",", ".") for k, v in re.findall(rf'data-{name}="(\d+)">([\d,.]+)<', page)}
    return {"minutes": {k: int(v) for k, v in cells("minutes").items()},
            "present": {k: int(v) for k, v in cells("present").items()},
            "peak": {k: int(v) for k, v in cells("peak").items()},
            "average": {k: float(v) for k, v in cells("average").items()}}


def read_csv(response):
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff"), "German Excel needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def test_the_files_say_what_the_page_says_and_a_short_drop_counts_as_staying(day):
    welcome, talk = day["welcome"], day["talk"]
    alice, bob, carla = day["people"]
    organizer = day["organizer"]
    page = organizer.get("/organizer/attendance/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    figures = page_figures(page)
    # Alice: 0–25 (the 50 s drop counts as staying) and 31–40; Bob: 5–15 and 17–19; Carla: 22–38.
    assert figures["minutes"] == {alice.pk: 34, bob.pk: 12, carla.pk: 16}
    assert figures["present"] == {welcome.pk: 2, talk.pk: 2}
    assert figures["peak"] == {welcome.pk: 2, talk.pk: 2}
    assert figures["average"] == {welcome.pk: 1.6, talk.pk: 1.5}
    # The headers in German, each in its own sense.
    assert "Anwesend" in page and "Präsentieren" not in page and ">Bis<" in page and ">An<" not in page

    book = load_workbook(io.BytesIO(organizer.get("/organizer/attendance.xlsx").content))
    assert book.sheetnames == ["Personen", "Programmpunkte"]
    people = list(book["Personen"].iter_rows(values_only=True))
    header = people[0]
    assert header[:6] == ("Name", "Organisation", "Rolle", "Zuerst da", "Zuletzt da", "Minuten anwesend")
    by_name = {row[0]: row for row in people[1:]}
    for person in (alice, bob, carla):
        row = by_name[person.display_name]
        assert row[2] == "Teilnehmende*r"
        assert row[5] == figures["minutes"][person.pk]
    # Local times on the conference's clock, not UTC.
    assert by_name[alice.display_name][3] == datetime.datetime(2021, 11, 29, 10, 30)
    assert by_name[alice.display_name][4] == datetime.datetime(2021, 11, 29, 11, 10)
    assert by_name[alice.display_name][6:8] == (20, 14)
    items = list(book["Programmpunkte"].iter_rows(values_only=True))
    assert items[0][:5] == ("Nr.", "Programmpunkt", "Beginn", "Ende", "Anwesend")
    for row, item in zip(items[1:], (welcome, talk)):
        assert row[1] == item.title
        assert row[4:] == (figures["present"][item.pk], figures["peak"][item.pk], figures["average"][item.pk])

    rows = read_csv(organizer.get("/organizer/attendance.csv"))
    assert rows[0][:6] == list(header[:6])
    csv_people = {row[0]: row for row in rows[1:]}
    for person in (alice, bob, carla):
        assert int(csv_people[person.display_name][5]) == figures["minutes"][person.pk]
    assert csv_people[alice.display_name][3:5] == ["29.11.2021 10:30:00", "29.11.2021 11:10:00"]
    csv_items = read_csv(organizer.get("/organizer/attendance-items.csv"))[1:]
    assert [(int(r[4]), int(r[5]), float(r[6].replace(",", "."))) for r in csv_items] == [
        (figures["present"][i.pk], figures["peak"][i.pk], figures["average"][i.pk]) for i in (welcome, talk)]
    csv_events = read_csv(organizer.get("/organizer/attendance-events.csv"))[1:]
    assert len(csv_events) == 2 * Connection.objects.count()
    assert csv_events[0] == ["29.11.2021 10:30:00", alice.display_name, alice.get_role_display(), "betreten"]
    # Bob's two-minute gap is in the raw events as it happened.
    assert ["29.11.2021 10:45:00", bob.display_name, bob.get_role_display(), "verlassen"] in csv_events
    assert ["29.11.2021 10:47:00", bob.display_name, bob.get_role_display(), "betreten"] in csv_events
    assert organizer.get("/organizer/attendance-secrets.csv").status_code == 404


def test_the_grace_period_is_a_setting_and_the_files_follow_it(day):
    alice = day["people"][0]
    with override_settings(PLENUM_ATTENDANCE_GRACE_SECONDS=0):
        figures = page_figures(day["organizer"].get("/organizer/attendance/").content.decode())
        rows = read_csv(day["organizer"].get("/organizer/attendance.csv"))
    # Without grace, Alice's 50 seconds away are not counted: 10 + 14 1/6 + 9 minutes.
    assert figures["minutes"][alice.pk] == 33
    assert int(next(r for r in rows if r[0] == alice.display_name)[5]) == 33


def test_participants_get_no_attendance_files(day):
    participant = signed_in_as(day["people"][0])
    for url in ("/organizer/attendance.xlsx", "/organizer/attendance.csv", "/organizer/attendance-events.csv"):
        assert participant.get(url).status_code == 403
