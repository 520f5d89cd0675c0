"""The documentation of the day: agenda, questions, polls, forum results and their materials.

What the organizers publish afterwards; it reads what was persisted during the day.
"""

from django.template.loader import render_to_string
from django.urls import reverse

from agenda.models import AgendaItem
from frontend import pdf
from rooms.models import (
    Poll,
    PollState,
    Question,
    QuestionState,
    ReactionTally,
    ResultVersion,
    Room,
    RoomKind,
    Upload,
    UploadKind,
)
from rooms.forums.uploads import CONTENT_TYPES
from rooms.plenary import captions, recording

IMAGE_KINDS = (UploadKind.PNG, UploadKind.JPEG)
SHOWN_QUESTIONS = (QuestionState.VISIBLE, QuestionState.ANSWERING, QuestionState.ANSWERED)


def build(conference):
    items = AgendaItem.with_speakers(list(AgendaItem.objects.filter(conference=conference).order_by("order")))
    questions = {}
    for question in Question.objects.filter(item__conference=conference, state__in=SHOWN_QUESTIONS).select_related("author").order_by("-votes", "created_at"):
        questions.setdefault(question.item_id, []).append(question)
    polls = {}
    for poll in Poll.objects.filter(conference=conference, state=PollState.REVEALED).order_by("opened_at"):
        polls.setdefault(poll.item_id, []).append(poll.with_results())
    applause = {}
    for tally in ReactionTally.objects.filter(conference=conference):
        applause[tally.item_id] = applause.get(tally.item_id, 0) + tally.count
    for item in items:
        item.documented_questions = questions.get(item.pk, [])
        item.documented_polls = polls.get(item.pk, [])
        item.reactions = applause.get(item.pk, 0)
    captions.attach_published(items)
    recording.attach_documented(items)
    forums = []
    for room in Room.objects.filter(conference=conference, kind=RoomKind.FORUM).select_related("facilitator").order_by("order"):
        latest = ResultVersion.objects.filter(room=room).order_by("-number").first()
        room.result = latest
        room.materials = list(Upload.objects.filter(room=room, removed_at=None))
        # Graphic recordings and other pictures are shown on the page (and in its PDF).
        room.images = [m for m in room.materials if m.kind in IMAGE_KINDS]
        forums.append(room)
    return {"items": items, "forums": forums, "downloads": organizers_downloads(conference)}


def organizers_downloads(conference):
    """The organizers' own files for the documentation ("Unterlagen zum Download"): kept as
    uploads of the plenary, beside the forums' materials."""
    return list(Upload.objects.filter(room__conference=conference, room__kind=RoomKind.PLENARY, removed_at=None)
                .order_by("created_at"))


def material_path(conference, upload):
    return reverse("documentation_material", args=[conference.slug, upload.pk])


def as_pdf(conference, context, base_url=pdf.BASE_URL):
    """The documentation page as a PDF: the same template, printed, with its pictures."""
    resources = {}
    for room in context["forums"]:
        for image in room.images:
            with image.file.open("rb") as handle:
                resources[material_path(conference, image)] = (handle.read(), CONTENT_TYPES[image.kind])
    html = render_to_string("frontend/documentation.html", {**context, "conference": conference, "as_pdf": True})
    return pdf.render(html, resources, base_url)
