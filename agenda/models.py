"""The day's timeline: agenda items and where each happens."""

from collections import defaultdict

from django.db import models
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from venue.models import Conference, Person


class ItemState(models.TextChoices):
    SCHEDULED = "scheduled", _("scheduled")
    LIVE = "live", _("live")
    DONE = "done", _("done")


class Phase(models.TextChoices):
    """Where everybody is: this follows from the live item (see agenda.machine)."""

    PLENARY = "plenary", _("Plenary")
    FORUMS = "forums", _("Forums")
    BREAK = "break", _("Break")
    CLOSED = "closed", _("Closed")


class QuestionMode(models.TextChoices):
    CLOSED = "closed", _("no questions")
    OPEN = "open", _("questions appear at once")
    PREMODERATED = "premoderated", _("questions are approved first")


class AgendaItem(models.Model):
    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="agenda")
    order = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    phase = models.CharField(
        max_length=20,
        choices=[c for c in Phase.choices if c[0] != Phase.CLOSED],
        default=Phase.PLENARY,
    )
    # The room the item happens in; forum items happen in every forum at once and leave it empty.
    # Named by its app label: the agenda's code never touches a room, the places read this.
    room = models.ForeignKey("rooms.Room", null=True, blank=True, on_delete=models.SET_NULL)
    speakers = models.ManyToManyField(Person, blank=True, related_name="agenda_items")
    planned_start = models.DateTimeField()
    planned_end = models.DateTimeField()
    question_mode = models.CharField(
        _("questions"), max_length=20, choices=QuestionMode.choices, default=QuestionMode.OPEN
    )
    state = models.CharField(max_length=20, choices=ItemState.choices, default=ItemState.SCHEDULED)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    @cached_property
    def speaker_list(self):
        """The speakers in the order they were added (the programme's: the panel as announced),
        not by name as `speakers.all()` would have it. `with_speakers` fills it for many items.
        Add them one at a time to keep an order: `speakers.add(a, b)` stores them in any order."""
        rows = type(self).speakers.through.objects.filter(agendaitem=self).select_related("person").order_by("pk")
        return [row.person for row in rows]

    @classmethod
    def with_speakers(cls, items):
        """Fill `speaker_list` of all `items` with one query."""
        by_item = defaultdict(list)
        rows = cls.speakers.through.objects.filter(agendaitem__in=items).select_related("person").order_by("pk")
        for row in rows:
            by_item[row.agendaitem_id].append(row.person)
        for item in items:
            item.speaker_list = by_item[item.pk]
        return items

    class Meta:
        ordering = ["conference", "order"]
        constraints = [
            models.UniqueConstraint(fields=["conference", "order"], name="agenda_order_unique"),
            # The database itself keeps "one live item at a time".
            models.UniqueConstraint(
                fields=["conference"],
                condition=models.Q(state="live"),
                name="agenda_one_live_item",
            ),
        ]
        verbose_name = _("agenda item")
        verbose_name_plural = _("agenda items")

    def __str__(self):
        return f"{self.planned_start:%H:%M} {self.title}"

    @property
    def planned_minutes(self):
        return int((self.planned_end - self.planned_start).total_seconds() // 60)
