"""The live agenda in real browsers: the moderator clicks "Weiter", every participant's page follows.

One daphne (SQLite, in-memory layer) serves a fresh demo day to each test; each person has their own browser
context, so their cookies and sockets are their own, as on the day.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.support.browser import (
    MINISTER,
    WELCOME,
    assert_no_javascript_errors,
    assert_server_healthy,
    click_next,
    connected,
    join,
    open_console,
    shows_live,
)
from tests.support.servers import ROOT

pytestmark = pytest.mark.browser

SCREENSHOTS = ROOT / "docs" / "screenshots"
# Set before the moderator clicks; if a page reloaded or navigated, the marker is gone.
MARKER = "plenumNoReload"


def mark(page):
    page.evaluate(f"() => {{ window.{MARKER} = true; }}")


def still_marked(page):
    return page.evaluate(f"() => window.{MARKER} === true")


def test_moderator_clicks_next_and_every_participant_sees_the_new_item_without_reloading(visitors, venue_server):
    moderator = open_console(visitors, venue_server)
    console = moderator.page
    miriam = join(visitors, venue_server, "Miriam Hoffmann")
    yusuf = join(visitors, venue_server, "Yusuf Demir")
    participants = [miriam.page, yusuf.page]

    # Nothing is live yet: the console offers the first item, the presence panel counts three.
    expect(console.get_by_role("button", name=re.compile(r"^Weiter"))).to_contain_text(WELCOME)
    expect(console.locator('#presence [data-count="total"]')).to_have_text("3")
    for page in participants:
        expect(page.locator('#agenda [aria-current="step"]')).to_have_count(0)
        mark(page)

    click_next(console, WELCOME)
    for page in participants:
        shows_live(page, WELCOME)
        assert still_marked(page), "the participant's page reloaded instead of being updated"

    click_next(console, MINISTER)
    for page in participants:
        shows_live(page, MINISTER)
        expect(page.locator(f'#agenda .state-done .title:text-is("{WELCOME}")')).to_have_count(1)
        assert still_marked(page), "the participant's page reloaded instead of being updated"

    late = join(visitors, venue_server, "Elena Petrova")
    shows_live(late.page, MINISTER)
    expect(console.locator('#presence [data-count="total"]')).to_have_text("4")
    expect(console.locator("#presence")).to_contain_text("verbunden")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    console.screenshot(path=SCREENSHOTS / "moderator-console.png")
    miriam.page.screenshot(path=SCREENSHOTS / "participant-venue.png")

    assert_no_javascript_errors(moderator, miriam, yusuf, late)
    assert_server_healthy(venue_server)


def test_a_participant_who_switches_to_english_reads_the_venue_and_its_live_updates_in_english(visitors, venue_server):
    moderator = open_console(visitors, venue_server)
    jonas = join(visitors, venue_server, "Jonas Wirtz")
    page = jonas.page
    expect(page.locator(".sidebar h2")).to_have_text("Programm des Tages")

    page.locator(".topbar .language").get_by_role("button", name="EN").click()

    expect(page).to_have_url(re.compile(r"/venue/$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".sidebar h2")).to_have_text("Today's agenda")
    expect(page.locator(".topbar .language [aria-current]")).to_have_attribute("value", "en")
    expect(page.locator("#live")).to_have_attribute("ws-connect", re.compile(r"lang=en"))
    connected(page)
    expect(page.locator("#connection-state")).to_have_text("Connected")

    # What the socket sends after the switch is English too; the moderator's console stays German.
    mark(page)
    coming = moderator.page.locator("#timeline .state-scheduled .title").first.inner_text()
    click_next(moderator.page, coming)
    expect(moderator.page.locator("#now-playing .kicker")).to_contain_text("Jetzt")
    shows_live(page, coming)
    expect(page.locator("#now-playing .kicker")).to_contain_text("Now")
    assert still_marked(page), "the participant's page reloaded instead of being updated"

    assert_no_javascript_errors(moderator, jonas)
    assert_server_healthy(venue_server)


def test_the_console_can_look_into_every_rooms_audio_and_video(visitors, venue_server):
    moderator = open_console(visitors, venue_server)
    console = moderator.page
    places = console.locator("#media .media-place")
    # The moderation is in no one place: every room with media is offered, none joined by itself.
    expect(places).to_have_count(13)
    expect(console.locator("#media")).to_have_attribute("data-state", "idle")
    for button in places.all():
        expect(button).to_be_visible()
    places.filter(has_text="Plenum").click()
    expect(console.locator("#media")).to_have_attribute("data-state", "joined")
    assert_no_javascript_errors(moderator)
    assert_server_healthy(venue_server)
