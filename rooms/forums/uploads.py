"""Uploaded forum materials: checked by their content, stored through Django's storage API,
served only to people who may see them, never as HTML."""

import uuid

from django.core.files.base import ContentFile
from django.db import transaction

from rooms import checks
from rooms.forums import board, results, view
from rooms.models import ResultVersion, Upload, UploadKind
from venue.errors import Refused

MAX_BYTES = 10 * 1024 * 1024
CONTENT_TYPES = {UploadKind.PNG: "image/png", UploadKind.JPEG: "image/jpeg", UploadKind.PDF: "application/pdf"}
EXTENSIONS = {UploadKind.PNG: "png", UploadKind.JPEG: "jpg", UploadKind.PDF: "pdf"}


def read_limited(uploaded):
    """The upload's bytes, refused if empty or over the limit (the browser's size is not trusted)."""
    data = uploaded.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise Refused("file_too_large", f"A file may be at most {MAX_BYTES // (1024 * 1024)} MB.")
    if not data:
        raise Refused("invalid_file", "The file is empty.")
    return data


def check_may_upload(person, room_id):
    """Refused unless `person` may add materials to this forum's board now: asked before the
    request's body is read, so that nobody else's upload is ever parsed or decoded."""
    board.writable_board(person, room_id)


def store(person, room_id, uploaded, title):
    title = (title or "").strip()[:200] or (uploaded.name or "")[:200] or "Material"
    data = read_limited(uploaded)
    # The name and the browser's content type count for nothing: the bytes decide.
    kind = checks.check(data)
    with transaction.atomic():
        room = board.writable_board(person, room_id)
        upload = Upload(room=room, uploaded_by=person, kind=kind, title=title, size=len(data))
        # Our own name: nothing of the uploader's file name reaches the file system.
        upload.file.save(f"{uuid.uuid4().hex}.{EXTENSIONS[kind]}", ContentFile(data), save=False)
        upload.save()
        results.refreeze_if_submitted(room, person)
        view.changed(person.conference_id, room.pk)
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
