"""After the day, as files: certificates of attendance (the organizers' ZIP, one person's PDF,
each participant's own from the venue), the documentation as PDF, the organizers' own downloads,
and the settings these follow (minimum minutes, signatory and signature, privacy)."""

from django.core.files.base import ContentFile
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from frontend import certificates, documentation
from frontend.organizer import SettingsForm, documentation_access, organizer
from frontend.views import signed_in
from rooms import checks
from rooms.forums.uploads import EXTENSIONS, read_limited
from rooms.models import Room, RoomKind, Upload, UploadKind
from venue.errors import Refused
from venue.models import Person, Role

PDF = "application/pdf"


def _pdf(data, name):
    response = HttpResponse(data, content_type=PDF)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def certificates_zip(request):
    person = signed_in(request, Role.ORGANIZER)
    conference = person.conference
    if conference.attendance_pseudonymous:
        # Pseudonymised: a certificate names its person, so only that person gets it.
        raise Http404
    data, _count = certificates.all_as_zip(conference)
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{conference.slug}-teilnahmebescheinigungen.zip"'
    return response


def certificate_of(request, person_id):
    organizer_person = signed_in(request, Role.ORGANIZER)
    conference = organizer_person.conference
    if conference.attendance_pseudonymous:
        raise Http404
    person = get_object_or_404(Person, pk=person_id, conference=conference)
    attendee, items = certificates.for_person(conference, person)
    if attendee is None:
        raise Http404
    return _pdf(certificates.one(conference, attendee, items), certificates.file_name(conference, person))


def my_certificate(request):
    """A participant's own certificate, after the day, if they were there long enough."""
    person = signed_in(request)
    conference = person.conference
    attendee, items = certificates.for_person(conference, person)
    if attendee is None or not certificates.day_over(conference):
        raise Http404
    return _pdf(certificates.one(conference, attendee, items), certificates.file_name(conference, person))


def documentation_pdf(request, slug):
    conference = documentation_access(request, slug)
    context = documentation.build(conference)
    data = documentation.as_pdf(conference, context, request.build_absolute_uri("/"))
    return _pdf(data, f"{conference.slug}-dokumentation.pdf")


@require_POST
def save_settings(request):
    person = signed_in(request, Role.ORGANIZER)
    conference = person.conference
    form = SettingsForm(request.POST, request.FILES)
    if not form.is_valid():
        return organizer(request, error=_("Please check the settings."), settings_form=form)
    signature = form.cleaned_data["certificate_signature"]
    if signature is not None:
        try:
            data = read_limited(signature)
            kind = checks.check(data)
            if kind == UploadKind.PDF:
                raise Refused("invalid_file", "")
        except Refused:
            return organizer(request, error=_("The signature must be a PNG or JPEG image."), settings_form=form)
        conference.certificate_signature.save(f"signature-{conference.pk}.{EXTENSIONS[kind]}", ContentFile(data), save=False)
    for name in ("certificate_minimum_minutes", "certificate_signatory", "attendance_pseudonymous", "attendance_retention_days"):
        setattr(conference, name, form.cleaned_data[name])
    conference.save()
    return redirect("organizer")


@require_POST
def add_download(request):
    """The organizers' own file for the documentation's downloads (a PDF or an image)."""
    person = signed_in(request, Role.ORGANIZER)
    conference = person.conference
    uploaded = request.FILES.get("file")
    title = (request.POST.get("title") or "").strip()[:200]
    plenary = Room.objects.filter(conference=conference, kind=RoomKind.PLENARY).order_by("order").first()
    if uploaded is None or plenary is None:
        return organizer(request, error=_("Please choose a file."))
    try:
        data = read_limited(uploaded)
        kind = checks.check(data)
    except Refused as refused:
        return organizer(request, error=refused.message)
    upload = Upload(room=plenary, uploaded_by=person, kind=kind, title=title or uploaded.name[:200] or "Download", size=len(data))
    upload.file.save(f"download-{timezone.now():%Y%m%d%H%M%S%f}.{EXTENSIONS[kind]}", ContentFile(data), save=False)
    upload.save()
    return redirect("organizer")


@require_POST
def remove_download(request, upload_id):
    person = signed_in(request, Role.ORGANIZER)
    upload = get_object_or_404(Upload, pk=upload_id, room__conference=person.conference, room__kind=RoomKind.PLENARY)
    upload.removed_at = timezone.now()
    upload.save(update_fields=["removed_at"])
    return redirect("organizer")
