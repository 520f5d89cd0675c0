"""The moderator console page; its buttons speak over the WebSocket (agenda.commands)."""

from django.shortcuts import render

from rooms import forums, presence
from rooms.models import Room, RoomKind
from venue.models import CONSOLE_ROLES
from venue.views import page_context, signed_in


def console(request):
    person = signed_in(request, *CONSOLE_ROLES)
    context = {
        **page_context(person),
        "presence": presence.counts(person.conference_id),
        "forum": forums.ForumView(person.conference_id),
        "overview": forums.overview(person.conference_id),
        "rooms": Room.objects.filter(conference_id=person.conference_id).exclude(kind=RoomKind.TABLE),
    }
    return render(request, "agenda/console.html", context)
