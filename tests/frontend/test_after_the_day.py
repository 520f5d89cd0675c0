"""After the day: the organizers review attendance and publish the documentation with downloads."""

import datetime

from django.core.files.base import ContentFile
from django.test import Client

from agenda.models import AgendaItem
from rooms.models import (
    Connection,
    Poll,
    PollOption,
    PollState,
    PollVote,
    Question,
    QuestionState,
    ResultVersion,
    Room,
    RoomKind,
    Upload,
)
from tests.support.clients import signed_in_as, someone
from tests.support.day import at, ran
from venue.models import Role


def run_items(conference):
    items = list(AgendaItem.objects.filter(conference=conference).order_by("order"))
    ran((items[0], 0), (items[1], 20))
    return items


def test_attendance_counts_each_person_once_per_item_and_exports_safely(conference, participants):
    welcome, talk = run_items(conference)[:2]
    alice, bob = participants[:2]
    bob.display_name = "=HYPERLINK(\"http://evil\")"
    bob.organization = "<script>alert('Amt')</script>"
    bob.save()
    # Alice: two tabs overlapping through the welcome, then back for the talk's last 5 minutes.
    Connection.objects.create(person=alice, process="p", opened_at=at(0), closed_at=at(15))
    Connection.objects.create(person=alice, process="p", opened_at=at(5), closed_at=at(18))
    Connection.objects.create(person=alice, process="p", opened_at=at(35), closed_at=at(40))
    Connection.objects.create(person=bob, process="p", opened_at=at(25), closed_at=at(30))

    organizer = signed_in_as(someone(conference, Role.ORGANIZER))
    page = organizer.get("/organizer/attendance/").content.decode()
    assert f'data-present="{welcome.pk}">1<' in page and f'data-present="{talk.pk}">2<' in page
    # The people's table is built without the template engine: still escaped, times in Berlin.
    assert "<script>alert" not in page and "(&lt;script&gt;alert(&#x27;Amt&#x27;)&lt;/script&gt;)" in page
    assert f'<th scope="row">Miriam Hoffmann <span class="muted">(Integrationsrat Erkelenz)</span></th><td>Teilnehmende*r</td><td>10:30</td><td>11:10</td><td data-minutes="{alice.pk}">23</td>' in page
    csv = organizer.get("/organizer/attendance.csv")
    assert csv["Content-Type"].startswith("text/csv")
    lines = csv.content.decode().splitlines()
    alice_row = next(line for line in lines if line.startswith("Miriam Hoffmann"))
    # 18 minutes of the welcome (two tabs count once) plus 5 of the talk; 23 minutes in all.
    assert alice_row.endswith(";23;18;5")
    assert any(line.startswith("\"'=HYPERLINK") for line in lines)
    assert signed_in_as(alice).get("/organizer/attendance/").status_code == 403


def test_someone_who_was_there_for_half_a_minute_of_an_item_counts_as_present(conference, participants):
    welcome, talk = run_items(conference)[:2]
    alice = participants[0]
    # The last 20 seconds of the welcome: 0 minutes when rounded, but she was there.
    Connection.objects.create(person=alice, process="p", opened_at=at(20) - datetime.timedelta(seconds=20), closed_at=at(20))

    page = signed_in_as(someone(conference, Role.ORGANIZER)).get("/organizer/attendance/").content.decode()
    assert f'data-present="{welcome.pk}">1<' in page and f'data-present="{talk.pk}">0<' in page


def test_the_documentation_is_published_with_questions_polls_forum_results_and_downloads(conference, participants):
    welcome, talk = run_items(conference)[:2]
    alice, bob = participants[:2]
    Question.objects.create(item=talk, author=alice, text="Wie geht es mit dem KIM weiter?", votes=7, state=QuestionState.ANSWERED)
    Question.objects.create(item=talk, author=bob, text="Eine anonyme Frage", anonymous=True, votes=2)
    Question.objects.create(item=talk, author=bob, text="Ausgeblendete Beleidigung", state=QuestionState.HIDDEN)
    poll = Poll.objects.create(conference=conference, item=talk, question="Wie beurteilen Sie den Tag?", state=PollState.REVEALED)
    good = PollOption.objects.create(poll=poll, text="gut", order=1)
    PollOption.objects.create(poll=poll, text="schlecht", order=2)
    PollVote.objects.create(poll=poll, option=good, person=alice)
    forum = Room.objects.filter(conference=conference, kind=RoomKind.FORUM).order_by("order").first()
    ResultVersion.objects.create(room=forum, number=1, content={"sections": [
        {"key": "finding", "entries": ["Mehrsprachigkeit ist eine Ressource"]},
        {"key": "proposal", "entries": []}, {"key": "question", "entries": []}]})
    upload = Upload(room=forum, kind="pdf", title="Graphic Recording Forum 1", size=9)
    upload.file.save("doc.pdf", ContentFile(b"%PDF-1.4\n"), save=False)
    upload.save()

    anonymous = Client()
    assert anonymous.get(f"/documentation/{conference.slug}/").status_code == 404
    assert anonymous.get(f"/documentation/{conference.slug}/materials/{upload.pk}/").status_code == 404
    organizer = signed_in_as(someone(conference, Role.ORGANIZER))
    assert "Vorschau" in organizer.get(f"/documentation/{conference.slug}/").content.decode()
    assert signed_in_as(alice).post("/organizer/documentation/", {"publish": "1"}).status_code == 403
    organizer.post("/organizer/documentation/", {"publish": "1", "intro": "Danke an alle!"})

    page = anonymous.get(f"/documentation/{conference.slug}/").content.decode()
    assert "Danke an alle!" in page and "Integrationspolitik des Landes NRW" in page
    assert "Wie geht es mit dem KIM weiter?" in page and "Miriam Hoffmann" in page
    assert "Eine anonyme Frage" in page and "Anonym" in page
    # Bob asked anonymously (and his other question was hidden): the page never names him.
    assert bob.display_name not in page
    assert "Ausgeblendete Beleidigung" not in page
    assert "Wie beurteilen Sie den Tag?" in page and "1 (100%)" in page
    assert "Mehrsprachigkeit ist eine Ressource" in page and "Zentrale Erkenntnisse" in page
    download = anonymous.get(f"/documentation/{conference.slug}/materials/{upload.pk}/")
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert "attachment" in download["Content-Disposition"]
    organizer.post("/organizer/documentation/", {"publish": "0"})
    assert anonymous.get(f"/documentation/{conference.slug}/").status_code == 404


def test_the_sockets_of_a_process_that_died_count_until_its_last_heartbeat(conference, participants):
    from django.utils import timezone

    from rooms import presence
    from rooms.models import Process

    run_items(conference)
    alice, bob, carla = participants[:3]
    # A daphne process crashed ten minutes into the welcome; another one is alive.
    Process.objects.create(name="web-1-crashed", last_seen=at(10))
    Process.objects.create(name="web-2", last_seen=timezone.now())
    Connection.objects.create(person=alice, process="web-1-crashed", opened_at=at(0))
    Connection.objects.create(person=bob, process="web-1-crashed", opened_at=at(12))  # after its last beat
    Connection.objects.create(person=carla, process="web-2", opened_at=at(0))

    assert presence.reap(keep="web-2") == 2
    closed = dict(Connection.objects.values_list("person_id", "closed_at"))
    assert closed == {alice.pk: at(10), bob.pk: at(12), carla.pk: None}
    assert list(Process.objects.values_list("name", flat=True)) == ["web-2"]
    assert presence.reap(keep="web-2") == 0

    organizer = signed_in_as(someone(conference, Role.ORGANIZER))
    lines = organizer.get("/organizer/attendance.csv").content.decode().splitlines()
    # Alice is counted for the ten minutes her process was known to be alive, not until now.
    assert next(line for line in lines if line.startswith(alice.display_name)).endswith(";10;10;0")
