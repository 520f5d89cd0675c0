"""What the venue page offers for interpretation: the languages, and the sign-language tile on by
default where the organizers say so. (The channels themselves: tests/rooms/media/test_interpretation.py.)"""

from django.test import Client as HttpClient

from agenda import actions
from agenda.models import AgendaItem
from rooms.models import Interpreter
from venue.models import Person, Role


def venue_page(person):
    browser = HttpClient()
    browser.get(f"/p/{person.token}/")
    return browser.get("/venue/").content.decode()


def test_the_sign_language_tile_is_on_by_default_only_where_the_organizers_say_so(conference, moderator, participants):
    item = AgendaItem.objects.get(conference=conference, order=2)
    actions.start(conference.pk, item.pk, by=moderator)
    page = venue_page(participants[0])
    assert 'data-sign-default="off"' in page
    assert '<option value="tr" lang="tr">Türkçe</option>' in page and '<option value="ar" lang="ar">العربية</option>' in page
    # The organizers add a sign-language interpreter to the next item, shown to everyone by default.
    following = AgendaItem.objects.get(conference=conference, order=3)
    signer = Person.objects.create(conference=conference, display_name="Gabi Gebärden", role=Role.INTERPRETER)
    Interpreter.objects.create(item=following, person=signer, language="dgs", shown_by_default=True)
    assert 'data-sign-default="off"' in venue_page(participants[0])  # not this item's
    actions.end(conference.pk, by=moderator)
    actions.start(conference.pk, following.pk, by=moderator)
    assert 'data-sign-default="on"' in venue_page(participants[1])
