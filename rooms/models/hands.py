"""Raised hands: in the plenary (no room) or in a forum."""

from django.db import models
from django.utils import timezone

from rooms.models.places import Room
from venue.models import Conference, Person


class Hand(models.Model):
    """A raised hand: a request to speak, queued in the order hands went up."""

    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="hands")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="hands")
    # Where the hand went up: a forum's facilitator keeps its own queue; empty is the plenary.
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.CASCADE, related_name="hands")
    raised_at = models.DateTimeField(default=timezone.now)
    lowered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["raised_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["conference", "person"], condition=models.Q(lowered_at=None), name="one_raised_hand"
            )
        ]

    def __str__(self):
        return f"{self.person} raised {self.raised_at:%H:%M:%S}"
