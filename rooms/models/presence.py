"""Which server processes are alive and which sockets they hold (presence, attendance)."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from venue.models import Conference, Person


class Process(models.Model):
    """A daphne process that holds sockets; its heartbeat tells which connections are real."""

    name = models.CharField(max_length=100, unique=True)
    started_at = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return self.name


class Connection(models.Model):
    """One open WebSocket of one person: presence now, attendance afterwards.

    Attendance outlives the name: when the person is deleted, or their conference's retention
    period is over (`manage.py plenum_retention`), `person` becomes empty and `attendee` (the
    number the person had) still tells whose sockets belong together, so the counts stay.
    """

    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="connections")
    conference = models.ForeignKey(Conference, null=True, on_delete=models.CASCADE, related_name="+")
    attendee = models.PositiveIntegerField(null=True, editable=False)
    process = models.CharField(max_length=100)
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        indexes = [models.Index(fields=["closed_at", "process"]), models.Index(fields=["conference", "attendee"])]
        verbose_name = _("connection")
        verbose_name_plural = _("connections")

    def __str__(self):
        return f"{self.person or self.attendee} since {self.opened_at:%H:%M:%S}"

    @staticmethod
    def of(person):
        """The fields that make a connection `person`'s: their id twice (`attendee` outlives the
        person) and their conference. A join storm writes these without save() (rooms.presence)."""
        return {"person_id": person.pk, "attendee": person.pk, "conference_id": person.conference_id}

    def save(self, *args, **kwargs):
        if self.person_id is not None:
            for field, value in self.of(self.person).items():
                setattr(self, field, getattr(self, field) or value)
        super().save(*args, **kwargs)


class Stay(models.Model):
    """Where one socket was: from `entered_at` until its connection's next stay begins or the
    connection closes. `room` empty: in no room (choosing a forum, the foyer). Written by
    `rooms.presence` whenever a participant's socket moves; the attendance chart reads it."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="stays")
    room = models.ForeignKey("rooms.Room", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    entered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["connection", "entered_at"]
        indexes = [models.Index(fields=["connection", "entered_at"])]
        verbose_name = _("stay")
        verbose_name_plural = _("stays")

    def __str__(self):
        return f"{self.connection_id} in {self.room_id} since {self.entered_at:%H:%M:%S}"
