"""Taking access away: revoking one person's personal link, or a shared invite link together
with everyone who joined through it. The sockets follow through `signals.access_revoked`."""

from django.db import transaction
from django.utils import timezone

from venue import signals
from venue.models import Invite, Person


def revoke_person(person: Person) -> bool:
    """Revoke one person. Returns False if they were revoked already."""
    with transaction.atomic():
        changed = Person.objects.filter(pk=person.pk, revoked_at=None).update(revoked_at=timezone.now())
        if changed:
            notify_revoked(person.conference_id, [person.pk])
    return bool(changed)


def revoke_invite(invite: Invite) -> list[int]:
    """Revoke a shared link and everyone who joined through it; returns their ids."""
    now = timezone.now()
    with transaction.atomic():
        Invite.objects.filter(pk=invite.pk, revoked_at=None).update(revoked_at=now)
        # Locked in the order of their ids, as connecting sockets lock people (venue.auth.people_for):
        # a storm's admission and this revocation then never wait for each other in a circle.
        people = Person.objects.select_for_update().filter(invite_id=invite.pk, revoked_at=None).order_by("pk")
        person_ids = list(people.values_list("pk", flat=True))
        Person.objects.filter(pk__in=person_ids).update(revoked_at=now)
        if person_ids:
            notify_revoked(invite.conference_id, person_ids)
    return person_ids


def notify_revoked(conference_id, person_ids):
    """After the commit: these people's sockets close in every process."""
    transaction.on_commit(
        lambda: signals.access_revoked.send(sender=None, conference_id=conference_id, person_ids=person_ids)
    )
