"""Captions (and the other ways into the plenary for those who cannot follow the floor as it is)
in real browsers."""

import re

import pytest
from playwright.sync_api import expect

from tests.support.browser import (
    VIEWPORT, Moderator, Visitor, assert_no_javascript_errors, assert_server_healthy, connected, enter, join, wait_for,
)
from tests.support.servers import manage

pytestmark = pytest.mark.browser


@pytest.fixture
def visitors(media_browser):
    """Like the shared `visitors`, in the module's one Chromium (with a fake camera and microphone)."""
    opened = []

    def open_visitor(name):
        visitor = Visitor(media_browser, name)
        opened.append(visitor)
        return visitor

    yield open_visitor
    for visitor in opened:
        visitor.close()


def personal_link(server, role, name):
    token = manage(server.env, "shell", "-v0", "-c",
                   "from venue.models import Conference, Person; "
                   f"print(Person.objects.create(conference=Conference.objects.get(), role={role!r}, display_name={name!r}).token)")
    return f"{server.base_url}/p/{token.strip().splitlines()[-1]}/"


def test_captions_reach_the_pages_that_switched_them_on_and_survive_a_reload(visitors, venue_server):
    moderator = Moderator(venue_server)
    for _ in range(2):
        assert moderator.command("agenda.next")["type"] == "ack"

    captioner = visitors("captioner")
    captioner.page.goto(personal_link(venue_server, "captioner", "Clara Schrift"))
    expect(captioner.page).to_have_url(re.compile(r"/venue/$"))
    connected(captioner.page)
    alice = join(visitors, venue_server, "Alice Untertitel")
    bob = join(visitors, venue_server, "Bob Ohne")

    toggle = alice.page.get_by_role("button", name="Untertitel")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(alice.page.locator("#captions")).to_be_hidden()
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(alice.page.locator("#captions")).to_be_visible()
    expect(alice.page.locator("#captions")).to_have_attribute("aria-live", "polite")

    line = captioner.page.get_by_label("Untertitelzeile")
    for text in ("Guten Morgen aus Düsseldorf.", "Ich beginne mit den Zahlen."):
        line.fill(text)
        line.press("Enter")
        expect(line).to_have_value("")
    captions = alice.page.locator("#captions .caption-line")
    expect(captions).to_have_text(["Guten Morgen aus Düsseldorf.", "Ich beginne mit den Zahlen."], timeout=2000)
    expect(bob.page.locator("#captions")).to_be_hidden()
    expect(bob.page.locator("#captions .caption-line")).to_have_count(0)

    # The choice survives a reload, and the reloaded page shows the lines it missed.
    alice.page.reload()
    connected(alice.page)
    expect(alice.page.get_by_role("button", name="Untertitel")).to_have_attribute("aria-pressed", "true")
    expect(alice.page.locator("#captions .caption-line")).to_have_text(
        ["Guten Morgen aus Düsseldorf.", "Ich beginne mit den Zahlen."])
    alice.page.get_by_role("button", name="Untertitel").click()
    expect(alice.page.locator("#captions")).to_be_hidden()

    assert_no_javascript_errors(captioner, alice, bob)
    assert_server_healthy(venue_server)


def assign_interpreter(server, name, language):
    """A person with the interpreter role, added to the live item for `language`: their link."""
    token = manage(server.env, "shell", "-v0", "-c",
                   "from agenda.models import AgendaItem; from rooms.models import Interpreter; "
                   "from venue.models import Conference, Person; "
                   f"p = Person.objects.create(conference=Conference.objects.get(), role='interpreter', display_name={name!r}); "
                   f"Interpreter.objects.create(item=AgendaItem.objects.get(state='live'), person=p, language={language!r}); "
                   "print(p.token)")
    return f"{server.base_url}/p/{token.strip().splitlines()[-1]}/"


def on_air(browser, server, name, language):
    """An interpreter's page: camera and microphone on, then "On air"."""
    context = browser.new_context(viewport=VIEWPORT, locale="de-DE")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(assign_interpreter(server, name, language))
    expect(page.locator("#media")).to_have_attribute("data-state", "joined")
    page.locator("#media .media-publish").click()
    expect(page.locator("#media .media-mic")).to_be_visible()
    page.get_by_role("button", name="Auf Sendung").click()
    expect(page.get_by_role("button", name="Auf Sendung")).to_have_attribute("aria-pressed", "true")
    return context


CHANNEL = "() => { const a = document.querySelector('#media .media-interpretation'); return a && a.srcObject ? a.srcObject.getAudioTracks().length : 0; }"


def test_a_listener_switches_to_the_turkish_channel_and_sees_the_sign_language_interpreter(media_browser, venue_server):
    moderator = Moderator(venue_server)
    for _ in range(2):
        assert moderator.command("agenda.next")["type"] == "ack"
    interpreters = [on_air(media_browser, venue_server, "Ayşe Dolmetscherin", "tr"),
                    on_air(media_browser, venue_server, "Gabi Gebärden", "dgs")]
    context, page, errors = enter(media_browser, venue_server, "Lale Zuhörerin")
    expect(page.locator("#media")).to_have_attribute("data-state", "joined")

    # The floor alone, until she picks Turkish: then the interpreter's channel plays.
    assert page.evaluate(CHANNEL) == 0
    page.get_by_label("Hören auf").select_option("tr")
    wait_for(lambda: page.evaluate(CHANNEL) == 1, 10, "the Turkish channel plays")
    expect(page.locator("#media")).to_have_attribute("data-interpretation", "tr")
    page.get_by_label("Hören auf").select_option("")
    wait_for(lambda: page.evaluate(CHANNEL) == 0, 10, "back to the floor alone")

    # The sign-language interpreter's tile shows when switched on, beside the stage, and goes again.
    expect(page.locator(".sign-tile")).to_have_count(0)
    page.get_by_label("Gebärdensprachdolmetschung zeigen").check()
    expect(page.locator(".sign-tile video")).to_be_visible()
    wait_for(lambda: page.evaluate("() => document.querySelector('.sign-tile video').videoWidth > 0"), 15, "the sign tile shows a picture")
    # The choice survives a reload.
    page.reload()
    expect(page.locator(".sign-tile video")).to_be_visible()
    page.get_by_label("Gebärdensprachdolmetschung zeigen").uncheck()
    expect(page.locator(".sign-tile")).to_have_count(0)

    for opened in (context, *interpreters):
        opened.close()
    assert not errors, errors
    assert_server_healthy(venue_server)
