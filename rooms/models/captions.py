"""Live captions: the lines captioners type during a plenary item, kept as the item's transcript."""

from django.db import models
from django.utils import timezone

from venue.models import Conference, Person

MAX_LINE_LENGTH = 300


class CaptionLine(models.Model):
    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="caption_lines")
    item = models.ForeignKey("agenda.AgendaItem", on_delete=models.CASCADE, related_name="caption_lines")
    # The captioner who typed it; a second one taking over simply goes on typing.
    by = models.ForeignKey(Person, null=True, on_delete=models.SET_NULL, related_name="caption_lines")
    text = models.CharField(max_length=MAX_LINE_LENGTH)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        # The primary key is the order in which lines were stored, and so the order they are shown in.
        ordering = ["pk"]

    def __str__(self):
        return f"{self.item_id}: {self.text[:40]}"


class PublishedTranscript(models.Model):
    """An item whose caption transcript the organizers put on the documentation page."""

    item = models.OneToOneField("agenda.AgendaItem", on_delete=models.CASCADE, related_name="published_transcript")
    published_by = models.ForeignKey(Person, null=True, on_delete=models.SET_NULL, related_name="+")
    published_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"transcript of item {self.item_id}"
