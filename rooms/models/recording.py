"""Recordings of plenary items: when the moderator recorded, and the file of each publisher."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from venue.models import Conference, Person


class ItemRecording(models.Model):
    """The moderator recorded (part of) a plenary item: from `started_at` until `stopped_at`."""

    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="recordings")
    item = models.ForeignKey("agenda.AgendaItem", on_delete=models.CASCADE, related_name="recordings")
    started_at = models.DateTimeField(default=timezone.now)
    stopped_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(Person, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["started_at"]
        constraints = [
            models.UniqueConstraint(fields=["conference"], condition=Q(stopped_at=None), name="one_running_recording"),
        ]

    def __str__(self):
        return f"recording of {self.item_id} from {self.started_at:%H:%M:%S}"


class RecordingFile(models.Model):
    """One stage publisher's WebM (VP8 and Opus, as they sent it) for one recording."""

    recording = models.ForeignKey(ItemRecording, on_delete=models.CASCADE, related_name="files")
    person = models.ForeignKey(Person, null=True, on_delete=models.SET_NULL, related_name="recordings")
    name = models.CharField(max_length=80)  # who it shows, as the stage named them
    file = models.FileField(upload_to="recordings/")
    # Where the file begins, in seconds after the recording started: a player lines files up by it.
    offset_seconds = models.FloatField(default=0)
    duration_seconds = models.FloatField(default=0)
    size = models.PositiveBigIntegerField(default=0)
    # The organizers chose it for the documentation page.
    documented = models.BooleanField(default=False)

    class Meta:
        ordering = ["recording", "offset_seconds", "pk"]

    def __str__(self):
        return f"{self.name}, {self.duration_seconds:.0f} s"
