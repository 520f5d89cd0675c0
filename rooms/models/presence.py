"""Which server processes are alive and which sockets they hold (presence, attendance)."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from venue.models import Person


class Process(models.Model):
    """A daphne process that holds sockets; its heartbeat tells which connections are real."""

    name = models.CharField(max_length=100, unique=True)
    started_at = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return self.name


class Connection(models.Model):
    """One open WebSocket of one person: presence now, attendance afterwards."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="connections")
    process = models.CharField(max_length=100)
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        indexes = [models.Index(fields=["closed_at", "process"])]
        verbose_name = _("connection")
        verbose_name_plural = _("connections")

    def __str__(self):
        return f"{self.person} since {self.opened_at:%H:%M:%S}"
