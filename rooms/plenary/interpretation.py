"""Interpretation channels of the plenary: an interpreter goes on air in their language, which
takes the channel from whoever was on air in it (the hand-over: exactly one at a time).

Stored here first; then the SFU (rooms.media.sfu.SFU.set_on_air) switches the listeners' slot
from one interpreter's microphone to the other's.
"""

from django.db import transaction
from django.utils import timezone

from agenda import state
from agenda.models import Phase
from rooms.models import InterpretationChannel, Interpreter
from rooms.models.interpretation import SPOKEN_LANGUAGES
from venue.errors import Refused
from venue.models import Role


def check_interpreter(person):
    """The language `person` interprets the live plenary item into, or Refused."""
    if person.role != Role.INTERPRETER:
        raise Refused("forbidden", "Only interpreters go on air.")
    item = state.live_item(person.conference_id)
    if item is None or item.phase != Phase.PLENARY:
        raise Refused("not_plenary", "Interpretation runs while a plenary item is live.")
    language = Interpreter.objects.filter(item=item, person=person).values_list("language", flat=True).first()
    if language is None:
        raise Refused("not_interpreting", "You are not an interpreter of the live item.")
    return language


def go_on_air(person, on):
    """On: this interpreter's microphone is their language's channel now (whoever had it is
    off). Off: the channel falls back to the floor, if it was theirs. Returns (language, the
    person on air or None)."""
    language = check_interpreter(person)
    with transaction.atomic():
        channel, _created = InterpretationChannel.objects.select_for_update().get_or_create(
            conference_id=person.conference_id, language=language
        )
        if on:
            channel.on_air, channel.since = person, timezone.now()
        elif channel.on_air_id == person.pk:
            channel.on_air, channel.since = None, timezone.now()
        channel.save()
    return language, channel.on_air_id


def on_item_started(sender, item, **kwargs):
    """A new item has interpreters of its own: nobody is on air until one of them goes on air
    (the media side follows in commands.on_item_started_by)."""
    InterpretationChannel.objects.filter(conference_id=item.conference_id, on_air__isnull=False).update(
        on_air=None, since=timezone.now()
    )


def languages():
    """What a listener may choose besides the floor: (code, name in that language)."""
    return sorted(SPOKEN_LANGUAGES.items())
