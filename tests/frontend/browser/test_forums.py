"""The afternoon in real browsers: a forum works on its board, its results come back to the plenary."""

import re
import struct
import zlib

import pytest
from playwright.sync_api import expect

from tests.support.browser import (
    FORUM,
    assert_no_javascript_errors,
    assert_server_healthy,
    connected,
    facilitator_link,
    join,
    open_console,
)
from tests.support.servers import ROOT

pytestmark = pytest.mark.browser


def png(width=160, height=90):
    """A small, real PNG (a warm gradient), standing in for a graphic recording."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"".join(bytes((244, 162 - x // 2, 97 + y)) for x in range(width)) for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_a_forum_writes_its_results_and_presents_them_in_the_plenary(visitors, venue_server, tmp_path):
    moderator = open_console(visitors, venue_server)
    console = moderator.page
    miriam = join(visitors, venue_server, "Miriam Hoffmann")
    yusuf = join(visitors, venue_server, "Yusuf Demir")
    lead = visitors("facilitator")
    lead.page.goto(facilitator_link(venue_server))
    connected(lead.page)

    # Both choose the first forum in advance, in the plenary.
    for visitor in (miriam, yusuf):
        wish = visitor.page.locator(".forum-wishes .forum-choice", has_text="Diversität und Mehrsprachigkeit")
        wish.get_by_role("button").click()
        expect(wish).to_have_class(re.compile(r"\bchosen\b"))

    # The moderator starts the forum phase: everybody's page moves into the forum at once.
    console.locator("#timeline .agenda-item", has_text=re.compile(r"^\s*\S+\s+Fachforen\s")).get_by_role("button").click()
    for visitor in (miriam, yusuf, lead):
        expect(visitor.page.locator("#place.place-forum h2").first).to_have_text(FORUM)
    expect(console.locator(f'#forums-overview tr:has-text("{FORUM}") td').first).to_have_text(re.compile(r"^2"))

    # The facilitator writes two findings and uploads a graphic recording.
    board = lead.page.locator("#board")
    expect(board).to_have_class(re.compile(r"\bcan-write\b"))
    add = board.locator('[data-section="finding"] .add-entry input[name=text]')
    for finding in ("Mehrsprachigkeit ist eine Ressource", "Dolmetschpool für Beratungsstellen"):
        add.fill(finding)
        add.press("Enter")
        expect(board.locator(".board-entry", has_text=finding)).to_be_visible()
    recording = tmp_path / "graphic-recording.png"
    recording.write_bytes(png())
    board.locator(".upload-form input[name=title]").fill("Graphic Recording Forum 1")
    board.locator(".upload-form input[type=file]").set_input_files(str(recording))
    board.locator(".upload-form button[type=submit]").click()

    # Miriam sees it all live, and cannot edit.
    seen = miriam.page.locator("#board")
    expect(seen.locator(".board-entry")).to_have_count(2)
    expect(seen.locator(".board-entry").first).to_contain_text("Mehrsprachigkeit ist eine Ressource")
    expect(seen.locator(".uploads img")).to_have_attribute("alt", "Graphic Recording Forum 1")
    for form in seen.locator(".add-entry").all():
        expect(form).to_be_hidden()
    seen.locator(".board-entry", has_text="Dolmetschpool").locator("form.member-only button").click()
    expect(lead.page.locator("#board .board-entry", has_text="Dolmetschpool")).to_contain_text("+1")

    # The moderator ends the phase: everybody is back in the plenary; then presents forum 1.
    console.locator("#timeline .timeline-actions form").nth(1).get_by_role("button").click()
    for visitor in (miriam, yusuf):
        expect(visitor.page.locator("#place.place-plenary")).to_be_attached()
    console.locator(f'#forums-overview tr:has-text("{FORUM}")').get_by_role("button").click()
    for visitor in (miriam, yusuf):
        slide = visitor.page.locator("#stage .results-slide")
        expect(slide.locator("h2")).to_have_text(FORUM)
        expect(slide).to_contain_text("Mehrsprachigkeit ist eine Ressource")
        expect(slide).to_contain_text("Dolmetschpool für Beratungsstellen")
        expect(slide.locator(".results-images img")).to_have_attribute("alt", "Graphic Recording Forum 1")
        expect(visitor.page.locator("#stage .tile-name")).to_contain_text(["Moderation Forum 1"])
    # The image really loads for the audience once it was presented.
    expect(miriam.page.locator("#stage .results-images img")).to_have_js_property("complete", True)
    assert miriam.page.locator("#stage .results-images img").evaluate("img => img.naturalWidth") == 160

    miriam.page.screenshot(path=str(ROOT / "docs" / "screenshots" / "forum-results-on-stage.png"), full_page=True)
    assert_no_javascript_errors(moderator, miriam, yusuf, lead)
    assert_server_healthy(venue_server)
