"""Personal invitations: an organizer uploads a table of participants, each gets exactly one mail
(through a real SMTP server) with a link that signs them in; a bad row is reported by its line
and costs nothing else; a revoked link is refused."""

import io
import re

import pytest
from django.test import Client, override_settings
from openpyxl import Workbook

from rooms.models import ForumChoice, Room, RoomKind
from tests.support.clients import signed_in_as, someone
from tests.support.servers import SmtpServer
from venue.models import Person, Role

LINK = re.compile(r"http://testserver(/p/[A-Za-z0-9_-]+/)")


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    try:
        with override_settings(**server.settings()):
            yield server
    finally:
        server.stop()


@pytest.fixture
def organizer(conference):
    return signed_in_as(someone(conference, Role.ORGANIZER))


def upload(client, name, data):
    return client.post("/organizer/people/", {"table": _file(name, data)})


def _file(name, data):
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def link_in(message):
    return LINK.search(message.get_content()).group(1)


def test_each_person_of_the_table_gets_one_mail_whose_link_signs_them_in(conference, organizer, smtp):
    # As German Excel saves it: Windows-1252, semicolons.
    table = (
        "Name;E-Mail;Rolle;Forum;Organisation\r\n"
        "Jürgen Weiß;juergen@example.org;Teilnehmende*r;2;Stadt Köln\r\n"
        "Kein Mensch;nicht-eine-adresse;;;\r\n"
        "Zoë Martin;ayse@example.org;speaker;;\r\n"
        "Falsches Forum;falsch@example.org;;Forum 99;\r\n"
        "\r\n"
        "Lena Krause;lena@example.org;;;\r\n"
        "Lena Doppelt;LENA@example.org;;;\r\n"
    ).encode("cp1252", errors="replace")
    before = Person.objects.count()
    page = upload(organizer, "teilnehmende.csv", table).content.decode()

    assert '<tr data-line="3">' in page and "nicht-eine-adresse" in page
    assert '<tr data-line="5">' in page and "Forum 99" in page
    assert '<tr data-line="8">' in page  # the same address twice
    assert Person.objects.count() == before + 3
    juergen = Person.objects.get(email="juergen@example.org")
    assert juergen.display_name == "Jürgen Weiß" and juergen.organization == "Stadt Köln" and juergen.role == Role.PARTICIPANT
    forum_two = Room.objects.get(conference=conference, kind=RoomKind.FORUM, order=2)
    assert list(ForumChoice.objects.filter(person=juergen).values_list("room", "rank")) == [(forum_two.pk, 1)]
    assert Person.objects.get(email="ayse@example.org").role == Role.SPEAKER

    assert sorted(m["To"] for m in smtp.messages) == ["ayse@example.org", "juergen@example.org", "lena@example.org"]
    mail = smtp.to("juergen@example.org")[0]
    assert "Jürgen Weiß" in mail.get_content() and conference.title in mail["Subject"]
    # Each link is that person's own, and it signs them in.
    links = {m["To"]: link_in(m) for m in smtp.messages}
    assert len(set(links.values())) == 3
    juergen_browser = Client()
    assert juergen_browser.get(links["juergen@example.org"]).status_code == 302
    assert "Jürgen Weiß" in juergen_browser.get("/venue/").content.decode()
    # The organizer's list shows every person with role and personal link; the mails went out.
    people = organizer.get("/organizer/").content.decode()
    assert links["lena@example.org"] in people and "Zoë Martin" in people
    assert Person.objects.filter(invited_at__isnull=False).count() == 3

    # Revoked: the link is refused and the open session ends.
    organizer.post(f"/organizer/people/{juergen.pk}/revoke/")
    assert Client().get(links["juergen@example.org"]).status_code == 404
    assert juergen_browser.get("/venue/").status_code == 403
    # A revoked person gets no mail; another gets theirs again, exactly one more.
    organizer.post(f"/organizer/people/{juergen.pk}/invite/")
    ayse = Person.objects.get(email="ayse@example.org")
    organizer.post(f"/organizer/people/{ayse.pk}/invite/")
    assert len(smtp.to("juergen@example.org")) == 1 and len(smtp.to("ayse@example.org")) == 2
    assert link_in(smtp.to("ayse@example.org")[1]) == links["ayse@example.org"]


def test_a_workbook_works_too_and_a_broken_file_changes_nothing(conference, organizer, smtp):
    book = Workbook()
    sheet = book.active
    sheet.append(["Name", "E-Mail", "Role"])
    sheet.append(["Piet de Vries", "piet@example.org", "Forum facilitator"])
    sheet.append(["=cmd|' /C calc'!A0", "no-mail", None])
    data = io.BytesIO()
    book.save(data)
    page = upload(organizer, "people.xlsx", data.getvalue()).content.decode()
    assert '<tr data-line="3">' in page
    assert Person.objects.get(email="piet@example.org").role == Role.FACILITATOR
    assert [m["To"] for m in smtp.messages] == ["piet@example.org"]

    before = Person.objects.count()
    for name, broken in (("x.xlsx", b"PK\x03\x04 not a zip"), ("x.csv", b"Vorname;Nachname\r\nA;B\r\n"), ("x.csv", b"")):
        response = upload(organizer, name, broken)
        assert response.status_code == 400 and 'role="alert"' in response.content.decode()
    assert Person.objects.count() == before and len(smtp.messages) == 1


def test_only_organizers_invite_and_revoke(conference, participants, smtp):
    alice = signed_in_as(participants[0])
    assert upload(alice, "x.csv", b"Name;E-Mail\r\nX;x@example.org\r\n").status_code == 403
    assert alice.post(f"/organizer/people/{participants[1].pk}/revoke/").status_code == 403
    assert alice.post(f"/organizer/people/{participants[1].pk}/invite/").status_code == 403
    assert not smtp.messages and Person.objects.get(pk=participants[1].pk).revoked_at is None
