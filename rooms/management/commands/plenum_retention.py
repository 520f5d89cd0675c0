from django.core.management.base import BaseCommand

from rooms import retention


class Command(BaseCommand):
    help = ("Delete named attendance of conferences whose retention period is over: their connections "
            "keep the counts but no longer name anyone, and their participants are erased (no name, e-mail or "
            "link; their questions and chat messages keep their text). Run it daily from cron (docs/operations.md).")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Say what would be deleted, delete nothing.")

    def handle(self, *args, dry_run, **options):
        forgotten = retention.forget_named_attendance(dry_run=dry_run)
        forget, erase = ("would forget", "would erase") if dry_run else ("forgot", "erased")
        for conference, (connections, participants) in forgotten.items():
            self.stdout.write(f"{conference.slug}: {forget} the names of {connections} connections, "
                              f"{erase} {participants} participants\n")
        if not forgotten:
            self.stdout.write("No conference is past its retention period.\n")
