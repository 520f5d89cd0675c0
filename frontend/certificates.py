"""Certificates of attendance ("Teilnahmebescheinigung"): a PDF page per person present at least
the organizers' minimum, with the minutes and the items attended, signed by the organizers; one
file, or all of them as a ZIP. Built from the same attendance report as the page and the files."""

import base64
import io
import zipfile

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.text import slugify
from weasyprint import HTML

from agenda.models import AgendaItem, ItemState
from frontend import attendance, pdf
from rooms import checks
from rooms.models import UploadKind

MIME = {UploadKind.PNG: "image/png", UploadKind.JPEG: "image/jpeg"}


def day_over(conference):
    """After the day: every item has run, or the date has passed."""
    if timezone.localdate() > conference.date:
        return True
    items = AgendaItem.objects.filter(conference=conference)
    return items.exists() and not items.exclude(state=ItemState.DONE).exists()


def eligible(conference, data):
    """Those present long enough who still exist (a certificate names its person)."""
    return [a for a in data["attendees"] if a.person is not None and a.minutes >= conference.certificate_minimum_minutes]


def for_person(conference, person):
    """This person's attendee record if they earned a certificate, else None."""
    data = attendance.report(conference, person_ids=[person.pk])
    return next(iter(eligible(conference, data)), None), data["items"]


def signature(conference):
    """The signature image as a data: URL, or None."""
    if not conference.certificate_signature:
        return None
    with conference.certificate_signature.open("rb") as handle:
        data = handle.read()
    kind = checks.sniff(data[:16])
    if kind not in MIME:
        return None
    return f"data:{MIME[kind]};base64,{base64.b64encode(data).decode()}"


def _html(conference, attendees, items):
    by_id = {item.pk: item for item in items}
    with translation.override(settings.LANGUAGE_CODE):
        return render_to_string("frontend/certificate.html", {
            "conference": conference, "signature": signature(conference), "issued": timezone.localdate(),
            "certificates": [(a, [by_id[pk] for pk in sorted(a.present_at, key=lambda pk: by_id[pk].order)])
                             for a in attendees],
        })


def render(conference, attendees, items):
    """One PDF with every attendee's certificate, and each one's pages: [(attendee, first, last)]."""
    document = HTML(string=_html(conference, attendees, items), base_url=pdf.BASE_URL,
                    url_fetcher=pdf.LocalFetcher(), media_type="print").render()
    starts = {}
    for number, page in enumerate(document.pages):
        for anchor in page.anchors:
            if anchor.startswith("certificate-"):
                starts.setdefault(int(anchor.removeprefix("certificate-")), number)
    order = sorted(starts.items(), key=lambda pair: pair[1])
    ranges = {}
    for index, (person_id, first) in enumerate(order):
        last = order[index + 1][1] - 1 if index + 1 < len(order) else len(document.pages) - 1
        ranges[person_id] = (first, last)
    return document.write_pdf(), [(a, *ranges[a.person.pk]) for a in attendees]


def one(conference, attendee, items):
    return render(conference, [attendee], items)[0]


def file_name(conference, person):
    return f"{conference.slug}-teilnahmebescheinigung-{person.pk}-{slugify(person.display_name)[:40] or 'person'}.pdf"


def all_as_zip(conference):
    """Every earned certificate, one PDF each, in a ZIP (rendered as one document, then split)."""
    data = attendance.report(conference)
    attendees = eligible(conference, data)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        if attendees:
            whole, ranges = render(conference, attendees, data["items"])
            parts = pdf.split_ranges(whole, [(first, last) for _a, first, last in ranges])
            for (attendee, _first, _last), part in zip(ranges, parts):
                archive.writestr(file_name(conference, attendee.person), part)
    return out.getvalue(), len(attendees)
