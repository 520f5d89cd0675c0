"""Raised hands, in the plenary or in a forum: raising, lowering, and the new item's clean slate.

Who takes the hands is the place's business: the plenary's queue is the console's, a forum's is
its facilitator's (rooms.signals.hands_changed tells them).
"""

import json

from django.db import IntegrityError, transaction
from django.utils import timezone

from rooms import signals
from rooms.models import Hand, Room, RoomKind
from venue import fanout, groups
from venue.errors import Refused
from venue.permissions import require_moderator


def raise_hand(person, room_id=None):
    """Ask to speak: in the plenary (`room_id` empty or the plenary) or in the forum one is in."""
    room = Room.objects.filter(pk=room_id, conference_id=person.conference_id, kind=RoomKind.FORUM).first() if room_id else None
    with transaction.atomic():
        try:
            with transaction.atomic():
                Hand.objects.create(conference_id=person.conference_id, person=person, room=room)
        except IntegrityError:
            raise Refused("hand_already_raised", "Your hand is already raised.") from None
        _hands_changed(person.conference_id, room)


def _hands_changed(conference_id, room):
    signals.hands_changed.send(sender=Hand, conference_id=conference_id, room_id=room.pk if room else None)


def lower_all(conference_id):
    """Every raised hand goes down (a new agenda item); each person's page is told."""
    raised = list(Hand.objects.filter(conference_id=conference_id, lowered_at=None).values_list("person_id", flat=True))
    if not raised:
        return
    Hand.objects.filter(conference_id=conference_id, lowered_at=None).update(lowered_at=timezone.now())
    message = json.dumps({"type": "hand", "hand": False})

    def tell():
        for person_id in raised:
            fanout.publish_sync(groups.person(person_id), message)

    transaction.on_commit(tell)


def lower_hand(person, *, by=None):
    """Lower one's own hand, or someone else's: the moderation anywhere, a facilitator in their forum."""
    by = by or person
    with transaction.atomic():
        hand = Hand.objects.filter(person=person, lowered_at=None).select_related("room").first()
        if hand is None:
            raise Refused("hand_not_raised", "That hand is not raised.")
        if by.pk != person.pk:
            leads_it = hand.room is not None and hand.room.facilitator_id == by.pk
            if not leads_it:
                require_moderator(by, person.conference_id)
        Hand.objects.filter(pk=hand.pk).update(lowered_at=timezone.now())
        _hands_changed(person.conference_id, hand.room)


def dismiss(person_id, *, by):
    """The moderation (anywhere) or a facilitator (in their forum) lowers someone's hand.

    Whoever else asks learns nothing: a participant is refused before anything is looked up, and
    a facilitator hears "not raised" alike for a hand that is down, a hand in another place and
    a person who does not exist."""
    moderates = by.may_moderate
    if not moderates and not Room.objects.filter(conference_id=by.conference_id, facilitator=by).exists():
        raise Refused("forbidden", "Only the moderation and facilitators lower other people's hands.")
    with transaction.atomic():
        hand = (
            Hand.objects.filter(person_id=person_id, person__conference_id=by.conference_id, lowered_at=None)
            .select_related("room").first()
        )
        if hand is None or not (moderates or (hand.room is not None and hand.room.facilitator_id == by.pk)):
            raise Refused("hand_not_raised", "That hand is not raised.")
        Hand.objects.filter(pk=hand.pk).update(lowered_at=timezone.now())
        _hands_changed(by.conference_id, hand.room)


def lower_hands_of(person_ids):
    """The raised hands of these people go down (they were erased); their queues are told."""
    hands = list(Hand.objects.filter(person_id__in=person_ids, lowered_at=None).select_related("room"))
    if not hands:
        return
    Hand.objects.filter(pk__in=[hand.pk for hand in hands]).update(lowered_at=timezone.now())
    for conference_id, room in {(hand.conference_id, hand.room) for hand in hands}:
        _hands_changed(conference_id, room)


def on_item_started(sender, item, **kwargs):
    """Hands raised for the last item are stale: a new item starts with an empty queue."""
    lower_all(item.conference_id)
