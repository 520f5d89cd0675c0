"""Six languages: the browser's language picks the page's, Arabic mirrors, every catalogue is complete."""

import re
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

LOCALE = Path(settings.BASE_DIR) / "frontend" / "locale"
TRANSLATED = [code for code, _name in settings.LANGUAGES if code != "en"]


def entries(output):
    # msgattrib prints the header entry (msgid "") too; count the others.
    return [m for m in re.findall(r'^msgid "(.*)"$', output, flags=re.M) if m]


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
