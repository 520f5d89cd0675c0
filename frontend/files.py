"""Files over HTTP: forum materials uploaded and served, the stage's slide put up and shown."""

from django.http import FileResponse, Http404, JsonResponse
from django.utils.translation import get_language
from django.views.decorators.http import require_GET, require_POST

from frontend.views import signed_in
from rooms.forums import uploads
from rooms.models import StageDisplay, StageMode, Upload
from rooms.plenary import stage
from venue.errors import Refused, message_for
from venue.models import AGENDA_ROLES
from venue.permissions import require_stage_manager


@require_POST
def forum_upload(request, room_id):
    person = signed_in(request)
    try:
        # Before request.FILES: the body is parsed only for someone who may upload here.
        uploads.check_may_upload(person, room_id)
        uploaded = request.FILES.get("file")
        if uploaded is None:
            raise Refused("missing_field", "Choose a file.")
        upload = uploads.store(person, room_id, uploaded, request.POST.get("title", ""))
    except Refused as refused:
        return refusal(refused)
    return JsonResponse({"type": "ack", "upload": upload.pk, "kind": upload.kind}, status=201)


@require_POST
def stage_slide(request):
    """The moderator puts an image or a PDF page on the stage."""
    person = signed_in(request, *AGENDA_ROLES)
    try:
        # Before request.FILES: the body is parsed only for someone who may put up a slide.
        require_stage_manager(person, person.conference_id)
        uploaded = request.FILES.get("file")
        if uploaded is None:
            raise Refused("missing_field", "Choose a file.")
        page = request.POST.get("page", "1")
        if not page.isdigit() or not 1 <= int(page) <= 10_000:
            raise Refused("invalid_field", "The page is a number from 1.")
        display = stage.put_slide(person.conference_id, uploads.read_limited(uploaded), by=person, page=int(page))
    except Refused as refused:
        return refusal(refused)
    return JsonResponse({"type": "ack", "mode": display.mode}, status=201)


def refusal(refused):
    """The error reply of an upload: the code is the protocol, the message is in the request's language."""
    status = {"forbidden": 403, "not_found": 404, "file_too_large": 413}.get(refused.code, 400)
    message = message_for(refused.code, get_language())
    return JsonResponse({"type": "error", "code": refused.code, "message": message}, status=status)


@require_GET
def serve_slide(request):
    """The stage's current slide, for everybody in the conference."""
    person = signed_in(request)
    display = StageDisplay.objects.filter(conference_id=person.conference_id).first()
    if display is None or display.mode != StageMode.SLIDE or not display.slide:
        raise Http404
    kind = "jpeg" if display.slide.name.endswith(".jpg") else "png"
    response = FileResponse(display.slide.open("rb"), content_type=f"image/{kind}")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_GET
def serve_upload(request, upload_id):
    person = signed_in(request)
    upload = Upload.objects.select_related("room").filter(pk=upload_id, removed_at=None).first()
    if upload is None or not uploads.may_see(person, upload):
        raise Http404
    response = FileResponse(upload.file.open("rb"), content_type=uploads.CONTENT_TYPES[upload.kind])
    response["X-Content-Type-Options"] = "nosniff"
    # Even a file that slipped past the checks cannot run anything in our origin.
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    response["Content-Disposition"] = f'inline; filename="upload-{upload.pk}.{uploads.EXTENSIONS[upload.kind]}"'
    response["Cache-Control"] = "private, max-age=3600"
    return response
