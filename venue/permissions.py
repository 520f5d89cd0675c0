"""Permission checks shared by the plenary's domain functions."""

from venue.errors import Refused


def require_moderator(person, conference_id):
    if person.conference_id != conference_id or not person.may_moderate:
        raise Refused("forbidden", "Only the moderation may do that.")


def require_stage_manager(person, conference_id):
    if person.conference_id != conference_id or not person.may_run_agenda:
        raise Refused("forbidden", "Only the moderator may manage the stage.")


def find(model, conference_id, pk, *, path="conference_id", message="There is no such thing here."):
    """An object of this conference by id; a forged or foreign id is simply not found."""
    found = model.objects.filter(pk=pk, **{path: conference_id}).first()
    if found is None:
        raise Refused("not_found", message)
    return found
