"""Rooms: the plenary, the forums, the lounge and its standing tables."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from venue.models import Conference, Person


class RoomKind(models.TextChoices):
    PLENARY = "plenary", _("Plenary")
    FORUM = "forum", _("Forum")
    LOUNGE = "lounge", _("Lounge")
    TABLE = "table", _("Standing table")


class Room(models.Model):
    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="rooms")
    slug = models.SlugField()
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=RoomKind.choices)
    description = models.TextField(blank=True)
    capacity = models.PositiveIntegerField(null=True, blank=True)
    order = models.PositiveIntegerField(default=0)
    # Standing tables belong to the lounge.
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    facilitator = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="facilitated_rooms"
    )

    class Meta:
        ordering = ["conference", "order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["conference", "slug"], name="room_slug_unique"),
        ]
        verbose_name = _("room")
        verbose_name_plural = _("rooms")

    def __str__(self):
        return f"{self.name} ({self.get_kind_display()})"
