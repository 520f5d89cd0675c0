"""The recorded stage after the day: the organizers choose files for the documentation page,
where they play in the browser and can be downloaded."""

from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from frontend.views import signed_in
from rooms.models import RecordingFile
from rooms.plenary import recording
from venue.auth import person_for_request
from venue.errors import Refused
from venue.models import Role


def organizer_context(conference_id):
    return {"recorded_files": recording.files(conference_id)}


@require_POST
def choose(request, file_id):
    person = signed_in(request, Role.ORGANIZER)
    try:
        recording.choose(person.conference_id, file_id, request.POST.get("documented") == "1", by=person)
    except Refused:
        raise Http404 from None
    return redirect("organizer")


def serve(request, file_id):
    """A recorded file: for the organizers always, for everyone once it is on the published
    documentation page."""
    recorded = RecordingFile.objects.select_related("recording__conference").filter(pk=file_id).first()
    if recorded is None:
        raise Http404
    conference = recorded.recording.conference
    viewer = person_for_request(request)
    organizer = viewer is not None and viewer.conference_id == conference.pk and viewer.role == Role.ORGANIZER
    if not organizer and not (recorded.documented and conference.documentation_published_at):
        raise Http404
    download = request.GET.get("download") == "1"
    response = FileResponse(recorded.file.open("rb"), content_type="video/webm", as_attachment=download,
                            filename=f"{conference.slug}-{recorded.recording.item_id}-{recorded.pk}.webm")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response
