"""The documentation of the day: agenda, questions, polls, forum results and their materials.

What the organizers publish afterwards; it reads what was persisted during the day.
"""

from agenda.models import AgendaItem
from rooms.models import (
    Poll,
    PollState,
    Question,
    QuestionState,
    ReactionTally,
    ResultVersion,
    Room,
    RoomKind,
    Upload,
)
from rooms.plenary import captions, recording

SHOWN_QUESTIONS = (QuestionState.VISIBLE, QuestionState.ANSWERING, QuestionState.ANSWERED)


def build(conference):
    items = AgendaItem.with_speakers(list(AgendaItem.objects.filter(conference=conference).order_by("order")))
    questions = {}
    for question in Question.objects.filter(item__conference=conference, state__in=SHOWN_QUESTIONS).select_related("author").order_by("-votes", "created_at"):
        questions.setdefault(question.item_id, []).append(question)
    polls = {}
    for poll in Poll.objects.filter(conference=conference, state=PollState.REVEALED).order_by("opened_at"):
        polls.setdefault(poll.item_id, []).append(poll.with_results())
    applause = {}
    for tally in ReactionTally.objects.filter(conference=conference):
        applause[tally.item_id] = applause.get(tally.item_id, 0) + tally.count
    for item in items:
        item.documented_questions = questions.get(item.pk, [])
        item.documented_polls = polls.get(item.pk, [])
        item.reactions = applause.get(item.pk, 0)
    captions.attach_published(items)
    recording.attach_documented(items)
    forums = []
    for room in Room.objects.filter(conference=conference, kind=RoomKind.FORUM).select_related("facilitator").order_by("order"):
        latest = ResultVersion.objects.filter(room=room).order_by("-number").first()
        room.result = latest
        room.materials = list(Upload.objects.filter(room=room, removed_at=None))
        forums.append(room)
    return {"items": items, "forums": forums}
