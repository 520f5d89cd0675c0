from django.core.management.base import BaseCommand

from frontend import demo


class Command(BaseCommand):
    help = "Create the demo conference (if it is not there yet) and print the links to open."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")
        parser.add_argument("--reset", action="store_true", help="Delete and recreate the demo conference.")

    def handle(self, *args, base_url, reset, **options):
        conference = demo.create(reset=reset)
        self.stdout.write(f"{conference.title} – {conference.date:%d.%m.%Y}\n")
        for label, url in demo.links(conference, base_url.rstrip("/")).items():
            self.stdout.write(f"  {label:20s} {url}\n")
