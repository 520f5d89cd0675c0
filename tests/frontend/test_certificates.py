"""Certificates of attendance and the documentation as PDF, read back as text: the right names,
minutes, items and results; only for those who were there long enough, and only after the day."""

import io
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

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
from tests.support.documents import pdf_pages, pdf_text, png_image
from venue.models import Role


@pytest.fixture
def day(conference, participants):
    """Welcome and talk have run; Alice 34 minutes, Bob 12, Carla 16; the organizers' settings."""
    welcome, talk = list(AgendaItem.objects.filter(conference=conference).order_by("order"))[:2]
    ran((welcome, 0), (talk, 20))
    alice, bob, carla = participants[:3]
    for person, start, end in ((alice, 0, 25), (alice, 31, 40), (bob, 5, 17), (carla, 22, 38)):
        Connection.objects.create(person=person, process="p", opened_at=at(start), closed_at=at(end))
    organizer = signed_in_as(someone(conference, Role.ORGANIZER))
    signature = io.BytesIO(png_image())
    signature.name = "unterschrift.png"
    response = organizer.post("/organizer/settings/", {
        "certificate_minimum_minutes": "15", "certificate_signatory": "Dr. Hanna Schulz, Kreis Heinsberg",
        "certificate_signature": signature, "attendance_retention_days": "90"})
    assert response.status_code == 302
    return {"welcome": welcome, "talk": talk, "people": (alice, bob, carla), "organizer": organizer}


def test_certificates_go_to_those_present_long_enough_with_their_minutes_and_items(conference, day):
    alice, bob, carla = day["people"]
    archive = zipfile.ZipFile(io.BytesIO(day["organizer"].get("/organizer/certificates.zip").content))
    names = sorted(archive.namelist())
    assert len(names) == 2 and all(n.endswith(".pdf") for n in names)
    texts = {name: pdf_text(archive.read(name)) for name in names}
    alice_text = next(t for t in texts.values() if alice.display_name in t)
    carla_text = next(t for t in texts.values() if carla.display_name in t)
    assert not any(bob.display_name in t for t in texts.values())
    for text in (alice_text, carla_text):
        assert "Teilnahmebescheinigung" in text and "Dr. Hanna Schulz, Kreis Heinsberg" in text
        assert "Vielfalt leben im Kreis Heinsberg" in " ".join(text.split())
        assert "29. November 2021" in text
    assert "34 Minuten" in alice_text and day["welcome"].title in alice_text and day["talk"].title in " ".join(alice_text.split())
    assert "16 Minuten" in carla_text and day["welcome"].title not in carla_text
    # Each certificate is one page and carries the signature image.
    for name in names:
        assert [images for _text, images in pdf_pages(archive.read(name))] == [1]

    # One person's, for the organizers; none for someone below the minimum.
    one = day["organizer"].get(f"/organizer/certificates/{carla.pk}.pdf")
    assert one["Content-Type"] == "application/pdf" and carla.display_name in pdf_text(one.content)
    assert day["organizer"].get(f"/organizer/certificates/{bob.pk}.pdf").status_code == 404
    assert signed_in_as(alice).get("/organizer/certificates.zip").status_code == 403

    # Participants download their own from the venue, after the day.
    alice_browser = signed_in_as(alice)
    assert "/certificate.pdf" in alice_browser.get("/venue/").content.decode()
    own = alice_browser.get("/certificate.pdf")
    assert own.status_code == 200 and "34 Minuten" in pdf_text(own.content)
    bob_browser = signed_in_as(bob)
    assert "/certificate.pdf" not in bob_browser.get("/venue/").content.decode()
    assert bob_browser.get("/certificate.pdf").status_code == 404
    conference.date = timezone.localdate()
    conference.save()
    assert alice_browser.get("/certificate.pdf").status_code == 404  # the day is still going on


def test_many_certificates_render_in_two_processes_and_say_what_one_process_says(conference, day, settings):
    def certificates(processes):
        settings.PLENUM_CERTIFICATE_PROCESSES = processes
        settings.PLENUM_CERTIFICATE_PARALLEL_FROM = 2
        archive = zipfile.ZipFile(io.BytesIO(day["organizer"].get("/organizer/certificates.zip").content))
        return {name: pdf_pages(archive.read(name)) for name in archive.namelist()}

    alone, together = certificates(1), certificates(2)
    # The same files with the same text and the signature, each one page with its own fonts.
    assert alone == together and len(together) == 2
    for name, pages in together.items():
        assert len(pages) == 1 and pages[0][1] == 1 and "Teilnahmebescheinigung" in pages[0][0]


def test_a_signature_must_be_an_image(conference, day):
    fake = io.BytesIO(b"<html><script>alert(1)</script></html>")
    fake.name = "unterschrift.png"
    response = day["organizer"].post("/organizer/settings/", {"certificate_minimum_minutes": "15", "certificate_signature": fake})
    assert response.status_code == 400
    conference.refresh_from_db()
    assert conference.certificate_signature.name.endswith(".png")


def test_the_documentation_as_pdf_has_programme_questions_polls_results_pictures_and_downloads(conference, day):
    alice, bob, _carla = day["people"]
    talk = day["talk"]
    Question.objects.create(item=talk, author=alice, text="Wie geht es mit dem KIM weiter?", votes=7, state=QuestionState.ANSWERED)
    Question.objects.create(item=talk, author=bob, text="Ausgeblendete Beleidigung", state=QuestionState.HIDDEN)
    poll = Poll.objects.create(conference=conference, item=talk, question="Wie beurteilen Sie den Tag?", state=PollState.REVEALED)
    good = PollOption.objects.create(poll=poll, text="gut", order=1)
    PollOption.objects.create(poll=poll, text="schlecht", order=2)
    PollVote.objects.create(poll=poll, option=good, person=alice)
    forum = Room.objects.filter(conference=conference, kind=RoomKind.FORUM).order_by("order").first()
    ResultVersion.objects.create(room=forum, number=1, content={"sections": [
        {"key": "finding", "entries": ["Mehrsprachigkeit ist eine Ressource"]},
        {"key": "proposal", "entries": ["Sprachmittlerpool im Kreis aufbauen"]}, {"key": "question", "entries": []}]})
    recording = Upload(room=forum, kind="png", title="Graphic Recording Forum 1", size=1)
    recording.file.save("gr.png", ContentFile(png_image(800, 500, (200, 120, 40))), save=False)
    recording.save()
    organizer = day["organizer"]
    handout = io.BytesIO(b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj "
                         b"3 0 obj<</Type/Page/MediaBox[0 0 10 10]/Parent 2 0 R>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF")
    handout.name = "handout.pdf"
    assert organizer.post("/organizer/downloads/", {"title": "Handreichung Integrationsplan", "file": handout}).status_code == 302
    assert "Handreichung Integrationsplan" in organizer.get("/organizer/").content.decode()

    response = organizer.get(f"/documentation/{conference.slug}.pdf")
    assert response["Content-Type"] == "application/pdf"
    pages = pdf_pages(response.content)
    text = " ".join(t for t, _images in pages)
    for expected in ("Integrationspolitik des Landes NRW", "Wie geht es mit dem KIM weiter?", "Wie beurteilen Sie den Tag?",
                     "100%", "Mehrsprachigkeit ist eine Ressource", "Sprachmittlerpool im Kreis aufbauen",
                     "Graphic Recording Forum 1", "Handreichung Integrationsplan"):
        assert expected in text, expected
    assert "Ausgeblendete Beleidigung" not in text
    assert sum(images for _t, images in pages) >= 1  # the graphic recording is in it
    # Unpublished, it is the organizers' preview only.
    assert signed_in_as(alice).get(f"/documentation/{conference.slug}.pdf").status_code == 404
    organizer.post("/organizer/documentation/", {"publish": "1"})
    assert signed_in_as(alice).get(f"/documentation/{conference.slug}.pdf").status_code == 200
