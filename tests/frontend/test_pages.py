"""Joining by link and the pages each role may open."""

import pytest
from django.test import Client

from tests.support.clients import someone
from venue.auth import SESSION_KEY
from venue.models import Invite, Person, Role


@pytest.fixture
def invite(conference):
    return conference.invites.get(role=Role.PARTICIPANT)


def test_a_participant_joins_by_invite_link_with_a_display_name(conference, invite):
    browser = Client()
    page = browser.get(f"/join/{invite.token}/")
    assert page.status_code == 200
    assert "Willkommen bei Vielfalt leben im Kreis Heinsberg" in page.content.decode()
    response = browser.post(f"/join/{invite.token}/", {"display_name": "  Ada   Lovelace ", "organization": "VHS"})
    assert response.status_code == 302 and response["Location"] == "/venue/"
    person = Person.objects.get(display_name="Ada Lovelace")
    assert person.role == Role.PARTICIPANT and person.organization == "VHS"
    assert browser.session[SESSION_KEY] == person.pk
    venue = browser.get("/venue/").content.decode()
    assert "Programm des Tages" in venue and "Begrüßung" in venue and 'ws-connect="/ws/venue/?lang=de"' in venue
    invite.refresh_from_db()
    assert invite.uses == 1


def test_an_empty_name_is_refused(conference, invite):
    response = Client().post(f"/join/{invite.token}/", {"display_name": "   "})
    assert response.status_code == 200
    assert not Person.objects.filter(display_name="").exists()


def test_a_revoked_or_forged_invite_link_does_not_let_anyone_in(conference, invite):
    from django.utils import timezone

    invite.revoked_at = timezone.now()
    invite.save()
    for token in (invite.token, "forged-token"):
        response = Client().post(f"/join/{token}/", {"display_name": "Mallory"})
        assert response.status_code == 404
        assert "nicht gültig" in response.content.decode()
    assert not Person.objects.filter(display_name="Mallory").exists()


def test_personal_links_land_each_role_on_its_page(conference):
    for role, page in ((Role.MODERATOR, "/console/"), (Role.ORGANIZER, "/organizer/"), (Role.PARTICIPANT, "/venue/")):
        browser = Client()
        response = browser.get(f"/p/{someone(conference, role).token}/")
        assert response["Location"] == page
        assert browser.get(page).status_code == 200


def test_a_co_moderators_personal_link_leads_to_the_console(conference):
    comoderator = Person.objects.create(conference=conference, display_name="Co", role=Role.COMODERATOR)
    browser = Client()
    assert browser.get(f"/p/{comoderator.token}/")["Location"] == "/console/"
    assert browser.get("/console/").status_code == 200


def test_the_console_shows_the_timeline_with_start_and_next(conference, moderator):
    browser = Client()
    browser.get(f"/p/{moderator.token}/")
    html = browser.get("/console/").content.decode()
    assert 'id="timeline"' in html and 'value="agenda.next"' in html and 'value="agenda.start"' in html
    assert "Fachforen" in html and "Stehtisch-Lounge" in html
    assert 'id="presence"' in html


def test_participants_may_not_open_the_console_or_organizer_page(conference, participants):
    browser = Client()
    browser.get(f"/p/{participants[0].token}/")
    assert browser.get("/console/").status_code == 403
    assert browser.get("/organizer/").status_code == 403
    assert Client().get("/venue/").status_code == 403


def test_an_organizer_revokes_an_invite_and_reaches_the_admin(conference, invite):
    organizer = someone(conference, Role.ORGANIZER)
    browser = Client()
    browser.get(f"/p/{organizer.token}/")
    page = browser.get("/organizer/").content.decode()
    assert f"/join/{invite.token}/" in page
    assert browser.post(f"/organizer/invites/{invite.pk}/revoke/").status_code == 302
    assert Invite.objects.get(pk=invite.pk).revoked_at is not None
    assert browser.get(f"/join/{invite.token}/").status_code == 404
    assert browser.get("/admin/agenda/agendaitem/").status_code == 200


def test_a_participant_may_not_revoke_invites(conference, invite, participants):
    browser = Client()
    browser.get(f"/p/{participants[0].token}/")
    assert browser.post(f"/organizer/invites/{invite.pk}/revoke/").status_code == 403
    assert Invite.objects.get(pk=invite.pk).revoked_at is None


def test_an_organizer_makes_a_new_invite_link_for_speakers(conference):
    organizer = someone(conference, Role.ORGANIZER)
    browser = Client()
    browser.get(f"/p/{organizer.token}/")
    assert browser.post("/organizer/invites/", {"label": "Podium", "role": "speaker"}).status_code == 302
    invite = Invite.objects.get(label="Podium")
    assert invite.role == Role.SPEAKER and len(invite.token) >= 40
    assert f"/join/{invite.token}/" in browser.get("/organizer/").content.decode()
    participant = Client()
    participant.get(f"/p/{someone(conference, Role.PARTICIPANT).token}/")
    assert participant.post("/organizer/invites/", {"label": "Hintertür", "role": "moderator"}).status_code == 403
    assert not Invite.objects.filter(label="Hintertür").exists()


def test_every_page_forbids_inline_scripts_and_eval_and_marks_forms_without_hx_on(conference, invite):
    moderator = someone(conference, Role.MODERATOR)
    browser = Client()
    browser.get(f"/p/{moderator.token}/")
    for url in (f"/join/{invite.token}/", "/console/", "/"):
        page = browser.get(url, follow=True)
        policy = page["Content-Security-Policy"]
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
        assert directives["script-src"] == "'self'", policy
        assert "unsafe-inline" not in directives["script-src"] and "unsafe-eval" not in directives["script-src"]
        assert "default-src" in directives and directives["frame-ancestors"] == "'none'"
        html = page.content.decode()
        assert "hx-on" not in html and "<script>" not in html
    console = browser.get("/console/").content.decode()
    assert "data-reset-after-send" in console and '"allowEval": false' in console
