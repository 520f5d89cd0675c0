"""The attendance report as files for the organizers' spreadsheets: XLSX (people, items) and CSV
(people, items, and the raw joining and leaving) that German Excel opens as it is (UTF-8 with BOM, semicolons, local times, German
headers). Every file is built from `attendance.report`, the same figures as the page."""

import csv
import io

from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from frontend import attendance

TABLES = ("people", "items", "events")
# The workbook has the two tables; the raw events (twice the connection rows) are a CSV only.
XLSX_TABLES = ("people", "items")
# The files are for German offices; their headers and role names stay German whatever the
# organizer's page language.
FILE_LANGUAGE = "de"
CSV_TIME = "%d.%m.%Y %H:%M:%S"
XLSX_TIME = "DD.MM.YYYY HH:MM:SS"


def local(moment):
    """A UTC moment as the conference's wall-clock time, without zone (spreadsheets know none)."""
    return timezone.localtime(moment).replace(tzinfo=None) if moment else None


def tables(data):
    """{table: (headers, rows)}; cells are str, int, float or naive local datetimes."""
    items = data["items"]
    people_headers = [_("Name"), _("Organization"), _("Role"), pgettext("attendance", "First seen"),
                      pgettext("attendance", "Last seen"), _("Minutes present")]
    people_headers += [f"{item.order}. {item.title}" for item in items]
    people_rows = [
        [a.name, a.organization, a.role, local(a.first_seen), local(a.last_seen), a.minutes]
        + [a.items.get(item.pk, 0) for item in items]
        for a in data["attendees"]
    ]
    item_headers = [pgettext("agenda item", "No."), pgettext("agenda item", "Item"), pgettext("time range", "Start"),
                    pgettext("time range", "End"), pgettext("attendance", "Present"), _("Most at once"),
                    _("Average at once")]
    item_rows = [[row.item.order, row.item.title, local(row.item.started_at), local(row.item.ended_at),
                  row.present, row.peak, row.average] for row in data["per_item"]]
    event_headers = [_("Time"), _("Name"), _("Role"), _("Event")]
    joined, left = pgettext("attendance event", "joined"), pgettext("attendance event", "left")
    event_rows = [[local(e.at), e.attendee.name, e.attendee.role, joined if e.joined else left] for e in data["events"]]
    return {"people": (people_headers, people_rows), "items": (item_headers, item_rows),
            "events": (event_headers, event_rows)}


def as_csv(conference, table="people"):
    with translation.override(FILE_LANGUAGE):
        headers, rows = tables(attendance.report(conference, events=table == "events"))[table]
    out = io.StringIO()
    # The BOM tells Excel the file is UTF-8; the semicolon is its list separator in German.
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([_safe(h) for h in headers])
    for row in rows:
        writer.writerow([_csv_cell(cell) for cell in row])
    return out.getvalue()


def _csv_cell(cell):
    if cell is None:
        return ""
    if isinstance(cell, str):
        return _safe(cell)
    if isinstance(cell, float):
        return f"{cell:.1f}".replace(".", ",")
    if isinstance(cell, int):
        return str(cell)
    return cell.strftime(CSV_TIME)


def as_xlsx(conference):
    with translation.override(FILE_LANGUAGE):
        data = tables(attendance.report(conference))
        titles = {"people": _("People"), "items": _("Agenda items")}
    book = Workbook(write_only=True)
    bold = Font(bold=True)
    for table in XLSX_TABLES:
        headers, rows = data[table]
        sheet = book.create_sheet(titles[table][:31])
        sheet.freeze_panes = "A2"
        header_cells = []
        for header in headers:
            cell = WriteOnlyCell(sheet, value=header)
            cell.data_type = "s"
            cell.font = bold
            header_cells.append(cell)
        sheet.append(header_cells)
        for row in rows:
            sheet.append([_xlsx_cell(sheet, value) for value in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsx_cell(sheet, value):
    if value is None or isinstance(value, (int, float)):
        # Numbers go in as they are: a cell object each would double the time of a big table.
        return value
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        # A name that starts with "=" is text, never a formula.
        cell.data_type = "s"
    elif hasattr(value, "hour"):
        cell.number_format = XLSX_TIME
    return cell


def _safe(text):
    # A cell that starts like a formula must not run as one in a spreadsheet.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
