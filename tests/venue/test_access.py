"""Taking access away: a revoked invite link takes everyone who joined through it along."""

from django.test import Client

from venue import access, signals
from venue.models import Invite, Person, Role


def join_through(invite, name):
    browser = Client()
    response = browser.post(f"/join/{invite.token}/", {"display_name": name, "organization": ""})
    assert response.status_code == 302, response.content[:300]
    return browser, Person.objects.get(display_name=name)


def test_revoking_an_invite_link_revokes_who_joined_through_it_and_tells_the_sockets(conference):
    invite = Invite.objects.create(conference=conference, label="Presse", role=Role.PARTICIPANT)
    other = Invite.objects.create(conference=conference, label="Verwaltung", role=Role.PARTICIPANT)
    heard = []

    def receiver(sender, conference_id, person_ids, **kwargs):
        heard.append((conference_id, sorted(person_ids)))

    signals.access_revoked.connect(receiver)
    try:
        press_a, a = join_through(invite, "Presse A")
        press_b, b = join_through(invite, "Presse B")
        staff, c = join_through(other, "Verwaltung C")
        assert access.revoke_invite(invite) and not access.revoke_person(a)
    finally:
        signals.access_revoked.disconnect(receiver)

    assert heard == [(conference.pk, sorted([a.pk, b.pk]))]
    assert press_a.get("/venue/").status_code == 403
    assert press_b.get("/venue/").status_code == 403
    assert staff.get("/venue/").status_code == 200
    assert Client().get(f"/join/{invite.token}/").status_code == 404
    assert access.revoke_person(c) and not access.revoke_person(c)
    assert staff.get("/venue/").status_code == 403
