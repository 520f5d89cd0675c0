from django.core.management.base import BaseCommand

from rooms import retention


class Command(BaseCommand):
    help = ("Delete named attendance of conferences whose retention period is over: their connections "
            "keep the counts but no longer name anyone. Run it daily from cron (docs/operations.md).")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Say what would be deleted, delete nothing.")

    def handle(self, *args, dry_run, **options):
        forgotten = retention.forget_named_attendance(dry_run=dry_run)
        verb = "would forget" if dry_run else "forgot"
        for conference, count in forgotten.items():
            self.stdout.write(f"{conference.slug}: {verb} the names of {count} connections\n")
        if not forgotten:
            self.stdout.write("No conference is past its retention period.\n")
