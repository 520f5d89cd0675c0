"""The moderator console page; its buttons speak over the WebSocket (agenda.commands)."""

from django.shortcuts import render

from rooms import presence
from venue.models import CONSOLE_ROLES
from venue.views import page_context, signed_in


def console(request):
    person = signed_in(request, *CONSOLE_ROLES)
    context = {**page_context(person), "presence": presence.counts(person.conference_id)}
    return render(request, "agenda/console.html", context)
