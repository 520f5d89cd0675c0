"""Every page, in every phase of the day, checked by axe-core at a phone's and a desktop's width,
and for reflow at 320 px (WCAG 1.4.10): no page scrolls sideways.

One daphne and one Chromium serve the whole module: the day is walked from before the welcome to
after the last item, and each page is checked where it stands. axe-core is the file that the
axe-playwright-python package ships (a pinned test dependency), injected into the page.
"""

import re
from pathlib import Path

import axe_playwright_python
import pytest
from playwright.sync_api import expect

from tests.support.browser import VIEWPORT, Moderator, assert_server_healthy, join, open_console
from tests.support.servers import ROOT

pytestmark = pytest.mark.browser

AXE = Path(axe_playwright_python.__file__).parent / "axe.min.js"
WCAG = {"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}
WIDTHS = (390, 1280)
# No sideways scrolling at a small phone (WCAG 1.4.10: 320 CSS px), a tablet and a wide screen.
REFLOW_WIDTHS = (320, 768, 1920)
SCREENSHOTS = ROOT / "docs" / "screenshots"

RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({id: v.id, impact: v.impact, tags: v.tags, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ") + " :: " + (n.failureSummary || "").slice(0, 200))}));
}"""


@pytest.fixture(scope="module")
def people(people):
    """The module's browsers. The Content-Security-Policy allows no inline script, and axe-core is
    injected as one: these contexts bypass it."""
    return lambda name: people(name, bypass_csp=True)


class Checker:
    def __init__(self):
        self.problems = []
        self.checked = []

    def check(self, page, what):
        """axe at each width (WCAG A/AA and `region`), then the reflow at 320, 768 and 1920 px."""
        assert AXE.exists(), f"axe-core is missing at {AXE}: install the test extra (axe-playwright-python)"
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 800})
            if not page.evaluate("() => typeof axe !== 'undefined'"):
                page.add_script_tag(path=str(AXE))
            for violation in page.evaluate(RUN_AXE):
                if WCAG & set(violation["tags"]) or violation["id"] == "region":
                    self.problems.append(f"{what} @ {width}px: {violation['id']} ({violation['impact']}): "
                                         f"{violation['help']}\n      " + "\n      ".join(violation["nodes"]))
        for width in REFLOW_WIDTHS:
            self.reflow(page, what, width)
        page.set_viewport_size(VIEWPORT)
        self.checked.append(what)

    def reflow(self, page, what, width):
        page.set_viewport_size({"width": width, "height": 640 if width < 400 else 900})
        widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        if widths[0] > widths[1]:
            wide = page.evaluate("""() => Array.from(document.querySelectorAll('body, body *'))
                .filter(e => e.getClientRects().length && (e.getBoundingClientRect().right > window.innerWidth + 1
                             || e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === 'visible'))
                .slice(-4).map(e => e.tagName + '.' + e.className + '#' + e.id)""")
            self.problems.append(f"{what} @ {width}px: scrollWidth {widths[0]} > innerWidth {widths[1]} ({wide})")


def test_every_page_in_every_phase_passes_axe_and_reflows_from_320_to_1920_px(people, day_server):
    checker = Checker()
    moderation = Moderator(day_server)
    console = open_console(people, day_server).page
    organizer = people("organizer")
    organizer.page.goto(day_server.links["organizer view"])

    # Before the day: the doors, the venue's foyer, the console, the organizer's pages.
    guest = people("guest").page
    guest.goto(day_server.base_url + "/")
    checker.check(guest, "home")
    guest.goto(day_server.base_url + "/join/forged/")
    checker.check(guest, "invalid link")
    guest.goto(day_server.links["participant invite"])
    checker.check(guest, "join")
    page = join(people, day_server, "Miriam Hoffmann").page
    checker.check(page, "venue before the day")
    checker.check(console, "console before the day")
    checker.check(organizer.page, "organizer")

    # The minister's item: a question on the stage and a poll open.
    moderation.command("agenda.next")
    moderation.command("agenda.next")
    expect(page.locator("#now-playing h1")).to_contain_text("Integrationspolitik")
    page.locator("#ask-text").fill("Wie wird das Kommunale Integrationsmanagement finanziert?")
    page.get_by_role("button", name="Fragen", exact=True).click()
    console.locator("#questions .question").first.get_by_role("button", name="Jetzt beantworten").click()
    expect(page.locator("#stage .stage-question")).to_be_visible()
    moderation.command("poll.open", question="Wie bewerten Sie den Vortrag?", options="Gut\nMittel\nSchlecht")
    expect(page.locator("#poll .poll-vote")).to_be_visible()
    checker.check(page, "venue in the plenary (question on stage, poll open)")
    # The README's picture of the venue on a phone.
    page.set_viewport_size({"width": 390, "height": 844})
    page.evaluate("() => window.scrollTo(0, 0)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "participant-venue-phone.png")
    # On a phone the questions, the chat and the agenda are one tap away, and back to what is live.
    shortcuts = page.get_by_role("navigation", name="Bereiche des Veranstaltungsorts")
    for link, target in (("Fragen", "#questions"), ("Chat", "#chat"), ("Tagesordnung", "#agenda-heading"), ("Jetzt", "#now-playing")):
        shortcuts.get_by_role("link", name=link, exact=True).click()
        expect(page.locator(target)).to_be_in_viewport()
    page.set_viewport_size(VIEWPORT)
    # The same plenary in Arabic: the page mirrors and passes the same checks.
    reader = join(people, day_server, "Rania Haddad").page
    reader.locator('.topbar button[name="language"][value="ar"]').click()
    expect(reader.locator("html")).to_have_attribute("dir", "rtl")
    expect(reader.locator("html")).to_have_attribute("lang", "ar")
    expect(reader.locator("#stage .stage-question")).to_be_visible()
    checker.check(reader, "venue in the plenary, in Arabic")
    checker.check(console, "console in the plenary")
    # On a 1280 × 800 screen the moderator sees "Next", the hand queue and the questions at once.
    console.set_viewport_size({"width": 1280, "height": 800})
    console.evaluate("() => window.scrollTo(0, 0)")
    for part in ("#timeline .timeline-actions button.primary", "#now-playing .question-mode", "#hands .hand-queue",
                 "#questions .question"):
        box = console.locator(part).first.bounding_box()
        assert box and box["y"] >= 0 and box["y"] + min(box["height"], 40) <= 800, f"{part} is not in view at 1280×800: {box}"
    console.screenshot(path=SCREENSHOTS / "moderator-console-1280x800.png")

    # The lunch break: the lounge and a standing table.
    for _ in range(3):
        moderation.command("agenda.next")
    expect(page.locator("#place.place-lounge")).to_be_attached()
    checker.check(page, "venue in the lounge")
    page.locator(".table-card").first.get_by_role("button").click()
    expect(page.locator("#place.place-table")).to_be_attached()
    checker.check(page, "venue at a standing table")

    # The forums: choosing, then in one.
    moderation.command("agenda.next")
    expect(page.locator("#place.place-choose")).to_be_attached()
    checker.check(page, "venue choosing a forum")
    page.locator(".forum-choice").first.get_by_role("button").click()
    expect(page.locator("#place.place-forum")).to_be_attached()
    checker.check(page, "venue in a forum")
    checker.check(console, "console in the forums")

    # After the last item, with the documentation published.
    for _ in range(3):
        moderation.command("agenda.next")
    moderation.command("agenda.end")
    organizer.page.goto(day_server.links["organizer view"])
    organizer.page.get_by_role("button", name=re.compile("Dokumentation veröffentlichen")).click()
    expect(page.locator("#now-playing .documentation-link a")).to_be_visible()
    checker.check(page, "venue after the day")
    checker.check(console, "console after the day")
    checker.check(organizer.page, "organizer after the day")
    organizer.page.goto(day_server.base_url + "/organizer/attendance/")
    checker.check(organizer.page, "attendance")
    organizer.page.goto(day_server.base_url + page.locator("#now-playing .documentation-link a").get_attribute("href"))
    checker.check(organizer.page, "documentation")

    assert not checker.problems, f"{len(checker.problems)} problems on {len(checker.checked)} pages:\n" + "\n".join(checker.problems)
    assert_server_healthy(day_server)
