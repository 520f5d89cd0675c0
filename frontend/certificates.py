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


def one(conference, attendee, items):
    return pdf.render(_html(conference, [attendee], items))


def file_name(conference, person):
    return f"{conference.slug}-teilnahmebescheinigung-{person.pk}-{slugify(person.display_name)[:40] or 'person'}.pdf"


def all_as_zip(conference):
    """Every earned certificate, one PDF each, in a ZIP. A few are rendered as one document and
    split; many in batches, one document each, on every core (`PLENUM_CERTIFICATE_PROCESSES`)."""
    data = attendance.report(conference)
    attendees = eligible(conference, data)
    processes = settings.PLENUM_CERTIFICATE_PROCESSES if len(attendees) >= settings.PLENUM_CERTIFICATE_PARALLEL_FROM else 1
    # Two batches per process: a process that finishes early takes the next.
    batches = 2 * processes if processes > 1 else 1
    size = -(-len(attendees) // batches) if attendees else 0
    htmls = [_html(conference, attendees[n:n + size], data["items"]) for n in range(0, len(attendees), size or 1)]
    people = {str(a.person.pk): a.person for a in attendees}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for key, part in pdf.render_sections_in_parallel(htmls, "certificate-", processes):
            archive.writestr(file_name(conference, people[key]), part)
    return out.getvalue(), len(attendees)
