"""The organizers' pages: invite links, people and presence, attendance, and publishing the
documentation of the day (the public page and its downloads)."""

from django import forms
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from agenda import actions as agenda_actions
from frontend import attendance as attendance_report
from frontend import documentation
from frontend.views import page_context, signed_in
from rooms import presence
from rooms.forums.uploads import CONTENT_TYPES, EXTENSIONS
from rooms.models import Upload
from venue import access
from venue.auth import person_for_request
from venue.models import Conference, Invite, Role


def organizer(request):
    person = signed_in(request, Role.ORGANIZER)
    conference = person.conference
    context = {
        **page_context(person),
        "invites": conference.invites.all(),
        "invite_form": InviteForm(),
        "people": conference.people.order_by("role", "display_name"),
        "presence": presence.counts(conference.pk),
        "base_url": request.build_absolute_uri("/")[:-1],
    }
    return render(request, "frontend/organizer.html", context)


class InviteForm(forms.Form):
    label = forms.CharField(max_length=120)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.PARTICIPANT)


@require_POST
def create_invite(request):
    person = signed_in(request, Role.ORGANIZER)
    form = InviteForm(request.POST)
    if form.is_valid():
        Invite.objects.create(conference=person.conference, label=form.cleaned_data["label"], role=form.cleaned_data["role"])
    return redirect("organizer")


@require_POST
def revoke_invite(request, invite_id):
    person = signed_in(request, Role.ORGANIZER)
    invite = get_object_or_404(Invite, pk=invite_id, conference_id=person.conference_id)
    access.revoke_invite(invite)
    return redirect("organizer")


def attendance(request):
    person = signed_in(request, Role.ORGANIZER)
    data = attendance_report.report(person.conference)
    return render(request, "frontend/attendance.html", {**page_context(person), **data})


def attendance_csv(request):
    person = signed_in(request, Role.ORGANIZER)
    response = HttpResponse(attendance_report.as_csv(person.conference), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="attendance-{person.conference.slug}.csv"'
    return response


@require_POST
def publish_documentation(request):
    person = signed_in(request, Role.ORGANIZER)
    conference = person.conference
    publish = request.POST.get("publish") == "1"
    conference.documentation_published_at = timezone.now() if publish else None
    intro = request.POST.get("intro")
    if intro is not None:
        conference.documentation_intro = intro[:5000]
    conference.save(update_fields=["documentation_published_at", "documentation_intro"])
    agenda_actions.republish(conference.pk)
    return redirect("organizer")


def documentation_page(request, slug):
    conference = get_object_or_404(Conference, slug=slug)
    viewer = person_for_request(request)
    preview = viewer is not None and viewer.conference_id == conference.pk and viewer.role == Role.ORGANIZER
    if conference.documentation_published_at is None and not preview:
        raise Http404
    context = {"conference": conference, "person": viewer, "preview": preview and not conference.documentation_published_at,
               **documentation.build(conference)}
    return render(request, "frontend/documentation.html", context)


def documentation_material(request, slug, upload_id):
    """A forum's material, downloadable by anyone once the documentation is published."""
    upload = Upload.objects.select_related("room__conference").filter(
        pk=upload_id, room__conference__slug=slug, removed_at=None,
        room__conference__documentation_published_at__isnull=False,
    ).first()
    if upload is None:
        raise Http404
    response = FileResponse(upload.file.open("rb"), content_type=CONTENT_TYPES[upload.kind], as_attachment=True,
                            filename=f"{slug}-{upload.pk}.{EXTENSIONS[upload.kind]}")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
