"""The Fachforen: choices, assignments, the results board, uploads, frozen results."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rooms.models.places import Room
from venue.models import Conference, Person


class ForumChoice(models.Model):
    """A participant's wish, ranked (1 = first choice)."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="forum_choices")
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="choices")
    rank = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["person", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["person", "rank"], name="one_choice_per_rank"),
            models.UniqueConstraint(fields=["person", "room"], name="one_rank_per_forum"),
        ]


class ForumAssignment(models.Model):
    """Which forum a person is in for the forum phase (one per person)."""

    person = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="forum_assignment")
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="assignments")
    assigned_by = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    assigned_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["room", "assigned_at"]
        verbose_name = _("forum assignment")
        verbose_name_plural = _("forum assignments")

    def __str__(self):
        return f"{self.person} → {self.room}"


class ForumSettings(models.Model):
    """The forum phase's switches, one row per conference."""

    conference = models.OneToOneField(Conference, on_delete=models.CASCADE, related_name="forum_settings")
    allow_switching = models.BooleanField(default=False)
    ends_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Forum settings of {self.conference}"


class BoardSection(models.TextChoices):
    FINDING = "finding", _("Key findings")
    PROPOSAL = "proposal", _("Proposals")
    QUESTION = "question", _("Open questions")


class BoardEntry(models.Model):
    """One short item on a forum's results board; `version` guards against silent overwrites."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="board")
    section = models.CharField(max_length=20, choices=BoardSection.choices)
    text = models.CharField(max_length=500)
    position = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(Person, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_by = models.ForeignKey(Person, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["room", "section", "position", "pk"]

    def __str__(self):
        return self.text[:60]


class BoardComment(models.Model):
    entry = models.ForeignKey(BoardEntry, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    text = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]


class BoardPlusOne(models.Model):
    entry = models.ForeignKey(BoardEntry, on_delete=models.CASCADE, related_name="plus_ones")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entry", "person"], name="one_plus_one")]


class BoardWriter(models.Model):
    """A co-writer the facilitator named for the board."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="writers")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["room", "person"], name="one_writer_entry")]


class UploadKind(models.TextChoices):
    PNG = "png", "PNG"
    JPEG = "jpeg", "JPEG"
    PDF = "pdf", "PDF"


class Upload(models.Model):
    """A graphic recording or other material of a forum; served only to those allowed to see it."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="uploads")
    uploaded_by = models.ForeignKey(Person, null=True, on_delete=models.SET_NULL, related_name="+")
    file = models.FileField(upload_to="forums/%Y/")
    kind = models.CharField(max_length=10, choices=UploadKind.choices)
    title = models.CharField(max_length=200)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["room", "created_at"]
        verbose_name = _("upload")
        verbose_name_plural = _("uploads")

    def __str__(self):
        return self.title


class ResultVersion(models.Model):
    """A forum's results frozen at a moment: every version is kept, the newest is presented."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="result_versions")
    number = models.PositiveIntegerField()
    content = models.JSONField()
    submitted_by = models.ForeignKey(Person, null=True, on_delete=models.SET_NULL, related_name="+")
    submitted_at = models.DateTimeField(default=timezone.now)
    presented_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["room", "-number"]
        constraints = [models.UniqueConstraint(fields=["room", "number"], name="one_result_number")]
        verbose_name = _("forum result")
        verbose_name_plural = _("forum results")

    def __str__(self):
        return f"{self.room.name} v{self.number}"

    @property
    def sections(self):
        """The frozen sections with their labels in the reader's language."""
        labels = dict(BoardSection.choices)
        return [
            {"key": part["key"], "label": labels.get(part["key"], part["key"]), "entries": part["entries"]}
            for part in self.content.get("sections", [])
        ]
