"""The Stehtisch lounge: who stands at which table."""

from django.db import models
from django.utils import timezone

from rooms.models.places import Room
from venue.models import Person


class TableSeat(models.Model):
    """Where a person stands in the lounge: at most one standing table at a time."""

    person = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="table_seat")
    table = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="seats")
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["table", "joined_at"]

    def __str__(self):
        return f"{self.person} at {self.table}"
