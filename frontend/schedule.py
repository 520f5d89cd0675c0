"""The programme over HTTP: frab JSON/XML and iCalendar downloads for everyone at the venue; and
what a schedule's room names mean in this venue (for the organizers' upload and the command)."""

import json

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import translation

from agenda import schedule
from agenda.models import Phase
from frontend.views import signed_in
from rooms.models import Room, RoomKind
from venue.models import Conference

PHASE_OF_KIND = {RoomKind.PLENARY: Phase.PLENARY, RoomKind.LOUNGE: Phase.BREAK, RoomKind.FORUM: Phase.FORUMS}
FORMATS = {
    "json": "application/json; charset=utf-8",
    "xml": "application/xml; charset=utf-8",
    "ics": "text/calendar; charset=utf-8",
}


def places(conference):
    """{room name or slug, lower case: Place}. The forums' items happen in every forum at once:
    a forum's name, or the phase's name, means the forum phase."""
    out = {}
    for room in Room.objects.filter(conference=conference, kind__in=PHASE_OF_KIND):
        phase = PHASE_OF_KIND[room.kind]
        place = schedule.Place(None if phase == Phase.FORUMS else room.pk, phase, room.name)
        out[room.name.lower()] = out[room.slug.lower()] = place
    for language in ("de", "en"):
        with translation.override(language):
            out[str(Phase.FORUMS.label).lower()] = schedule.Place(None, Phase.FORUMS, str(Phase.FORUMS.label))
    return out


def room_namer(conference):
    """An item's room name in the exports: its room, or the phase's name for the forums."""
    names = dict(Room.objects.filter(conference=conference).values_list("pk", "name"))
    return lambda item: names.get(item.room_id) or str(item.get_phase_display())


def export(conference, kind, base_url):
    """The programme as bytes: frab "json" or "xml", or "ics"; in the conference's language."""
    with translation.override(settings.LANGUAGE_CODE):
        namer = room_namer(conference)
        if kind == "json":
            return json.dumps(schedule.as_frab_json(conference, namer, base_url), ensure_ascii=False, indent=1).encode()
        if kind == "xml":
            return schedule.as_frab_xml(conference, namer, base_url)
        return schedule.as_ical(conference, namer, base_url)


def import_file(conference, data):
    """Parse and import, or raise schedule.ScheduleError with nothing changed."""
    return schedule.import_programme(conference, schedule.parse(data), places(conference))


def programme(request, slug, kind):
    """The programme for the people of this conference (a file to save or add to a calendar)."""
    conference = get_object_or_404(Conference, slug=slug)
    person = signed_in(request)
    if person.conference_id != conference.pk or kind not in FORMATS:
        raise Http404
    response = HttpResponse(export(conference, kind, request.build_absolute_uri("/")), content_type=FORMATS[kind])
    response["Content-Disposition"] = f'attachment; filename="{conference.slug}-programme.{kind}"'
    return response
