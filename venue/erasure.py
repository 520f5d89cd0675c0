"""Erasing a person: their personal data goes, what they did stays counted.

The person's row stays as a tombstone without a name ("Gelöschte Person"), e-mail, organization
or working link, so that their questions, chat messages, votes and board comments keep their
text and their counts; the floors above forget whatever of their own rows still names them
(attendance, questions shown by name) through `signals.person_erased`, in the same transaction.
Their sockets close as for a revoked link.
"""

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import pgettext

from venue import access, signals
from venue.models import Person, new_token


def tombstone_name():
    """What an erased person is called, in the conference's language (it is stored, not shown
    per reader: a name is one string)."""
    with translation.override(settings.LANGUAGE_CODE):
        return pgettext("erased person", "Deleted person")


def erase(people) -> list[int]:
    """Erase these people (one conference's); returns the ids of those erased now (not before)."""
    now = timezone.now()
    by_conference = {}
    with transaction.atomic():
        # Check: whoever is erased already stays as they are.
        rows = list(Person.objects.select_for_update().filter(pk__in=[p.pk for p in people], erased_at=None))
        # Do: the row keeps its number and role; nothing in it says who it was.
        for person in rows:
            person.display_name, person.organization, person.email = tombstone_name(), "", ""
            person.token, person.invited_at, person.invite, person.user = new_token(), None, None, None
            person.revoked_at, person.erased_at = person.revoked_at or now, now
            by_conference.setdefault(person.conference_id, []).append(person.pk)
        Person.objects.bulk_update(rows, ["display_name", "organization", "email", "token", "invited_at", "invite",
                                          "user", "revoked_at", "erased_at"])
        # The admin's history named them too.
        LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(Person),
                                object_id__in=[str(person.pk) for person in rows]).update(object_repr=tombstone_name())
        # Notify: the floors above forget their rows now, the sockets close after the commit.
        for conference_id, person_ids in by_conference.items():
            signals.person_erased.send(sender=None, conference_id=conference_id, person_ids=person_ids)
            access.notify_revoked(conference_id, person_ids)
    return [pk for person_ids in by_conference.values() for pk in person_ids]
