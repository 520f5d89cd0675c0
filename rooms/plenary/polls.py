"""Polls: the moderator opens one, everybody votes once, the results go on the stage."""

from django.db import transaction
from django.utils import timezone

from agenda import state
from rooms.models import Poll, PollOption, PollState, PollVote, StageMode
from rooms.plenary import stage
from rooms.plenary import view as plenary
from venue.errors import Refused
from venue.permissions import find, require_stage_manager

MAX_OPTIONS = 8


def open_poll(conference_id, question, options, *, multiple=False, by):
    require_stage_manager(by, conference_id)
    choices = [line.strip() for line in options if line.strip()]
    if not question.strip():
        raise Refused("missing_field", "The poll needs a question.")
    if not 2 <= len(choices) <= MAX_OPTIONS:
        raise Refused("invalid_field", f"A poll has 2 to {MAX_OPTIONS} options.")
    if any(len(choice) > 120 for choice in choices):
        raise Refused("too_long", "An option may be at most 120 characters.")
    with transaction.atomic():
        # One poll at a time: opening a new one closes the one still open.
        Poll.objects.filter(conference_id=conference_id, state=PollState.OPEN).update(
            state=PollState.CLOSED, closed_at=timezone.now()
        )
        poll = Poll.objects.create(
            conference_id=conference_id, question=question.strip(), multiple=multiple, created_by=by,
            item=state.live_item(conference_id),
        )
        PollOption.objects.bulk_create(
            PollOption(poll=poll, text=text, order=index) for index, text in enumerate(choices)
        )
        plenary.changed(conference_id, "poll")
    return poll


def vote(person, poll_id, option_ids):
    with transaction.atomic():
        poll = find(Poll, person.conference_id, poll_id, message="There is no such poll.")
        if poll.state != PollState.OPEN:
            raise Refused("poll_closed", "This poll is closed.")
        option_ids = list(dict.fromkeys(option_ids))
        if not option_ids or (not poll.multiple and len(option_ids) > 1):
            raise Refused("invalid_field", "Choose one option." if not poll.multiple else "Choose at least one option.")
        options = list(PollOption.objects.filter(poll=poll, pk__in=option_ids))
        if len(options) != len(option_ids):
            raise Refused("not_found", "There is no such option in this poll.")
        if PollVote.objects.filter(poll=poll, person=person).exists():
            raise Refused("already_voted", "You have already voted in this poll.")
        PollVote.objects.bulk_create(PollVote(poll=poll, option=option, person=person) for option in options)
        plenary.changed(person.conference_id, "poll", coalesce=True)
    return poll


def close(conference_id, poll_id, *, by):
    require_stage_manager(by, conference_id)
    with transaction.atomic():
        poll = find(Poll, conference_id, poll_id, message="There is no such poll.")
        if poll.state != PollState.OPEN:
            raise Refused("poll_closed", "This poll is already closed.")
        poll.state = PollState.CLOSED
        poll.closed_at = timezone.now()
        poll.save(update_fields=["state", "closed_at"])
        plenary.changed(conference_id, "poll")
    return poll


def reveal(conference_id, poll_id, *, by):
    """Close the poll if needed and put its results on the stage as a bar chart."""
    require_stage_manager(by, conference_id)
    with transaction.atomic():
        poll = find(Poll, conference_id, poll_id, message="There is no such poll.")
        poll.state = PollState.REVEALED
        poll.closed_at = poll.closed_at or timezone.now()
        poll.save(update_fields=["state", "closed_at"])
        stage.show_on_stage(conference_id, StageMode.POLL, by=by, poll=poll)
        plenary.changed(conference_id, "poll", "stage")
    return poll
