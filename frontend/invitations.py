"""Participants from a table: an organizer uploads a CSV or XLSX (name, e-mail, role, forum
optional); each good row becomes a person with a personal link, each bad row is reported with
its line and changes nothing. The mails go out through `venue.invitations`."""

import csv
import io
import zipfile
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import load_workbook

from rooms.models import ForumChoice, Room, RoomKind
from venue.models import Person, Role

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
# Header spellings, lower case, German and English; the first row is the header.
COLUMNS = {
    "name": ("name", "anzeigename", "display name", "vor- und nachname"),
    "email": ("e-mail", "email", "mail", "e-mail-adresse", "email address"),
    "role": ("rolle", "role"),
    "forum": ("forum", "fachforum", "forum choice", "forumswahl", "wunschforum"),
    "organization": ("organisation", "organization", "institution", "behörde"),
}
# An organizer gets a staff account; that stays a deliberate step in the admin.
UPLOADABLE_ROLES = [value for value, _label in Role.choices if value != Role.ORGANIZER]


class TableError(Exception):
    """The file as a whole cannot be read; nothing was imported."""


@dataclass
class Problem:
    line: int
    column: str
    message: str


@dataclass
class Imported:
    created: list = field(default_factory=list)
    problems: list = field(default_factory=list)


def read_table(data):
    """[(line, {column: text})] of a CSV or XLSX file's rows below the header."""
    if len(data) > MAX_BYTES:
        raise TableError(_("The file is larger than 2 MB."))
    if not data.strip():
        raise TableError(_("The file is empty."))
    rows = _xlsx_rows(data) if data[:4] == b"PK\x03\x04" else _csv_rows(data)
    header, *body = rows or [(1, [])]
    columns = {}
    for index, title in enumerate(header[1]):
        title = str(title or "").strip().lower()
        for key, spellings in COLUMNS.items():
            if title in spellings and key not in columns:
                columns[key] = index
    missing = [key for key in ("name", "email") if key not in columns]
    if missing:
        raise TableError(_("The first row must name the columns; missing: %(columns)s.") % {"columns": ", ".join(missing)})
    if len(body) > MAX_ROWS:
        raise TableError(_("At most %(count)s people per file.") % {"count": MAX_ROWS})
    out = []
    for line, cells in body:
        row = {key: str(cells[index] if index < len(cells) and cells[index] is not None else "").strip()
               for key, index in columns.items()}
        if any(row.values()):
            out.append((line, row))
    return out


def _csv_rows(data):
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # German Excel saves "CSV (Trennzeichen-getrennt)" in Windows-1252.
        text = data.decode("cp1252", errors="replace")
    first = text.split("\n", 1)[0]
    delimiter = max(";,\t", key=first.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        return [(reader.line_num, cells) for cells in reader]
    except csv.Error as error:
        raise TableError(_("Line %(line)s: %(error)s") % {"line": reader.line_num, "error": error}) from error


def _xlsx_rows(data):
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise TableError(_("The file is not a readable XLSX workbook.")) from error
    try:
        sheet = book.worksheets[0]
        rows = []
        for line, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            rows.append((line, list(cells)))
            if line > MAX_ROWS + 1:
                break
        return rows
    finally:
        book.close()


def role_names():
    """Every way a role may be written in the file: its code and its name in each language."""
    names = {}
    for value in UPLOADABLE_ROLES:
        names[value] = value
        for language in ("de", "en"):
            with translation.override(language):
                names[str(Role(value).label).lower()] = value
    return names


def import_people(conference, data):
    """Create a person (and their forum wish) for each good row; report each bad one."""
    rows = read_table(data)
    roles = role_names()
    forums = {}
    for room in Room.objects.filter(conference=conference, kind=RoomKind.FORUM):
        forums[room.name.strip().lower()] = room
        forums[str(room.order)] = room
    taken = {e.lower() for e in conference.people.exclude(email="").values_list("email", flat=True)}
    result = Imported()
    with transaction.atomic():
        for line, row in rows:
            problems = _check_row(line, row, roles, forums, taken)
            if problems:
                result.problems += problems
                continue
            taken.add(row["email"].lower())
            person = Person.objects.create(
                conference=conference, display_name=row["name"], email=row["email"],
                role=roles[row.get("role", "").lower()] if row.get("role") else Role.PARTICIPANT,
                organization=row.get("organization", ""),
            )
            if row.get("forum"):
                ForumChoice.objects.create(person=person, room=forums[row["forum"].lower()], rank=1)
            result.created.append(person)
    return result


def _check_row(line, row, roles, forums, taken):
    problems = []
    name, email = row["name"], row["email"]
    if not name:
        problems.append(Problem(line, "name", _("The name is missing.")))
    elif len(name) > Person._meta.get_field("display_name").max_length:
        problems.append(Problem(line, "name", _("The name is longer than 80 characters.")))
    try:
        validate_email(email)
    except ValidationError:
        problems.append(Problem(line, "email", _("“%(value)s” is not an e-mail address.") % {"value": email[:100]}))
    else:
        if email.lower() in taken:
            problems.append(Problem(line, "email", _("%(value)s is invited already.") % {"value": email}))
    if row.get("role") and row["role"].lower() not in roles:
        problems.append(Problem(line, "role", _("Unknown role “%(value)s”.") % {"value": row["role"][:40]}))
    if row.get("forum") and row["forum"].lower() not in forums:
        problems.append(Problem(line, "forum", _("No forum is called “%(value)s”.") % {"value": row["forum"][:80]}))
    if len(row.get("organization", "")) > Person._meta.get_field("organization").max_length:
        problems.append(Problem(line, "organization", _("The organization is longer than 120 characters.")))
    return problems
