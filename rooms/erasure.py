"""What the places forget of a person: their connections stop naming them (the attendee number
keeps the attendance counted), their questions are anonymous to the audience and a raised hand
goes down. Done for an erased person (`venue.signals.person_erased`, in the erasure's
transaction) and, for everyone of a conference, when its retention period is over
(`rooms.retention`)."""

from rooms import hands
from rooms.models import Connection, Question


def forget(person_ids):
    """Returns how many connections no longer name their person."""
    Question.objects.filter(author_id__in=person_ids, anonymous=False).update(anonymous=True)
    hands.lower_hands_of(person_ids)
    return Connection.objects.filter(person_id__in=person_ids).update(person=None)


def on_person_erased(sender, conference_id, person_ids, **kwargs):
    forget(person_ids)
