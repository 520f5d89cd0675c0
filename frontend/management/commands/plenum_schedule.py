import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from agenda.schedule import ScheduleError
from frontend import schedule
from venue.models import Conference


class Command(BaseCommand):
    help = ("Import a conference's programme from a frab/pretalx schedule (JSON or XML), replacing it whole, "
            "or export it as frab JSON, frab XML or iCalendar.")

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["import", "export"])
        parser.add_argument("slug", help="the conference's slug")
        parser.add_argument("file", nargs="?", help="import: the schedule file; export: where to write (default: stdout)")
        parser.add_argument("--format", choices=sorted(schedule.FORMATS), default="json", help="export only")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="export only: the venue's address")

    def handle(self, *args, action, slug, file, format, base_url, **options):
        conference = Conference.objects.filter(slug=slug).first()
        if conference is None:
            raise CommandError(f"No conference has the slug {slug!r}.")
        if action == "export":
            data = schedule.export(conference, format, base_url)
            if file:
                Path(file).write_bytes(data)
            else:
                sys.stdout.buffer.write(data)
            return
        if not file:
            raise CommandError("Name the schedule file to import.")
        try:
            items = schedule.import_file(conference, Path(file).read_bytes())
        except OSError as error:
            raise CommandError(str(error)) from error
        except ScheduleError as error:
            raise CommandError("The programme is unchanged:\n" + "\n".join(f"  {p}" for p in error.problems)) from error
        self.stdout.write(f"{len(items)} items imported into {conference.title}.\n")
