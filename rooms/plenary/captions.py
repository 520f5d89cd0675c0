"""Live captions: a captioner types what the floor says, line by line, for everyone who switched
captions on; the lines of an item are its transcript, which the organizers may publish.

A second captioner takes over by typing: lines are shown in the order they were stored, whoever
typed them, so there is no hand-over step that could leave a gap.
"""

import json

from django.db import transaction
from django.utils import timezone

from agenda import state
from agenda.models import AgendaItem, Phase
from rooms.models import CaptionLine, PublishedTranscript
from rooms.models.captions import MAX_LINE_LENGTH
from venue import fanout, groups
from venue.errors import Refused
from venue.models import Role
from venue.permissions import find

# What a page that switches captions on (or reconnects) gets of the live item's lines.
RECENT_LINES = 20


def check_line(person, text):
    if person.role != Role.CAPTIONER:
        raise Refused("forbidden", "Only captioners may write captions.")
    item = state.live_item(person.conference_id)
    if item is None or item.phase != Phase.PLENARY:
        raise Refused("not_plenary", "Captions are written while a plenary item is live.")
    if not text.strip():
        raise Refused("missing_field", "A caption line must not be empty.")
    if len(text) > MAX_LINE_LENGTH:
        raise Refused("too_long", f"A caption line is at most {MAX_LINE_LENGTH} characters.")
    return item


def add_line(person, text):
    """Check, store, then announce one line to the pages that follow captions."""
    item = check_line(person, text)
    with transaction.atomic():
        line = CaptionLine.objects.create(conference_id=person.conference_id, item=item, by=person, text=text.strip())
        transaction.on_commit(lambda: notify_line(line))
    return line


def as_message(line):
    return {"seq": line.pk, "item": line.item_id, "text": line.text}


def notify_line(line):
    fanout.publish_sync(groups.captions(line.conference_id), json.dumps({"type": "caption", **as_message(line)}))


def recent(conference_id):
    """The last lines of the live item, oldest first: what a page shows when it switches captions on."""
    item = state.live_item(conference_id)
    if item is None:
        return []
    lines = list(CaptionLine.objects.filter(item=item).order_by("-pk")[:RECENT_LINES])
    return [as_message(line) for line in reversed(lines)]


def transcript(item_id):
    return list(CaptionLine.objects.filter(item_id=item_id).values_list("text", flat=True))


def items_with_captions(conference_id):
    """Every item that has caption lines, with how many and whether its transcript is published."""
    items = list(
        AgendaItem.objects.filter(conference_id=conference_id, caption_lines__isnull=False)
        .distinct()
        .order_by("order")
    )
    published = set(PublishedTranscript.objects.filter(item__in=items).values_list("item_id", flat=True))
    counts = {}
    for item_id in CaptionLine.objects.filter(item__in=items).values_list("item_id", flat=True):
        counts[item_id] = counts.get(item_id, 0) + 1
    for item in items:
        item.caption_count = counts.get(item.pk, 0)
        item.transcript_published = item.pk in published
    return items


def publish_transcript(conference_id, item_id, published, *, by):
    """The organizer puts an item's transcript on the documentation page, or takes it off."""
    if by.conference_id != conference_id or by.role != Role.ORGANIZER:
        raise Refused("forbidden", "Only organizers may publish transcripts.")
    item = find(AgendaItem, conference_id, item_id, message="There is no such agenda item.")
    with transaction.atomic():
        if published:
            PublishedTranscript.objects.get_or_create(item=item, defaults={"published_by": by, "published_at": timezone.now()})
        else:
            PublishedTranscript.objects.filter(item=item).delete()
    return item


def attach_published(items):
    """Sets `transcript` (the lines, or an empty list) on each item whose transcript is published."""
    published = set(PublishedTranscript.objects.filter(item__in=items).values_list("item_id", flat=True))
    lines = {}
    for item_id, text in CaptionLine.objects.filter(item_id__in=published).values_list("item_id", "text"):
        lines.setdefault(item_id, []).append(text)
    for item in items:
        item.transcript = lines.get(item.pk, [])
    return items
