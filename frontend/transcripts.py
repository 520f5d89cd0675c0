"""The organizers' choice of which items' caption transcripts go on the documentation page."""

from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from frontend.views import signed_in
from rooms.plenary import captions
from venue.errors import Refused
from venue.models import Role


def organizer_context(conference_id):
    return {"captioned_items": captions.items_with_captions(conference_id)}


@require_POST
def publish_transcript(request, item_id):
    person = signed_in(request, Role.ORGANIZER)
    try:
        captions.publish_transcript(person.conference_id, item_id, request.POST.get("publish") == "1", by=person)
    except Refused:
        # A forged or foreign item: nothing changes.
        raise Http404 from None
    return redirect("organizer")
