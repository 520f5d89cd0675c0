"""The morning in real browsers: a question is asked, upvoted and answered on stage; a poll runs."""

import re

import pytest
from playwright.sync_api import expect

from tests.support.browser import (
    MINISTER,
    QUESTION,
    assert_no_javascript_errors,
    assert_server_healthy,
    click_next,
    join,
    open_console,
)
from tests.support.servers import ROOT

pytestmark = pytest.mark.browser


def test_the_ministers_talk_with_questions_and_a_poll(visitors, venue_server):
    moderator = open_console(visitors, venue_server)
    console = moderator.page
    miriam = join(visitors, venue_server, "Miriam Hoffmann")
    yusuf = join(visitors, venue_server, "Yusuf Demir")
    audience = [miriam.page, yusuf.page]

    click_next(console, "Begrüßung")
    click_next(console, MINISTER)
    for page in audience:
        expect(page.locator("#stage")).to_contain_text(MINISTER)
        expect(page.locator("#stage .tile-name")).to_have_text("Dr. Joachim Stamp")

    # Miriam asks; Yusuf sees it live and upvotes it once.
    miriam.page.locator("#ask-text").fill(QUESTION)
    miriam.page.get_by_role("button", name="Fragen", exact=True).click()
    question = yusuf.page.locator("#questions [data-question]", has_text=QUESTION)
    expect(question).to_be_visible()
    expect(miriam.page.locator("#ask-text")).to_have_value("")
    question.get_by_role("button", name="Für diese Frage stimmen").click()
    for page in (miriam.page, yusuf.page, console):
        expect(page.locator("#questions [data-question]", has_text=QUESTION).locator(".votes")).to_have_text("1")
    expect(yusuf.page.locator("#questions [data-question]", has_text=QUESTION)).to_have_class(re.compile(r"\bvoted\b"))

    # The moderator sees the asker's name and puts the question on the stage.
    in_console = console.locator("#questions [data-question]", has_text=QUESTION)
    expect(in_console).to_contain_text("Miriam Hoffmann")
    in_console.get_by_role("button", name="Jetzt beantworten").click()
    for page in audience:
        expect(page.locator("#stage .stage-question")).to_have_text(QUESTION)
        expect(page.locator("#questions [data-question]", has_text=QUESTION)).to_contain_text("wird beantwortet")

    # A poll: opened in the console, voted by both, revealed as a bar chart on every stage.
    console.locator("#poll input[name=question]").fill("Wie beurteilen Sie die Integrationsarbeit im Kreis?")
    console.locator("#poll textarea[name=options]").fill("sehr gut\ngut\nausbaufähig")
    console.get_by_role("button", name="Umfrage starten").click()
    for page, answer in ((miriam.page, "gut"), (yusuf.page, "sehr gut")):
        expect(page.locator("#poll .poll-question")).to_have_text("Wie beurteilen Sie die Integrationsarbeit im Kreis?")
        page.locator("#poll .poll-option", has_text=re.compile(f"^\\s*{answer}\\s*$")).locator("input").check()
        page.get_by_role("button", name="Abstimmen").click()
        expect(page.locator("#poll .voted-note")).to_be_visible()
    expect(console.locator("#poll")).to_contain_text("2 Stimmen")
    console.get_by_role("button", name="Ergebnis auf der Bühne zeigen").click()
    for page in audience:
        results = page.locator("#stage .poll-results")
        expect(results).to_contain_text("Wie beurteilen Sie die Integrationsarbeit im Kreis?")
        expect(results.locator(".bars li")).to_have_count(3)
        expect(results.locator(".bars li", has_text="ausbaufähig")).to_contain_text("0 (0%)")
        expect(results.locator(".bars li", has_text="sehr gut")).to_contain_text("1 (50%)")

    # Applause from both becomes one short-lived aggregate on the stage column.
    for page in audience:
        page.locator(".reaction-button[data-kind=applause]").click()
    expect(console.locator("#reactions .burst").first).to_be_attached()

    # An announcement to everyone from the console's form (its room choice left at "everyone").
    console.locator("input[name=text][maxlength='500']").first.fill("Die Fachforen beginnen um 13:15 Uhr.")
    console.get_by_role("button", name="Durchsage senden").click()
    for page in audience:
        expect(page.locator("#announcements")).to_contain_text("Die Fachforen beginnen um 13:15 Uhr.")

    miriam.page.screenshot(path=str(ROOT / "docs" / "screenshots" / "plenary-question-and-poll.png"), full_page=True)
    # All of the above ran under the Content-Security-Policy: a violation is a console error.
    assert_no_javascript_errors(moderator, miriam, yusuf)
    # And it is on: a script slipped into the page does not run.
    injected = miriam.page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.plenumInjected = 1';"
        " document.body.appendChild(s); return window.plenumInjected === 1; }"
    )
    assert injected is False
    assert_server_healthy(venue_server)
