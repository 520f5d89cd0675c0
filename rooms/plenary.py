"""The plenary's live state as templates see it, and announcing its parts after a change.

Every change of plenary state goes through `changed()`: it bumps the conference's state version
in the same transaction and announces the named parts once the transaction has committed.
"""

from functools import cached_property

from django.db import transaction
from django.db.models import Count, F

from agenda import state
from agenda.models import AgendaItem, ItemState
from rooms import groups, render
from rooms.models import (
    ChatMessage,
    Hand,
    Poll,
    Question,
    QuestionState,
    QuestionVote,
    RoomKind,
    StageDisplay,
    StageSeat,
)
from venue.models import Conference

CHAT_HISTORY = 50

PARTS = {
    "stage": ("rooms/_stage.html",),
    "questions": ("rooms/_questions.html",),
    "poll": ("rooms/_poll.html",),
    "hands": ("rooms/_hands.html",),
    "chat": ("rooms/_chat.html",),
}
# Parts that only the console sees; everything else goes to both audiences.
CONSOLE_ONLY = {"hands"}
SNAPSHOT_PARTS = ("stage", "questions", "poll", "chat")


class Plenary:
    """Lazily loaded: a broadcast of one part reads only what that part shows."""

    def __init__(self, conference_id, day=None):
        self.conference_id = conference_id
        self._day = day

    @cached_property
    def day(self):
        return self._day or state.load(self.conference_id)

    @cached_property
    def item(self):
        """The item questions go to: the live one, else the last one that ran."""
        return self.day.live or AgendaItem.objects.filter(
            conference_id=self.conference_id, state=ItemState.DONE
        ).order_by("-order").first()

    @cached_property
    def display(self):
        return StageDisplay.objects.filter(conference_id=self.conference_id).select_related(
            "question__author", "poll", "result__room"
        ).first()

    @cached_property
    def seats(self):
        return list(StageSeat.objects.filter(conference_id=self.conference_id).select_related("person"))

    @cached_property
    def on_stage(self):
        """Speakers of the live item and whoever the moderator invited, in that order."""
        people = list(self.day.live.speaker_list) if self.day.live else []
        seen = {p.pk for p in people}
        return people + [s.person for s in self.seats if s.person_id not in seen]

    @cached_property
    def hands(self):
        return list(
            Hand.objects.filter(conference_id=self.conference_id, room=None, lowered_at=None).select_related("person")
        )

    def _questions(self, states):
        if self.item is None:
            return []
        return list(
            Question.objects.filter(item=self.item, state__in=states)
            .select_related("author")
            .annotate(duplicate_count=Count("duplicates"))
            .order_by("-votes", "created_at")
        )

    @cached_property
    def questions(self):
        return self._questions([QuestionState.ANSWERING, QuestionState.VISIBLE, QuestionState.ANSWERED])

    @cached_property
    def pending_questions(self):
        return self._questions([QuestionState.PENDING])

    @cached_property
    def answering(self):
        return next((q for q in self.questions if q.state == QuestionState.ANSWERING), None)

    @cached_property
    def poll(self):
        poll = Poll.objects.filter(conference_id=self.conference_id).order_by("-opened_at").first()
        if poll is None:
            return None
        options = list(poll.options.annotate(count=Count("votes")))
        total = sum(o.count for o in options)
        voters = poll.votes.values("person").distinct().count()
        for option in options:
            option.percent = round(100 * option.count / total) if total else 0
        poll.option_list = options
        poll.total_votes = total
        poll.voters = voters
        return poll

    @cached_property
    def chat_room(self):
        return next((r for r in self.day_rooms if r.kind == RoomKind.PLENARY), None)

    @cached_property
    def day_rooms(self):
        from rooms.models import Room

        return list(Room.objects.filter(conference_id=self.conference_id))

    @cached_property
    def chat_messages(self):
        if self.chat_room is None:
            return []
        recent = (
            ChatMessage.objects.filter(room=self.chat_room)
            .select_related("author")
            .order_by("-created_at")[:CHAT_HISTORY]
        )
        return list(reversed(recent))

    def context(self):
        return {"plenary": self, "chat": self, **self.day.as_context()}


def changed(conference_id, *parts, coalesce=False):
    """Record that plenary state changed; announce `parts` after the transaction commits.

    With `coalesce`, the announcement waits for the rest of a short window and goes out once
    for all changes in it (rooms/coalesce.py): for what a crowd does at once, like votes.
    """
    Conference.objects.filter(pk=conference_id).update(state_version=F("state_version") + 1)
    if coalesce:
        from rooms import coalesce as storm

        transaction.on_commit(lambda: storm.announce_soon(conference_id, *parts))
    else:
        transaction.on_commit(lambda: announce(conference_id, *parts))


def announce(conference_id, *parts):
    """Plenary parts go to the console and to the participants who are in the plenary room."""
    rendered, room_id = frames(conference_id, parts)
    for (audience, language), text in rendered.items():
        render.publish(conference_id, audience, language, text, room_id=room_id)


def frames(conference_id, parts, day=None):
    """`parts` rendered once per audience and language, and the plenary room's id.

    All parts for one audience make one frame: one socket write per person, not one per part.
    """
    view = Plenary(conference_id, day)
    context = view.context()
    rendered = {}
    for audience in groups.AUDIENCES:
        templates = [
            name
            for part in parts
            if audience == groups.CONSOLE or part not in CONSOLE_ONLY
            for name in PARTS[part]
        ]
        if templates:
            for language in render.languages():
                rendered[(audience, language)] = render.render(templates, context, audience, language)
    return rendered, view.chat_room.pk if view.chat_room else None


def render_console_snapshot(conference_id, language, day=None):
    """The console's plenary panels and the forums overview (participants get their place instead)."""
    from rooms import forums

    view = Plenary(conference_id, day)
    templates = [name for part in SNAPSHOT_PARTS + ("hands",) for name in PARTS[part]]
    context = {**view.context(), "forum": forums.ForumView(conference_id), "overview": forums.overview(conference_id)}
    return render.render(templates + ["agenda/_forums_overview.html"], context, groups.CONSOLE, language)


def me(person):
    """What differs for this one person: sent to them alone, applied by the page's script.

    Every connecting socket asks for this, so it reads only small things, no day state.
    """
    from rooms import forums
    from rooms.models import Poll, PollVote

    live = AgendaItem.objects.filter(conference_id=person.conference_id, state=ItemState.LIVE).first()
    item = live or AgendaItem.objects.filter(
        conference_id=person.conference_id, state=ItemState.DONE
    ).order_by("-order").first()
    voted = []
    if item is not None:
        voted = list(QuestionVote.objects.filter(person=person, question__item=item).values_list("question_id", flat=True))
    poll = Poll.objects.filter(conference_id=person.conference_id).order_by("-opened_at").values_list("pk", flat=True).first()
    poll_votes = list(PollVote.objects.filter(poll_id=poll, person=person).values_list("option_id", flat=True)) if poll else []
    on_stage = StageSeat.objects.filter(conference_id=person.conference_id, person=person).exists() or (
        live is not None and live.speakers.filter(pk=person.pk).exists()
    )
    return {
        "type": "me",
        "person": person.pk,
        "writer_of": forums.writers_of(person),
        "facilitates": list(person.facilitated_rooms.values_list("pk", flat=True)),
        "forum_choices": list(person.forum_choices.order_by("rank").values_list("room_id", flat=True)),
        "hand": Hand.objects.filter(person=person, lowered_at=None).exists(),
        "on_stage": on_stage,
        "voted_questions": voted,
        "poll_votes": poll_votes,
    }
