"""Six languages: the browser's language picks the page's, Arabic mirrors, every catalogue is complete."""

import re
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from channels.db import database_sync_to_async
from django.test import Client

from tests.support.clients import connect
from venue import render

LOCALE = Path(settings.BASE_DIR) / "frontend" / "locale"
TRANSLATED = [code for code, _name in settings.LANGUAGES if code != "en"]


def entries(output):
    """The msgids of what msgattrib printed, without the header (the first entry, msgid "")."""
    blocks = re.findall(r'^msgid ((?:".*"\n)+)', output + "\n", flags=re.M)
    ids = ["".join(re.findall(r'"(.*)"', block)) for block in blocks]
    return [msgid for msgid in ids if msgid]


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_catalogue_is_complete_and_nothing_is_fuzzy(language):
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    untranslated = subprocess.run(["msgattrib", "--untranslated", "--no-obsolete", str(po)], capture_output=True, text=True, check=True)
    fuzzy = subprocess.run(["msgattrib", "--only-fuzzy", "--no-obsolete", str(po)], capture_output=True, text=True, check=True)
    assert entries(untranslated.stdout) == [], f"{language}: untranslated"
    assert entries(fuzzy.stdout) == [], f"{language}: fuzzy"
    assert (po.parent / "django.mo").stat().st_mtime_ns and (po.parent / "django.mo").exists()
    subprocess.run(["msgfmt", "--check-format", "-o", "/dev/null", str(po)], check=True)


@pytest.mark.parametrize(
    "accept, lang, direction, words",
    [
        ("tr-TR,tr;q=0.9", "tr", "ltr", "Katılmak için"),
        ("ar", "ar", "rtl", "للمشاركة"),
        ("uk-UA,uk;q=0.9,ru;q=0.5", "uk", "ltr", "Щоб узяти участь"),
        ("ru", "ru", "ltr", "Чтобы принять участие"),
        ("de-DE,de;q=0.9,en;q=0.5", "de", "ltr", "Einladungslink"),
    ],
)
def test_the_browsers_language_picks_the_page_and_arabic_is_right_to_left(conference, accept, lang, direction, words):
    page = Client().get("/", HTTP_ACCEPT_LANGUAGE=accept).content.decode()
    assert f'<html lang="{lang}" dir="{direction}">' in page
    assert words in page


def test_the_switch_on_the_page_offers_every_language_and_keeps_the_choice(conference):
    browser = Client()
    page = browser.get("/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    for code, _name in settings.LANGUAGES:
        assert f'value="{code}"' in page
    browser.post("/i18n/setlang/", {"language": "ar", "next": "/"})
    assert 'dir="rtl"' in browser.get("/", HTTP_ACCEPT_LANGUAGE="de").content.decode()


async def test_frames_are_rendered_in_the_languages_people_read_and_a_turkish_reader_gets_turkish(conference, moderator, participants, layer):
    assert await database_sync_to_async(render.languages_of)(conference.pk) == ["de"]
    console = await connect(moderator, "de")
    ayse = await connect(participants[0], "tr")
    olena = await connect(participants[1], "uk")
    jana = await connect(participants[2], "de")
    for client in (console, ayse, olena, jana):
        await client.receive()
    assert await database_sync_to_async(render.languages_of)(conference.pk) == ["de", "tr", "uk"]

    assert (await console.command("agenda.next"))["type"] == "ack"
    for client, kicker, other in ((ayse, "Şimdi", "Jetzt"), (olena, "Зараз", "Jetzt"), (jana, "Jetzt", "Şimdi")):
        frame = await client.receive_until(lambda f: 'id="now-playing"' in f)
        assert kicker in frame and other not in frame, kicker
    for client in (console, ayse, olena, jana):
        await client.close()
