"""One language at a time: every page and every live frame, rendered in German through the day,
asks the catalogue only for what it has; and every error code the server can send has a message
for people, in German too.

A msgid that the German catalogue lacks falls through to a gettext fallback that writes it down
(gettext's own fallback chain, nothing replaced); after the walk the list must be empty.
"""

import gettext
import re
from pathlib import Path

import pytest
from django.contrib import admin
from django.test import Client
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import trans_real

from agenda import actions
from agenda.models import AgendaItem
from frontend import frames, snapshot
from rooms.models import Room, RoomKind
from rooms.plenary import polls, qa, stage
from tests.support.clients import someone
from venue import errors, groups
from venue.models import Role

ROOT = Path(__file__).resolve().parents[2]
# Where a refusal names its code: Refused("code", …), ProtocolError("code", …), IllegalTransition(…),
# protocol.error("code", …), the code on a line of its own after the opening parenthesis.
RAISES = re.compile(r"(?:Refused|ProtocolError|IllegalTransition|protocol\.error)\(\s*f?\"([a-z_{}]+)\"")


class Missing(gettext.NullTranslations):
    """The end of the German catalogue's fallback chain: what reaches it was not translated."""

    def __init__(self, translated=()):
        super().__init__()
        self.ids = set()
        self.translated = set(translated)

    def gettext(self, message):
        if message not in self.translated:
            self.ids.add(message.replace("\x04", " | "))
        return message

    def ngettext(self, singular, plural, n):
        self.ids.add(singular.replace("\x04", " | "))
        return singular if n == 1 else plural


@pytest.fixture
def untranslated():
    catalogue = trans_real.translation("de")
    missing = Missing(text for _msgid, text in catalogue._catalog.items())
    catalogue.add_fallback(missing)
    # ({% get_available_languages %} passes the names it translated through gettext once more:
    # a German text asked for again is no missing msgid.)
    yield missing.ids
    # Unhook: the catalogue object is cached for the whole process.
    fallback = catalogue
    while fallback._fallback is not None and fallback._fallback is not missing:
        fallback = fallback._fallback
    fallback._fallback = None


def signed_in(person):
    browser = Client(HTTP_ACCEPT_LANGUAGE="de")
    browser.get(f"/p/{person.token}/")
    return browser


def render_everything(conference, browsers, pages):
    """Every page each browser may open, and every frame a socket may get, in German."""
    for browser, path in pages:
        response = browsers[browser].get(path)
        assert response.status_code == 200, path
    for audience in groups.AUDIENCES:
        snapshot.current(conference.pk, audience, "de")
    for room in [None, *Room.objects.filter(conference=conference)]:
        frames.place_frame(conference.pk, room.pk if room else None, "de")
    for code in errors.MESSAGES:
        errors.message_for(code, "de")


def test_every_page_and_live_frame_through_the_day_is_german(conference, participants, untranslated):
    moderator = someone(conference, Role.MODERATOR)
    organizer = someone(conference, Role.ORGANIZER)
    alice = participants[0]
    browsers = {"participant": signed_in(alice), "moderator": signed_in(moderator), "organizer": signed_in(organizer),
                "guest": Client(HTTP_ACCEPT_LANGUAGE="de")}
    invite = conference.invites.get(role=Role.PARTICIPANT)
    pages = [("guest", "/"), ("guest", f"/join/{invite.token}/"), ("participant", "/venue/"), ("moderator", "/console/"),
             ("organizer", "/organizer/"), ("organizer", "/organizer/attendance/"),
             ("organizer", f"/documentation/{conference.slug}/")]
    assert browsers["guest"].get("/join/forged/").status_code == 404

    render_everything(conference, browsers, pages)
    items = AgendaItem.objects.filter(conference=conference).count()
    for number in range(items):
        actions.advance(conference.pk, by=moderator)
        if number == 1:
            question = qa.ask(alice, "Wie wird das finanziert?")
            qa.moderate(conference.pk, question.pk, "answering", by=moderator)
            polls.open_poll(conference.pk, "Wie finden Sie es?", ["Gut", "Schlecht"], by=moderator)
            stage.start_countdown(conference.pk, 5, "Pause", by=moderator)
            stage.announce(conference.pk, "Gleich geht es weiter.", by=moderator)
        render_everything(conference, browsers, pages)
    actions.end(conference.pk, by=moderator)
    browsers["organizer"].post("/organizer/documentation/", {"publish": "1", "intro": "Danke."})
    render_everything(conference, browsers, pages)

    assert not untranslated, "no German translation for:\n" + "\n".join(sorted(untranslated))


def test_every_error_code_the_server_sends_has_a_message_for_people_in_german(untranslated):
    sources = [p for floor in ("venue", "agenda", "rooms", "frontend") for p in (ROOT / floor).rglob("*.py")]
    codes = {code for path in sources for code in RAISES.findall(path.read_text())}
    # Codes made from the state machine's states: item_scheduled, item_live, item_done.
    codes = {c for c in codes if "{" not in c} | {"item_scheduled", "item_live", "item_done"}
    assert len(codes) > 40, f"the search for codes found too few: {sorted(codes)}"
    assert not codes - set(errors.MESSAGES), f"codes without a message: {sorted(codes - set(errors.MESSAGES))}"
    for code in errors.MESSAGES:
        german = errors.message_for(code, "de")
        with translation.override("en"):
            english = str(errors.MESSAGES[code])
        assert german != english, f"{code}: “{english}” has no German translation"
    # The documented codes are the ones the server sends.
    protocol = (ROOT / "docs" / "protocol.md").read_text()
    documented = set(re.findall(r"`([a-z]+_[a-z_]+)`", protocol)) & set(errors.MESSAGES)
    assert documented, "docs/protocol.md names no error code"
    assert not untranslated, "no German translation for:\n" + "\n".join(sorted(untranslated))


def test_the_admin_names_its_sections_and_models_in_german(untranslated):
    names = []
    for model in admin.site._registry:
        names += [model._meta.verbose_name, model._meta.verbose_name_plural, model._meta.app_config.verbose_name]
    plain = sorted({str(name) for name in names if not isinstance(name, Promise)})
    assert not plain, f"names the catalogue never sees (not marked for translation): {plain}"
    with translation.override("de"):
        german = {str(name) for name in names}
    assert not untranslated, "no German translation for:\n" + "\n".join(sorted(untranslated))
    assert {"Konferenzen", "Programmpunkte", "Räume", "Umfragen"} <= german
