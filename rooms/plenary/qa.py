"""Questions to the live agenda item: ask, upvote once, and the moderation's hand on them."""

import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from agenda import state
from agenda.models import ItemState, QuestionMode
from rooms.models import Question, QuestionState, QuestionVote, StageMode
from rooms.plenary import stage
from rooms.plenary import view as plenary
from venue.errors import Refused
from venue.permissions import find, require_moderator

MAX_QUESTION_LENGTH = 500
# One question per person in this window keeps the list readable when the hall is busy.
QUESTION_INTERVAL = datetime.timedelta(seconds=10)

# Which moderation step may follow which state: the one table for questions.
MODERATION = {
    "approve": ({QuestionState.PENDING, QuestionState.HIDDEN}, QuestionState.VISIBLE),
    "hide": ({QuestionState.PENDING, QuestionState.VISIBLE, QuestionState.ANSWERED}, QuestionState.HIDDEN),
    "answering": ({QuestionState.VISIBLE, QuestionState.ANSWERED}, QuestionState.ANSWERING),
    "answered": ({QuestionState.ANSWERING, QuestionState.VISIBLE}, QuestionState.ANSWERED),
}


def ask(person, text, *, anonymous=False):
    if len(text) > MAX_QUESTION_LENGTH:
        raise Refused("too_long", f"A question may be at most {MAX_QUESTION_LENGTH} characters.")
    if not text.strip():
        raise Refused("missing_field", "The question is empty.")
    with transaction.atomic():
        item = state.live_item(person.conference_id)
        if item is None or item.question_mode == QuestionMode.CLOSED:
            raise Refused("questions_closed", "The live item takes no questions right now.")
        recent = Question.objects.filter(author=person, created_at__gte=timezone.now() - QUESTION_INTERVAL)
        if recent.exists():
            raise Refused("rate_limited", "Please wait a few seconds before asking again.")
        initial = QuestionState.PENDING if item.question_mode == QuestionMode.PREMODERATED else QuestionState.VISIBLE
        question = Question.objects.create(item=item, author=person, text=text, anonymous=anonymous, state=initial)
        plenary.changed(person.conference_id, "questions")
    return question


def vote(person, question_id):
    with transaction.atomic():
        question = find(Question, person.conference_id, question_id, path="item__conference_id",
                        message="There is no such question.")
        if question.state not in (QuestionState.VISIBLE, QuestionState.ANSWERING):
            raise Refused("not_votable", "This question cannot be voted on.")
        if question.item.state != ItemState.LIVE:
            raise Refused("questions_closed", "Its agenda item is over.")
        try:
            with transaction.atomic():
                QuestionVote.objects.create(question=question, person=person)
        except IntegrityError:
            raise Refused("already_voted", "You have already voted for this question.") from None
        Question.objects.filter(pk=question.pk).update(votes=F("votes") + 1)
        plenary.changed(person.conference_id, "questions", coalesce=True)
    question.refresh_from_db(fields=["votes"])
    return question


def moderate(conference_id, question_id, action, *, by):
    require_moderator(by, conference_id)
    allowed_from, target = MODERATION[action]
    with transaction.atomic():
        question = find(Question, conference_id, question_id, path="item__conference_id",
                        message="There is no such question.")
        if question.state not in allowed_from:
            raise Refused("invalid_state", f"A question that is {question.state} cannot be marked {action}.")
        parts = ["questions"]
        if target == QuestionState.ANSWERING:
            # One question is answered at a time; it shows on the stage.
            Question.objects.filter(item=question.item, state=QuestionState.ANSWERING).update(
                state=QuestionState.ANSWERED, answered_at=timezone.now()
            )
            _stage_question(conference_id, question, by)
            parts.append("stage")
        elif question.state == QuestionState.ANSWERING:
            _stage_question(conference_id, None, by)
            parts.append("stage")
        question.state = target
        if target == QuestionState.ANSWERED:
            question.answered_at = timezone.now()
        question.save(update_fields=["state", "answered_at"])
        plenary.changed(conference_id, *parts)
    return question


def on_item_ended(sender, item, **kwargs):
    """The question on the stage when its item ends was answered, whether or not anyone said so."""
    Question.objects.filter(item=item, state=QuestionState.ANSWERING).update(
        state=QuestionState.ANSWERED, answered_at=timezone.now()
    )


def _stage_question(conference_id, question, by):
    if question is not None:
        stage.show_on_stage(conference_id, StageMode.QUESTION, by=by, question=question)
    else:
        stage.show_on_stage(conference_id, StageMode.ITEM, by=by)


def merge(conference_id, question_id, into_id, *, by):
    """Fold a duplicate into another question; its votes count for the one that stays."""
    require_moderator(by, conference_id)
    if question_id == into_id:
        raise Refused("invalid_field", "A question cannot be merged into itself.")
    with transaction.atomic():
        duplicate = find(Question, conference_id, question_id, path="item__conference_id",
                         message="There is no such question.")
        keeper = find(Question, conference_id, into_id, path="item__conference_id",
                      message="There is no such question.")
        if duplicate.item_id != keeper.item_id:
            raise Refused("invalid_field", "Only questions to the same item can be merged.")
        if duplicate.state == QuestionState.MERGED or keeper.state in (QuestionState.MERGED, QuestionState.HIDDEN):
            raise Refused("invalid_state", "These questions cannot be merged.")
        # Votes move over, except from people who voted for both.
        already = QuestionVote.objects.filter(question=keeper).values("person_id")
        moved = QuestionVote.objects.filter(question=duplicate).exclude(person_id__in=already)
        moved_count = moved.update(question=keeper)
        QuestionVote.objects.filter(question=duplicate).delete()
        Question.objects.filter(pk=keeper.pk).update(votes=F("votes") + moved_count)
        duplicate.state = QuestionState.MERGED
        duplicate.merged_into = keeper
        duplicate.votes = 0
        duplicate.save(update_fields=["state", "merged_into", "votes"])
        plenary.changed(conference_id, "questions")
    keeper.refresh_from_db()
    return keeper
