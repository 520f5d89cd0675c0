"""Captions (and the other ways into the plenary for those who cannot follow the floor as it is)
in real browsers."""

import re

import pytest
from playwright.sync_api import expect

from tests.support.browser import Moderator, assert_no_javascript_errors, assert_server_healthy, connected, join
from tests.support.servers import manage

pytestmark = pytest.mark.browser


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
