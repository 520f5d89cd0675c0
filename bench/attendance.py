"""Attendance at scale (issue 17): 2,000 participants over a 9-hour day with 40,000 connection
rows (reloads, lost connections, two tabs) and their stays (where each socket was: the plenary,
the person's forum, the lounge or a standing table, moving when an item starts). How long the organizers wait for the attendance page,
the XLSX workbook and all certificates of attendance as a ZIP (targets: 1 s, 3 s, 60 s).

In-process, on a fresh SQLite database in a temporary var dir (the embedded topology); the page
is fetched through Django's test client with an organizer's session, so that it includes the
template render.

    .venv/bin/python bench/attendance.py                      # 2000 people, 40000 rows, 9 hours
    .venv/bin/python bench/attendance.py --people 200 --rows 4000   # a quick check
"""

import argparse
import datetime
import io
import os
import random
import resource
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=40000)
    parser.add_argument("--hours", type=float, default=9)
    parser.add_argument("--repeat", type=int, default=3, help="runs of the page and the XLSX (the best counts)")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--skip-certificates", action="store_true", help="the page and the files only")
    parser.add_argument("--save-page", metavar="PATH", help="write the attendance page's HTML here, to look at")
    args = parser.parse_args()
    var_dir = tempfile.mkdtemp(prefix="plenum-bench-attendance-")
    os.environ["PLENUM_VAR_DIR"] = var_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "venue.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    conference, organizer = build_day(args)
    measure(args, conference, organizer)


def build_day(args):
    from agenda.models import AgendaItem, ItemState
    from frontend import demo
    from rooms.models import Connection, Room, RoomKind, Stay
    from venue.models import Person, Role

    rng = random.Random(args.seed)
    conference = demo.create(reset=True)
    conference.certificate_minimum_minutes = 60
    conference.certificate_signatory = "Organisationsteam"
    conference.save()
    # The demo's items spread over the whole day, all run.
    items = list(AgendaItem.objects.filter(conference=conference).order_by("order"))
    start = items[0].planned_start
    length = datetime.timedelta(hours=args.hours) / len(items)
    for number, item in enumerate(items):
        item.planned_start = item.started_at = start + number * length
        item.planned_end = item.ended_at = start + (number + 1) * length
        item.state = ItemState.DONE
        item.save()
    people = Person.objects.bulk_create(
        Person(conference=conference, display_name=f"Teilnehmende Person {n:04d}", organization=f"Kommune {n % 40}")
        for n in range(args.people))
    day_seconds = args.hours * 3600
    rows = []
    per_person = args.rows // len(people)
    for person in people:
        # Each person comes and goes a few times; some reloads and tunnels, some second tabs.
        moments = sorted(rng.uniform(0, day_seconds) for _ in range(2 * per_person))
        for opened, closed in zip(moments[::2], moments[1::2]):
            rows.append(Connection(person=person, conference=conference, attendee=person.pk, process="web-1",
                                   opened_at=start + datetime.timedelta(seconds=opened),
                                   closed_at=start + datetime.timedelta(seconds=closed)))
    Connection.objects.bulk_create(rows, batch_size=5000)
    # Where each socket was: the item's room, the person's forum in the forums, the lounge or a
    # standing table in a break; a socket moves when an item starts.
    forums = list(Room.objects.filter(conference=conference, kind=RoomKind.FORUM).order_by("order"))
    lounges = list(Room.objects.filter(conference=conference, kind__in=(RoomKind.LOUNGE, RoomKind.TABLE)).order_by("order"))
    plenary = Room.objects.filter(conference=conference, kind=RoomKind.PLENARY).first()

    def room_at(moment, person):
        item = next((i for i in reversed(items) if i.started_at <= moment), items[0])
        if item.phase == "forums":
            return forums[person.pk % len(forums)]
        if item.phase == "break":
            return rng.choice(lounges)
        return item.room or plenary

    connections = Connection.objects.filter(conference=conference).select_related("person").order_by("pk")
    stays = []
    for connection in connections:
        stays.append(Stay(connection=connection, room=room_at(connection.opened_at, connection.person),
                          entered_at=connection.opened_at))
        for item in items:
            if connection.opened_at < item.started_at < connection.closed_at:
                stays.append(Stay(connection=connection, room=room_at(item.started_at, connection.person),
                                  entered_at=item.started_at))
    Stay.objects.bulk_create(stays, batch_size=5000)
    organizer = Person.objects.get(conference=conference, role=Role.ORGANIZER)
    print(f"{len(people)} participants, {Connection.objects.count()} connection rows, {len(stays)} stays "
          f"over {args.hours:g} hours, {len(items)} items", flush=True)
    return conference, organizer


def timed(function, repeat):
    """The best wall time of `repeat` runs (and the CPU time of that run), and the result."""
    best, result = None, None
    for _ in range(repeat):
        began, cpu = time.perf_counter(), time.process_time()
        result = function()
        spent = (time.perf_counter() - began, time.process_time() - cpu)
        best = spent if best is None else min(best, spent)
    return best, result


def cpu_seconds():
    """CPU time of this process and of its finished worker processes: on a shared machine, what
    the work costs regardless of how long it waited for a core."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(args, conference, organizer):
    from django.conf import settings
    from django.test import Client

    from frontend import attendance_files, certificates

    browser = Client(HTTP_HOST="localhost")
    browser.get(f"/p/{organizer.token}/")
    page_seconds, page = timed(lambda: browser.get("/organizer/attendance/"), args.repeat)
    assert page.status_code == 200
    if args.save_page:
        Path(args.save_page).write_bytes(page.content)
    xlsx_seconds, xlsx = timed(lambda: attendance_files.as_xlsx(conference), args.repeat)
    csv_seconds, _csv = timed(lambda: attendance_files.as_csv(conference), args.repeat)
    print(f"attendance page  {page_seconds[0]:7.2f} s  (target 1 s; {page_seconds[1]:.2f} s CPU; "
          f"{len(page.content) // 1024} KiB of HTML)")
    print(f"XLSX             {xlsx_seconds[0]:7.2f} s  (target 3 s; {xlsx_seconds[1]:.2f} s CPU; {len(xlsx) // 1024} KiB)")
    print(f"CSV (people)     {csv_seconds[0]:7.2f} s  ({csv_seconds[1]:.2f} s CPU)")
    if not args.skip_certificates:
        cpu_before = cpu_seconds()
        (zip_seconds, _cpu), (archive, count) = timed(lambda: certificates.all_as_zip(conference), 1)
        cpu = cpu_seconds() - cpu_before
        names = zipfile.ZipFile(io.BytesIO(archive)).namelist()
        print(f"certificates ZIP {zip_seconds:7.2f} s  (target 60 s; {count} certificates, {len(names)} files, "
              f"{len(archive) // 1024} KiB; {cpu:.1f} s of CPU in this process and its workers, "
              f"PLENUM_CERTIFICATE_PROCESSES={settings.PLENUM_CERTIFICATE_PROCESSES})")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
