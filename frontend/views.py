"""Pages: joining by invite link, the participant's venue, the moderator's console."""

from django import forms
from django.contrib.auth import login
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from agenda import state
from frontend import certificates, frames
from rooms import places, presence
from rooms.forums import view as forums
from rooms.models import Room, RoomKind
from rooms.plenary import reactions
from rooms.plenary.view import Plenary
from venue import groups
from venue.auth import person_for_request, person_for_token, sign_in
from venue.models import CONSOLE_ROLES, Conference, Invite, Person, Role


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
    return render(request, "frontend/home.html", {"conference": conference})


def join(request, token):
    invite = Invite.objects.select_related("conference").filter(token=token).first()
    if invite is None or not invite.is_active:
        return render(request, "frontend/invalid_link.html", status=404)
    current = person_for_request(request)
    if current is not None and current.conference_id == invite.conference_id:
        # The same browser through the link again is the same person, not a second one with a
        # second vote on every question.
        return redirect(_landing(current))
    form = JoinForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        person = Person.objects.create(
            conference=invite.conference,
            role=invite.role,
            display_name=form.cleaned_data["display_name"],
            organization=form.cleaned_data["organization"],
            invite=invite,
        )
        Invite.objects.filter(pk=invite.pk).update(uses=F("uses") + 1)
        sign_in(request, person)
        return redirect("venue")
    return render(request, "frontend/join.html", {"invite": invite, "form": form})


def personal_link(request, token):
    person = person_for_token(token)
    if person is None:
        return render(request, "frontend/invalid_link.html", status=404)
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
        # After the day, whoever was there long enough finds their certificate here.
        "certificate_ready": certificates.day_over(person.conference) and certificates.for_person(person.conference, person)[0] is not None,
    }
    return render(request, "frontend/venue.html", context)


def console(request):
    person = signed_in(request, *CONSOLE_ROLES)
    context = {
        **page_context(person),
        "presence": presence.counts(person.conference_id),
        **forums.overview_context(person.conference_id),
        "rooms": Room.objects.filter(conference_id=person.conference_id).exclude(kind=RoomKind.TABLE),
    }
    return render(request, "frontend/console.html", context)
