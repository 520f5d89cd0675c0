"""The plenary's live state as templates see it, and publishing its parts after a change.

Every change of plenary state goes through `changed()`: it bumps the conference's state version
in the same transaction and publishes the named parts once the transaction has committed.
"""

from functools import cached_property

from django.db import transaction
from django.db.models import Count

from agenda import state
from agenda.models import AgendaItem
from rooms import chat
from rooms.models import (
    Hand,
    Interpreter,
    ItemRecording,
    Poll,
    PollVote,
    Question,
    QuestionState,
    QuestionVote,
    Room,
    RoomKind,
    StageDisplay,
    StageSeat,
)
from rooms.models.interpretation import SIGN_LANGUAGE
from rooms.plenary import interpretation
from venue import groups, render, version
from venue.coalesce import publish_soon
from venue.prepared import tagged

PARTS = {
    "stage": ("plenary/_stage.html",),
    "questions": ("plenary/_questions.html",),
    "poll": ("plenary/_poll.html",),
    "hands": ("plenary/_hands.html",),
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
        return self.day.live or state.last_finished(self.conference_id)

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
    def sign_by_default(self):
        """The organizers want the live item's sign-language interpreter seen by everyone who
        has not switched the tile off."""
        return self.day.live is not None and Interpreter.objects.filter(
            item=self.day.live, language=SIGN_LANGUAGE, shown_by_default=True
        ).exists()

    @cached_property
    def recording(self):
        """The plenary is being recorded now: everyone sees the mark on the stage."""
        return ItemRecording.objects.filter(conference_id=self.conference_id, stopped_at=None).exists()

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
        return poll.with_results() if poll else None

    @cached_property
    def chat_room(self):
        return next((r for r in self.day_rooms if r.kind == RoomKind.PLENARY), None)

    @cached_property
    def day_rooms(self):
        return list(Room.objects.filter(conference_id=self.conference_id))

    def context(self):
        return {
            "plenary": self, "chat": chat.RoomChat(self.chat_room), **self.day.as_context(),
            "interpretation_languages": interpretation.languages(),
        }


def changed(conference_id, *parts, coalesce=False):
    """Record that plenary state changed; publish `parts` after the transaction commits.

    With `coalesce`, the parts wait for the rest of a short window and go out once for all
    changes in it (venue/coalesce.py): for what a crowd does at once, like votes.
    """
    version.bump(conference_id)
    if not parts:
        return
    if coalesce:
        transaction.on_commit(lambda: publish_soon(publish, conference_id, *parts))
    else:
        transaction.on_commit(lambda: publish(conference_id, *parts))


def publish(conference_id, *parts):
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
    spoken = render.languages_of(conference_id)
    for audience in groups.AUDIENCES:
        templates = [
            name
            for part in parts
            if audience == groups.CONSOLE or part not in CONSOLE_ONLY
            for name in PARTS[part]
        ]
        if templates:
            for language in spoken:
                rendered[(audience, language)] = render.render(templates, context, audience, language)
    return rendered, view.chat_room.pk if view.chat_room else None


def console_parts(conference_id, day=None):
    """The names of the templates of every plenary part the console shows, and their context."""
    view = Plenary(conference_id, day)
    return [name for part in SNAPSHOT_PARTS + ("hands",) for name in PARTS[part]], view.context()


def personal_reads(person, conference, item, poll):
    """What `mine` needs of one person's own rows, as parts of one read with the other places'
    (venue.prepared.Tagged, in frontend.frames.me_for_each): `item` is the live or last item and `poll`
    the latest poll, each 0 for none."""
    return [
        tagged(QuestionVote.objects.filter(person_id=person, question__item_id=item), "voted", "question_id"),
        tagged(PollVote.objects.filter(poll_id=poll, person_id=person), "poll_vote", "option_id"),
        tagged(StageSeat.objects.filter(conference_id=conference, person_id=person), "seated", "pk"),
        tagged(AgendaItem.speakers.through.objects.filter(agendaitem_id=item, person_id=person), "speaks", "pk"),
        tagged(Hand.objects.filter(person_id=person, lowered_at=None), "hand", "pk"),
    ]


def personal_arguments(conference_id):
    """The arguments of `personal_reads` besides the person, read once per state version."""
    live = state.live_item(conference_id)
    item = live or state.last_finished(conference_id)
    poll = version.shared(
        conference_id, "latest_poll",
        lambda: Poll.objects.filter(conference_id=conference_id).order_by("-opened_at").values_list("pk", flat=True).first(),
    )
    return {"conference": conference_id, "item": item.pk if item else 0, "poll": poll or 0}, live


def mine(found, live, item):
    """What differs in the plenary for this one person (their hand, their votes, their seat),
    from what `personal_reads` found; `live` is the live item (or None), `item` the id read."""
    return {
        "hand": bool(found["hand"]),
        # Speakers of the live item are on stage; of the last one, no longer.
        "on_stage": bool(found["seated"]) or (live is not None and live.pk == item and bool(found["speaks"])),
        "voted_questions": found["voted"],
        "poll_votes": found["poll_vote"],
    }


def on_hands_changed(sender, conference_id, room_id, **kwargs):
    if room_id is None:
        changed(conference_id, "hands")
