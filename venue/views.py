"""Pages: joining by invite link, the participant's venue, the organizer's view."""

from django import forms
from django.contrib.auth import login
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from agenda import state
from rooms import groups, places, presence, reactions
from rooms.plenary import Plenary
from venue import attendance as attendance_report
from venue import documentation, frames
from venue.auth import person_for_request, person_for_token, sign_in
from venue.models import Conference, Invite, Person, Role


class JoinForm(forms.Form):
    display_name = forms.CharField(label=_("Your name as others will see it"), max_length=80)
    organization = forms.CharField(label=_("Organization (optional)"), max_length=120, required=False)

    def clean_display_name(self):
        name = " ".join(self.cleaned_data["display_name"].split())
        if not name:
            raise forms.ValidationError(_("Please enter a name."))
        return name


def home(request):
    person = person_for_request(request)
    if person is not None:
        return redirect(_landing(person))
    conference = Conference.objects.order_by("-date").first()
    return render(request, "venue/home.html", {"conference": conference})


def join(request, token):
    invite = Invite.objects.select_related("conference").filter(token=token).first()
    if invite is None or not invite.is_active:
        return render(request, "venue/invalid_link.html", status=404)
    form = JoinForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        person = Person.objects.create(
            conference=invite.conference,
            role=invite.role,
            display_name=form.cleaned_data["display_name"],
            organization=form.cleaned_data["organization"],
        )
        Invite.objects.filter(pk=invite.pk).update(uses=F("uses") + 1)
        sign_in(request, person)
        return redirect("venue")
    return render(request, "venue/join.html", {"invite": invite, "form": form})


def personal_link(request, token):
    person = person_for_token(token)
    if person is None:
        return render(request, "venue/invalid_link.html", status=404)
    sign_in(request, person)
    if person.user_id and person.user.is_active:
        # Organizers' links sign them in to the admin too.
        login(request, person.user, backend="django.contrib.auth.backends.ModelBackend")
        sign_in(request, person)
    return redirect(_landing(person))


def _landing(person):
    # The co-moderator's socket hears the console, not a place: the venue page would not follow the day.
    if person.role in (Role.MODERATOR, Role.COMODERATOR):
        return "console"
    if person.role == Role.ORGANIZER:
        return "organizer"
    return "venue"


def signed_in(request, *roles):
    person = person_for_request(request)
    if person is None:
        raise PermissionDenied("Open your invite link first.")
    if roles and person.role not in roles:
        raise PermissionDenied("Your role may not open this page.")
    return person


def page_context(person):
    day = state.load(person.conference_id)
    return {
        **Plenary(person.conference_id, day).context(),
        "person": person,
        "audience": groups.audience_of(person.role),
        "reaction_buttons": list(reactions.EMOJI.items()),
    }


def venue(request):
    person = signed_in(request)
    day = state.load(person.conference_id)
    context = {
        **page_context(person),
        **frames.place_context(person.conference_id, places.place_of(person, day), day),
    }
    return render(request, "venue/venue.html", context)


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
    return render(request, "venue/organizer.html", context)


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
    if invite.revoked_at is None:
        invite.revoked_at = timezone.now()
        invite.save(update_fields=["revoked_at"])
    return redirect("organizer")




def attendance(request):
    person = signed_in(request, Role.ORGANIZER)
    data = attendance_report.report(person.conference)
    return render(request, "venue/attendance.html", {**page_context(person), **data})


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
    return redirect("organizer")


def documentation_page(request, slug):
    conference = get_object_or_404(Conference, slug=slug)
    viewer = person_for_request(request)
    preview = viewer is not None and viewer.conference_id == conference.pk and viewer.role == Role.ORGANIZER
    if conference.documentation_published_at is None and not preview:
        raise Http404
    context = {"conference": conference, "person": viewer, "preview": preview and not conference.documentation_published_at,
               **documentation.build(conference)}
    return render(request, "venue/documentation.html", context)


def documentation_material(request, slug, upload_id):
    """A forum's material, downloadable by anyone once the documentation is published."""
    from rooms.models import Upload
    from rooms.uploads import CONTENT_TYPES, EXTENSIONS

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
