"""The whole demo day in real browsers, from the welcome to the published documentation.

A fresh demo day (as every browser test gets), so the day starts at the beginning: the moderator runs it from the console,
three participants follow it, a facilitator leads the first forum, and the organizer reviews the
attendance and publishes the documentation that anyone can then read.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.support.browser import (
    FORUM, MINISTER, QUESTION, WELCOME, Visitor, assert_no_javascript_errors, assert_server_healthy, click_next,
    connected, facilitator_link, join, open_console, shows_live,
)
from tests.support.servers import ROOT
from frontend import demo

pytestmark = pytest.mark.browser

KEYNOTE = "Wissenschaftlicher Input: Integration als gemeinsamer Tisch"
PANEL = "Podiumsgespräch mit Fragen aus dem Publikum"
LUNCH = "Mittagspause an den Stehtischen"
FORUMS = "Fachforen"
RESULTS = "Ergebnisse der Fachforen im Plenum"
CLOSING = "Abschluss"
OPEN_TABLE = "Offener Stehtisch"
# The stage shows its people by name, not in the order the programme lists them.
# In the programme's order, as announced (not by name).
PANELISTS = ["Prof. Aladin El-Mafaalani", "Stephan Pusch", "Daniela Ritzerfeld", "Freya Lüdecke", "Dr. Asli Topal-Cevahir"]
FINDING = "Mehrsprachigkeit ist eine Ressource"
HELLO = "Schön, Sie am Stehtisch zu treffen!"
REPLY = "Ganz meinerseits – wie war der Vormittag?"
ASIDE = "Hier am zweiten Tisch ist es ruhiger."
INTRO = "Danke an alle, die dabei waren: hier ist der Tag zum Nachlesen."
SCREENSHOT = ROOT / "docs" / "screenshots" / "lounge-table.png"


def walk_up_to(visitor, table):
    page = visitor.page
    page.locator("#lounge-tables .table-card", has_text=table).get_by_role("button", name="An diesen Tisch").click()
    expect(page.locator("#place.place-table h2").first).to_have_text(table)


def say(visitor, text):
    visitor.page.locator("#chat input[name=text]").fill(text)
    visitor.page.locator("#chat").get_by_role("button", name="Senden").click()


def test_the_whole_conference_day_from_welcome_to_published_documentation(browser, visitors, venue_server):
    server = venue_server
    moderator = open_console(visitors, server)
    console = moderator.page
    miriam = join(visitors, server, "Miriam Hoffmann")
    yusuf = join(visitors, server, "Yusuf Demir")
    elena = join(visitors, server, "Elena Petrova")
    participants = [miriam, yusuf, elena]
    lead = visitors("facilitator")
    lead.page.goto(facilitator_link(server))
    connected(lead.page)
    everyone = participants + [lead]

    # 1. The welcome starts; everyone sees it live.
    click_next(console, WELCOME)
    for visitor in everyone:
        shows_live(visitor.page, WELCOME)
        expect(visitor.page.locator("#stage .tile-name")).to_have_text("Stephan Pusch")

    # While the morning runs, Miriam and Yusuf choose the first forum for the afternoon.
    for visitor in (miriam, yusuf):
        wish = visitor.page.locator(".forum-wishes .forum-choice", has_text="Diversität und Mehrsprachigkeit")
        wish.get_by_role("button", name="Meine Wahl").click()
        expect(wish).to_have_class(re.compile(r"\bchosen\b"))

    # 2. The minister's talk: Miriam asks, the moderator puts the question on the stage.
    click_next(console, MINISTER)
    for visitor in everyone:
        shows_live(visitor.page, MINISTER)
    miriam.page.locator("#ask-text").fill(QUESTION)
    miriam.page.get_by_role("button", name="Fragen", exact=True).click()
    in_console = console.locator("#questions [data-question]", has_text=QUESTION)
    expect(in_console).to_contain_text("Miriam Hoffmann")
    in_console.get_by_role("button", name="Jetzt beantworten").click()
    for page in (miriam.page, yusuf.page, elena.page, console):
        expect(page.locator("#stage .stage-question")).to_have_text(QUESTION)
    expect(yusuf.page.locator("#questions [data-question]", has_text=QUESTION)).to_contain_text("wird beantwortet")

    # 3. The keynote follows straight on: the stage is the professor's, the question has left it.
    click_next(console, KEYNOTE)
    for visitor in participants:
        shows_live(visitor.page, KEYNOTE)
        expect(visitor.page.locator("#stage .stage-title")).to_have_text(KEYNOTE)
        expect(visitor.page.locator("#stage .stage-question")).to_have_count(0)
        expect(visitor.page.locator("#stage .tile-name")).to_have_text("Prof. Aladin El-Mafaalani")

    # 4. The panel: five people on stage; Yusuf raises his hand and the moderator sees it.
    click_next(console, PANEL)
    expect(console.locator("#stage .tile-name")).to_have_text(PANELISTS)
    expect(console.locator("#hands .people-list").first.locator("li")).to_have_text(PANELISTS)
    for visitor in participants:
        shows_live(visitor.page, PANEL)
        expect(visitor.page.locator("#stage .tile-name")).to_have_text(PANELISTS)
    yusuf.page.locator("#controls .hand-raise").get_by_role("button").click()
    expect(yusuf.page.locator("body")).to_have_class(re.compile(r"\bhand-raised\b"))
    expect(console.locator("#hands .hand-queue li")).to_have_count(1)
    expect(console.locator("#hands .hand-queue li")).to_contain_text("Yusuf Demir")
    # She invites him up: his tile joins the panel's on every stage (his media need not start).
    console.locator("#hands .hand-queue li", has_text="Yusuf Demir").get_by_role("button", name="Auf die Bühne holen").click()
    for page in (console, miriam.page, elena.page):
        expect(page.locator("#stage .tile-name")).to_have_text(PANELISTS + ["Yusuf Demir"])
    expect(console.locator("#hands .hand-queue li.muted")).to_have_text("Keine Wortmeldungen.")

    # 5. Lunch at the standing tables: everybody's page moves to the lounge.
    click_next(console, LUNCH)
    for visitor in everyone:
        shows_live(visitor.page, LUNCH)
        expect(visitor.page.locator("#place.place-lounge")).to_be_attached()
        expect(visitor.page.locator("#lounge-tables .table-card")).to_have_count(6)
    walk_up_to(miriam, "Stehtisch 1")
    # Her own table is marked as hers, with no button to walk up to it again.
    here = miriam.page.locator("#lounge-tables .table-card.here")
    expect(here).to_have_count(1)
    expect(here).to_contain_text("Stehtisch 1")
    expect(here.get_by_role("button")).to_be_hidden()
    # Those still in the lounge see who stands where.
    expect(yusuf.page.locator("#lounge-tables .table-card", has_text="Stehtisch 1")).to_contain_text("Miriam Hoffmann")
    walk_up_to(yusuf, "Stehtisch 1")
    walk_up_to(elena, "Stehtisch 2")
    say(miriam, HELLO)
    expect(yusuf.page.locator("#chat-log")).to_contain_text(HELLO)
    say(yusuf, REPLY)
    for visitor in (miriam, yusuf):
        expect(visitor.page.locator("#chat-log .chat-message")).to_have_count(2)
        expect(visitor.page.locator("#chat-log .chat-message").last).to_contain_text("Yusuf Demir")
    expect(elena.page.locator("#place.place-table h2").first).to_have_text("Stehtisch 2")
    # At the next table, Elena heard none of it. Her own message travels after theirs, through the
    # same channel and in order on her socket: once it shows, theirs would have shown before it.
    say(elena, ASIDE)
    expect(elena.page.locator("#chat-log .chat-message").last).to_contain_text(ASIDE)
    expect(elena.page.locator("#chat-log .chat-message")).to_have_count(1)
    expect(elena.page.locator("#lounge-tables .table-card", has_text="Stehtisch 1")).to_contain_text("2/6")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    miriam.page.screenshot(path=str(SCREENSHOT), full_page=True)

    # 6. The Fachforen: Miriam and Yusuf land in the forum they chose; Elena chooses now.
    click_next(console, FORUMS)
    for visitor in (miriam, yusuf, lead):
        expect(visitor.page.locator("#place.place-forum h2").first).to_have_text(FORUM)
    choose = elena.page.locator("#place.place-choose")
    expect(choose).to_be_attached()
    choose.locator(".forum-choice", has_text="Diversität und Mehrsprachigkeit").get_by_role("button", name="Beitreten").click()
    expect(elena.page.locator("#place.place-forum h2").first).to_have_text(FORUM)
    expect(console.locator(f'#forums-overview tr:has-text("{FORUM}") td').first).to_have_text(re.compile(r"^3"))
    board = lead.page.locator("#board")
    expect(board).to_have_class(re.compile(r"\bcan-write\b"))
    add = board.locator('[data-section="finding"] .add-entry input[name=text]')
    add.fill(FINDING)
    add.press("Enter")
    for visitor in (miriam, elena):
        expect(visitor.page.locator("#board .board-entry", has_text=FINDING)).to_be_visible()

    # 7. Back in the plenary, the moderator presents the forum's results on the stage.
    click_next(console, RESULTS)
    for visitor in participants:
        shows_live(visitor.page, RESULTS)
        expect(visitor.page.locator("#place.place-plenary")).to_be_attached()
    console.locator(f'#forums-overview tr:has-text("{FORUM}")').get_by_role("button", name="Präsentieren").click()
    for visitor in participants:
        slide = visitor.page.locator("#stage .results-slide")
        expect(slide.locator("h2")).to_have_text(FORUM)
        expect(slide).to_contain_text(FINDING)
        # The facilitator presents; whoever was invited up in the morning has long left the stage.
        expect(visitor.page.locator("#stage .tile-name")).to_have_text(["Moderation Forum 1"])

    # 8. The closing, then the standing tables stay open; the moderator ends the day.
    click_next(console, CLOSING)
    for visitor in participants:
        shows_live(visitor.page, CLOSING)
        expect(visitor.page.locator("#stage .stage-title")).to_have_text(CLOSING)
        expect(visitor.page.locator("#stage .results-slide")).to_have_count(0)
        expect(visitor.page.locator("#stage .tile-name")).to_have_text("Stephan Pusch")
    click_next(console, OPEN_TABLE)
    for visitor in participants:
        shows_live(visitor.page, OPEN_TABLE)
        expect(visitor.page.locator("#place.place-lounge")).to_be_attached()
    walk_up_to(elena, "Stehtisch 3")
    console.get_by_role("button", name="Laufenden Punkt beenden").click()
    expect(console.locator('#timeline [aria-current="step"]')).to_have_count(0)
    for visitor in participants:
        expect(visitor.page.locator('#agenda [aria-current="step"]')).to_have_count(0)
        expect(visitor.page.locator("#agenda .state-done")).to_have_count(len(demo.AGENDA))
        # Back in the plenary after the last item: the venue says the day is over and offers no
        # question form, no reactions, no hand to raise.
        expect(visitor.page.locator("#place.place-plenary")).to_be_attached()
        expect(visitor.page.locator("#now-playing.ended h1")).to_have_text("Die Konferenz ist beendet. Vielen Dank!")
        for control in (".ask", "#controls", "#questions"):
            expect(visitor.page.locator(control)).to_be_hidden()

    # 9. After the day: the organizer reviews the attendance and publishes the documentation.
    organizer = visitors("organizer")
    office = organizer.page
    office.goto(server.links["organizer view"])
    expect(office).to_have_url(re.compile(r"/organizer/$"))
    office.get_by_role("link", name="Anwesenheit", exact=True).click()
    expect(office).to_have_url(re.compile(r"/organizer/attendance/$"))
    people = office.locator(".attendance-people tbody tr")
    for name in ("Miriam Hoffmann", "Yusuf Demir", "Elena Petrova", "Moderation Forum 1", "Janine Mehner"):
        expect(people.filter(has_text=name)).to_have_count(1)
    items = office.locator(".attendance-items tbody tr")
    expect(items).to_have_count(len(demo.AGENDA))
    for title in (WELCOME, PANEL, LUNCH, FORUMS, OPEN_TABLE):
        # Three participants, the facilitator and the moderator were there all day.
        expect(items.filter(has=office.locator(f'th:text-is("{title}")')).locator("td[data-present]")).to_have_text("5")
    office.go_back()
    expect(office).to_have_url(re.compile(r"/organizer/$"))
    office.get_by_label("Einleitung für die Dokumentationsseite").fill(INTRO)
    office.get_by_role("button", name="Dokumentation veröffentlichen").click()
    expect(office.get_by_role("link", name=re.compile("Dokumentation \\(veröffentlicht\\)"))).to_be_visible()
    # The participants' venues link it at once, without a reload.
    for visitor in participants:
        expect(visitor.page.locator("#now-playing .documentation-link a")).to_have_attribute(
            "href", f"/documentation/{demo.SLUG}/")

    reader = Visitor(browser, "anonymous reader")
    try:
        page = reader.page
        page.goto(f"{server.base_url}/documentation/{demo.SLUG}/")
        expect(page.locator("h1")).to_have_text(re.compile("Vielfalt leben im Kreis Heinsberg"))
        expect(page.locator("main")).to_contain_text(INTRO)
        expect(page.locator(".doc-item h3")).to_have_count(len(demo.AGENDA))
        minister = page.locator(".doc-item", has_text=MINISTER)
        expect(minister.locator(".doc-questions li")).to_contain_text(QUESTION)
        # The moderator went on to the keynote while it was on stage: it counts as answered.
        expect(minister.locator(".doc-questions li")).to_contain_text("beantwortet")
        forum = page.locator(".doc-forum", has_text=FORUM)
        expect(forum).to_contain_text(FINDING)
        expect(page.locator(".announcement")).to_have_count(0)  # no "preview" banner: it is public
        assert_no_javascript_errors(moderator, *everyone, organizer, reader)
    finally:
        reader.close()
    assert_server_healthy(server)
