"""The day with the keyboard alone, and what the page's live region says.

Each action is reached with Tab (and Shift+Tab, arrow keys) and done with Enter or Space; after
it, focus is on the control or where its result is, never on <body>. The live region
(#announcer) says, in the page's language, the agenda moving on, one's own moves, a question on
stage, a poll opening, an announcement, and a lost and regained connection.

One daphne and one Chromium for the module.
"""

import io
import re
import shutil

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.support.browser import (
    FORUM, MINISTER, WELCOME, Moderator, Visitor, assert_no_javascript_errors, assert_server_healthy, connected,
    facilitator_link,
)
from tests.support.servers import Daphne, manage, server_env

pytestmark = pytest.mark.browser
REVOKED = "Ihr Zugang zu dieser Konferenz wurde widerrufen."

ADVANCE = """
from agenda import actions
from venue.models import Person, Role
moderator = Person.objects.filter(role=Role.MODERATOR).first()
print(actions.advance(moderator.conference_id, by=moderator).title)
"""

FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return "BODY";
  return el.tagName + (el.id ? "#" + el.id : "") + "." + el.className + " [" + (el.textContent || el.value || "").trim().slice(0, 40) + "]";
}"""


@pytest.fixture(scope="module")
def day_server(demo_day, tmp_path_factory):
    template, paths = demo_day
    var_dir = tmp_path_factory.mktemp("keyboard") / "plenum-var"
    shutil.copytree(template, var_dir)
    server = Daphne(server_env(var_dir))
    with server:
        server.links = {label: server.base_url + path for label, path in paths.items()}
        yield server


@pytest.fixture(scope="module")
def people(browser):
    opened = []

    def open_visitor(name):
        visitor = Visitor(browser, name)
        opened.append(visitor)
        return visitor

    yield open_visitor
    for visitor in opened:
        visitor.close()


def tab_to(page, locator, limit=120, backwards=False):
    """Presses Tab (or Shift+Tab) until `locator` has focus, as a keyboard user would."""
    target = locator.first
    for _ in range(limit):
        if target.evaluate("el => el === document.activeElement"):
            return
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
    raise AssertionError(f"{locator} was not reached with {'Shift+' if backwards else ''}Tab; focus is on {page.evaluate(FOCUSED)}")


def focus_is(page, selector):
    assert page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)", selector), (
        f"focus should be on {selector}, is on {page.evaluate(FOCUSED)}")


def focus_waits_on(page, selector):
    try:
        page.wait_for_function("s => !!document.activeElement && document.activeElement.matches(s)", arg=selector, timeout=10_000)
    except Exception:
        raise AssertionError(f"focus should be on {selector}, is on {page.evaluate(FOCUSED)}") from None


def says(page, text):
    expect(page.locator("#announcer")).to_contain_text(text)


def join_by_keyboard(people, server, name):
    visitor = people(name)
    page = visitor.page
    page.goto(server.links["participant invite"])
    tab_to(page, page.get_by_label("Ihr Name, wie andere ihn sehen"))
    page.keyboard.type(name)
    tab_to(page, page.get_by_role("button", name="Eintreten"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/venue/$"))
    connected(page)
    return visitor


def test_a_keyboard_user_goes_through_the_day_and_hears_what_changes(people, day_server):
    moderation = Moderator(day_server)
    moderator = people("moderator")
    console = moderator.page
    console.goto(day_server.links["moderator console"])
    connected(console)

    miriam = join_by_keyboard(people, day_server, "Miriam Hoffmann")
    page = miriam.page
    # The skip link is the first stop and leads to the main content.
    page.keyboard.press("Tab")
    focus_is(page, "a.skip-link")
    page.keyboard.press("Enter")
    focus_waits_on(page, "#main")

    # The moderator runs "Weiter" by keyboard; focus stays on "Weiter" though the timeline was redrawn.
    for title in (WELCOME, MINISTER):
        tab_to(console, console.get_by_role("button", name=re.compile(r"^Weiter")))
        console.keyboard.press("Enter")
        expect(console.locator("#now-playing h1")).to_have_text(title)
        focus_waits_on(console, "#timeline .timeline-actions button.primary")
        says(page, f"Jetzt: {title}")

    # Ask a question: type, then Space on "Fragen"; focus stays in the form, which is emptied.
    tab_to(page, page.locator("#ask-text"))
    page.keyboard.type("Wie wird das Kommunale Integrationsmanagement finanziert?")
    tab_to(page, page.locator(".ask-form button[type=submit]"))
    page.keyboard.press("Space")
    expect(console.locator("#questions .question")).to_have_count(1)
    focus_waits_on(page, ".ask-form button[type=submit]")

    # The moderator puts it on stage by keyboard: the participant hears it.
    tab_to(console, console.locator("#questions").get_by_role("button", name="Jetzt beantworten"))
    console.keyboard.press("Enter")
    says(page, "Jetzt auf der Bühne, eine Frage: Wie wird das Kommunale Integrationsmanagement finanziert?")
    focus_waits_on(console, "#questions button, #questions")

    # Raise a hand: focus moves to "Hand senken", which took its place; and back.
    tab_to(page, page.locator(".hand-raise button"), backwards=True)
    page.keyboard.press("Enter")
    focus_waits_on(page, ".hand-lower button")
    expect(console.locator("#hands .hand-queue li[data-person]")).to_have_count(1)
    page.keyboard.press("Enter")
    focus_waits_on(page, ".hand-raise button")

    # React: focus stays on the reaction button.
    tab_to(page, page.locator(".reaction-button[data-kind=applause]"), backwards=True)
    page.keyboard.press("Enter")
    expect(console.locator("#reactions .burst")).not_to_have_count(0)
    focus_waits_on(page, ".reaction-button[data-kind=applause]")

    # A poll opens (the live region says so); the participant picks with the arrow keys and votes.
    moderation.command("poll.open", question="Wie bewerten Sie den Vortrag?", options="Gut\nMittel\nSchlecht")
    says(page, "Eine Umfrage ist geöffnet: Wie bewerten Sie den Vortrag?")
    tab_to(page, page.locator("#poll input[name=option]"))
    page.keyboard.press("ArrowDown")
    expect(page.locator("#poll input[name=option]").nth(1)).to_be_checked()
    tab_to(page, page.locator("#poll .poll-vote button"))
    page.keyboard.press("Enter")
    focus_waits_on(page, "#poll .voted-note")

    # An announcement is said once.
    moderation.command("announce", text="Gleich geht es weiter.")
    says(page, "Durchsage: Gleich geht es weiter.")

    # The lunch break: the move is said; joining a table by keyboard puts focus on the table's heading.
    for _ in range(3):
        moderation.command("agenda.next")
    expect(page.locator("#place.place-lounge")).to_be_attached()
    says(page, "Sie sind jetzt in der Lounge")
    tab_to(page, page.locator(".table-card button"))
    page.keyboard.press("Enter")
    expect(page.locator("#place.place-table")).to_be_attached()
    focus_waits_on(page, "#place h2")
    says(page, "Sie stehen jetzt am Stehtisch")

    # The forums: choosing one by keyboard; focus goes to the forum's heading.
    moderation.command("agenda.next")
    says(page, "Die Fachforen haben begonnen")
    tab_to(page, page.locator(".forum-choice", has_text=FORUM.split(": ")[1]).get_by_role("button"))
    page.keyboard.press("Enter")
    expect(page.locator("#place.place-forum")).to_be_attached()
    focus_waits_on(page, "#place h2")
    says(page, "Sie sind jetzt im Forum")

    # The facilitator adds a board item with Enter; the board is redrawn and focus stays in its field.
    facilitator = people("facilitator")
    lead = facilitator.page
    lead.goto(facilitator_link(day_server))
    connected(lead)
    expect(lead.locator("#board.can-write")).to_be_attached()
    field = lead.locator(".board-section").first.locator(".add-entry input[name=text]")
    tab_to(lead, field)
    lead.keyboard.type("Mehrsprachige Elternabende")
    lead.keyboard.press("Enter")
    expect(lead.locator(".board-entry .entry-text", has_text="Mehrsprachige Elternabende")).to_have_count(1)
    section = lead.locator(".board-section").first.get_attribute("data-section")
    focus_waits_on(lead, f".board-section[data-section='{section}'] .add-entry input[name=text]")
    # Someone else adds an item while the facilitator types: the board is redrawn, the half-typed
    # text, the focus and the caret stay.
    lead.keyboard.type("Halb getippt")
    forum_id = lead.locator("#board").get_attribute("data-forum")
    assert moderation.command("board.add", forum=forum_id, section=section, text="Von der Moderation")["type"] == "ack"
    expect(lead.locator(".board-entry .entry-text", has_text="Von der Moderation")).to_have_count(1)
    field = lead.locator(f".board-section[data-section='{section}'] .add-entry input[name=text]")
    expect(field).to_have_value("Halb getippt")
    focus_waits_on(lead, f".board-section[data-section='{section}'] .add-entry input[name=text]")
    assert field.evaluate("el => el.selectionStart") == len("Halb getippt")

    # An upload (a graphic recording) ends with a clear result, shown and said.
    picture = io.BytesIO()
    Image.new("RGB", (40, 30), "#0b6e4f").save(picture, format="PNG")
    upload = lead.locator("#board .upload-form")
    upload.locator("input[name=title]").fill("Graphic Recording")
    upload.locator("input[type=file]").set_input_files(
        files=[{"name": "recording.png", "mimeType": "image/png", "buffer": picture.getvalue()}])
    tab_to(lead, upload.get_by_role("button", name="Hochladen"))
    lead.keyboard.press("Enter")
    expect(lead.locator("#board .uploads img[alt='Graphic Recording']")).to_have_count(1)
    expect(lead.locator("#board .upload-form .upload-result")).to_have_text("Hochgeladen.")
    says(lead, "Hochgeladen.")

    assert_no_javascript_errors(moderator, miriam, facilitator)
    assert_server_healthy(day_server)


def test_the_live_region_speaks_english_and_the_connection_banner_stays_in_view(people, day_server):
    moderation = Moderator(day_server)
    jonas = join_by_keyboard(people, day_server, "Jonas Wirtz")
    page = jonas.page
    page.locator(".topbar .language").get_by_role("button", name="EN").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    connected(page)

    # Whatever is live, the next item is said in English.
    moderation.command("agenda.next")
    says(page, "Now: ")
    moderation.command("announce", text="Short break.")
    says(page, "Announcement: Short break.")

    # The server goes away: a banner stays in view, the controls are off, typed text stays.
    chat = page.locator("#chat .chat-form input[name=text]")
    chat.fill("Typed while offline")
    day_server.stop()
    expect(page.locator("#live")).to_have_attribute("data-connection", "closed")
    expect(page.locator("#connection-state")).to_have_text(re.compile("Connection lost"))
    page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
    box = page.locator("#connection-state").bounding_box()
    assert box and 0 <= box["y"] < 50, f"the banner scrolled away: {box}"
    expect(page.locator("#chat .chat-form button")).to_be_disabled()
    says(page, "Connection lost")
    # Meanwhile the agenda moves on (written straight to the database, as another server would).
    before = page.locator("#now-playing h1").text_content()
    moved = manage(day_server.env, "shell", "-v0", "-c", ADVANCE)
    day_server.start()
    expect(page.locator("#live")).to_have_attribute("data-connection", "open", timeout=45_000)
    says(page, "Connected again")
    expect(page.locator("#chat .chat-form button")).to_be_enabled()
    expect(chat).to_have_value("Typed while offline")
    # The page is current again: it shows the item that started while it was away.
    title = moved.strip().splitlines()[-1]
    assert title and title != before
    expect(page.locator("#now-playing h1")).to_have_text(title)
    # (The browser logs its failed reconnects as errors: no check for JavaScript errors here.)
    assert_server_healthy(day_server)


def test_a_revoked_person_is_told_so_and_the_page_stops_sending(people, day_server):
    lena = join_by_keyboard(people, day_server, "Lena Vogt")
    page = lena.page
    connected(page)
    organizer = people("organizer of the revocation")
    organizer.page.goto(day_server.links["organizer view"])
    row = organizer.page.locator("table.people tr", has=organizer.page.get_by_role("rowheader", name="Lena Vogt"))
    row.get_by_role("button", name="Zurückziehen").click()
    expect(organizer.page.locator("table.people tr.revoked", has_text="Lena Vogt")).to_have_count(1)

    # The open page hears it at once: a banner that stays, in the server's words, and no control left.
    expect(page.locator("#live")).to_have_attribute("data-connection", "ended")
    expect(page.locator("#connection-state")).to_have_text(REVOKED)
    expect(page.locator("#chat .chat-form button")).to_be_disabled()
    # It does not knock again: a minute of htmx's back-off would have tried several times.
    page.wait_for_timeout(3000)
    expect(page.locator("#live")).to_have_attribute("data-connection", "ended")
    assert_server_healthy(day_server)
