"""The organizers' pages: invite links, people and presence, attendance, and publishing the
documentation of the day (the public page and its downloads)."""

from django import forms
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from agenda import actions as agenda_actions
from agenda.schedule import MAX_BYTES as SCHEDULE_MAX_BYTES
from agenda.schedule import Problem, ScheduleError
from frontend import attendance as attendance_report
from frontend import attendance_chart, attendance_files, documentation, invitations, recordings, schedule, transcripts
from frontend.views import page_context, signed_in
from rooms import presence
from rooms.forums.uploads import CONTENT_TYPES, EXTENSIONS
from rooms.models import Upload
from venue import access, erasure
from venue import invitations as mail
from venue.auth import person_for_request
from venue.models import Conference, Invite, Person, Role


def organizer(request, **extra):
    person = signed_in(request, Role.ORGANIZER)
    conference = person.conference
    context = {
        **page_context(person),
        "invites": conference.invites.all(),
        "invite_form": InviteForm(),
        "people_form": PeopleForm(),
        "people": conference.people.order_by("role", "display_name"),
        "presence": presence.counts(conference.pk),
        "base_url": base_url(request),
        "settings_form": settings_form(conference),
        "downloads": documentation.organizers_downloads(conference),
        **transcripts.organizer_context(conference.pk),
        **recordings.organizer_context(conference.pk),
        **extra,
    }
    return render(request, "frontend/organizer.html", context, status=400 if extra.get("error") or extra.get("schedule_problems") else 200)


class SettingsForm(forms.Form):
    certificate_minimum_minutes = forms.IntegerField(label=_("Minutes present for a certificate"), min_value=0, max_value=24 * 60)
    certificate_signatory = forms.CharField(label=_("Certificates signed by"), max_length=200, required=False)
    certificate_signature = forms.FileField(label=_("Signature (PNG or JPEG)"), required=False)
    attendance_pseudonymous = forms.BooleanField(label=_("Pseudonymise attendance (files without names)"), required=False)
    attendance_retention_days = forms.IntegerField(label=_("Delete named attendance after this many days"),
                                                   min_value=0, max_value=3650, required=False)


def settings_form(conference):
    return SettingsForm(initial={
        "certificate_minimum_minutes": conference.certificate_minimum_minutes,
        "certificate_signatory": conference.certificate_signatory,
        "attendance_pseudonymous": conference.attendance_pseudonymous,
        "attendance_retention_days": conference.attendance_retention_days,
    })


def base_url(request):
    return request.build_absolute_uri("/")[:-1]


class PeopleForm(forms.Form):
    table = forms.FileField(label=_("Table of participants (CSV or XLSX)"))


@require_POST
def import_people(request):
    """Create people from an uploaded table and mail each their personal link."""
    person = signed_in(request, Role.ORGANIZER)
    form = PeopleForm(request.POST, request.FILES)
    if not form.is_valid():
        return organizer(request, error=_("Please choose a file."))
    try:
        imported = invitations.import_people(person.conference, form.cleaned_data["table"].read(invitations.MAX_BYTES + 1))
    except invitations.TableError as error:
        return organizer(request, error=str(error))
    outcome = mail.send(imported.created, base_url(request))
    return organizer(request, imported=imported, mailed=outcome)


@require_POST
def upload_schedule(request):
    """Replace the programme by a frab/pretalx schedule (JSON or XML); all of it or nothing."""
    person = signed_in(request, Role.ORGANIZER)
    uploaded = request.FILES.get("schedule")
    if uploaded is None:
        return organizer(request, schedule_problems=[Problem("", _("Please choose a file."))])
    try:
        items = schedule.import_file(person.conference, uploaded.read(SCHEDULE_MAX_BYTES + 1))
    except ScheduleError as error:
        return organizer(request, schedule_problems=error.problems)
    return organizer(request, schedule_imported=len(items))


@require_POST
def invite_person(request, person_id):
    """Mail one person their personal link (again)."""
    person = signed_in(request, Role.ORGANIZER)
    invitee = get_object_or_404(Person, pk=person_id, conference_id=person.conference_id)
    return organizer(request, mailed=mail.send([invitee], base_url(request)))


@require_POST
def revoke_person(request, person_id):
    person = signed_in(request, Role.ORGANIZER)
    revokee = get_object_or_404(Person, pk=person_id, conference_id=person.conference_id)
    if revokee.pk == person.pk:
        return organizer(request, error=_("You cannot revoke your own link."))
    access.revoke_person(revokee)
    return redirect("organizer")


def erase_person(request, person_id):
    """Erase one person's personal data (venue.erasure): asked first, done on the POST. Their
    questions, messages and votes stay, by "a deleted person"; the attendance keeps their time."""
    person = signed_in(request, Role.ORGANIZER)
    erasee = get_object_or_404(Person, pk=person_id, conference_id=person.conference_id, erased_at=None)
    if erasee.pk == person.pk:
        return organizer(request, error=_("You cannot erase yourself."))
    if request.method != "POST":
        return render(request, "frontend/erase_person.html", {**page_context(person), "erasee": erasee})
    erasure.erase([erasee])
    # Pages that show the plenary's questions get them again, without the name.
    agenda_actions.republish(person.conference_id)
    return redirect("organizer")


class InviteForm(forms.Form):
    label = forms.CharField(label=_("Name of the link"), max_length=120)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.PARTICIPANT)


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
    chart = attendance_chart.chart(person.conference, data)
    certificates = not person.conference.attendance_pseudonymous
    # One reverse() for two thousand links: the path up to the person's number.
    certificate_url = reverse("certificate_of", args=[0]).removesuffix("0.pdf") if certificates else None
    rows = attendance_report.people_rows(data["attendees"], certificate_url=certificate_url,
                                         certificate_minimum=person.conference.certificate_minimum_minutes)
    return render(request, "frontend/attendance.html",
                  {**page_context(person), **data, "chart": chart, "people_rows": rows, "certificates": certificates})


def attendance_csv(request, table="people"):
    person = signed_in(request, Role.ORGANIZER)
    if table not in attendance_files.TABLES:
        raise Http404
    response = HttpResponse(attendance_files.as_csv(person.conference, table), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="attendance-{table}-{person.conference.slug}.csv"'
    return response


def attendance_xlsx(request):
    person = signed_in(request, Role.ORGANIZER)
    response = HttpResponse(attendance_files.as_xlsx(person.conference), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="attendance-{person.conference.slug}.xlsx"'
    return response


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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


def documentation_access(request, slug):
    """The conference whose documentation this request may see: published, or to its organizers."""
    conference = get_object_or_404(Conference, slug=slug)
    viewer = person_for_request(request)
    preview = viewer is not None and viewer.conference_id == conference.pk and viewer.role == Role.ORGANIZER
    if conference.documentation_published_at is None and not preview:
        raise Http404
    return conference


def documentation_page(request, slug):
    conference = documentation_access(request, slug)
    viewer = person_for_request(request)
    context = {"conference": conference, "person": viewer, "preview": not conference.documentation_published_at,
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
