"""Uploaded forum materials: checked by their content, stored through Django's storage API,
served only to people who may see them, never as HTML."""

import uuid

from django.core.files.base import ContentFile
from django.db import transaction

from rooms import forums
from rooms.models import ResultVersion, Upload, UploadKind
from venue.errors import Refused

MAX_BYTES = 10 * 1024 * 1024
CONTENT_TYPES = {UploadKind.PNG: "image/png", UploadKind.JPEG: "image/jpeg", UploadKind.PDF: "application/pdf"}
EXTENSIONS = {UploadKind.PNG: "png", UploadKind.JPEG: "jpg", UploadKind.PDF: "pdf"}


def sniff(head):
    """The kind of a file from its first bytes; the name and the browser's claim count for nothing."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return UploadKind.PNG
    if head.startswith(b"\xff\xd8\xff"):
        return UploadKind.JPEG
    if head.startswith(b"%PDF-"):
        return UploadKind.PDF
    return None


def store(person, room_id, uploaded, title):
    title = (title or "").strip()[:200] or (uploaded.name or "")[:200] or "Material"
    if uploaded.size > MAX_BYTES:
        raise Refused("file_too_large", f"A file may be at most {MAX_BYTES // (1024 * 1024)} MB.")
    if uploaded.size == 0:
        raise Refused("invalid_file", "The file is empty.")
    data = uploaded.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise Refused("file_too_large", f"A file may be at most {MAX_BYTES // (1024 * 1024)} MB.")
    kind = sniff(data[:16])
    if kind is None:
        raise Refused("invalid_file", "Only PNG, JPEG and PDF files can be uploaded.")
    with transaction.atomic():
        room = forums._writable_board(person, room_id)
        upload = Upload(room=room, uploaded_by=person, kind=kind, title=title, size=len(data))
        # Our own name: nothing of the uploader's file name reaches the file system.
        upload.file.save(f"{uuid.uuid4().hex}.{EXTENSIONS[kind]}", ContentFile(data), save=False)
        upload.save()
        forums._refreeze_if_submitted(room, person)
        forums._changed(person.conference_id, room.pk)
    return upload


def may_see(person, upload):
    """Forum members, its facilitator and the moderation; everyone once its results were shown."""
    room = upload.room
    if person.conference_id != room.conference_id:
        return False
    if person.may_moderate or room.facilitator_id == person.pk:
        return True
    if room.assignments.filter(person=person).exists():
        return True
    return ResultVersion.objects.filter(room=room, presented_at__isnull=False).exists()
