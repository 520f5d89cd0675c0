"""Places in the venue and who is connected to them."""

from django.db import models
from django.utils import timezone
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

    def __str__(self):
        return f"{self.name} ({self.get_kind_display()})"


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

    def __str__(self):
        return f"{self.person} since {self.opened_at:%H:%M:%S}"


# --- The plenary: stage, hands, questions, chat, polls, reactions, announcements -------------


class StageSeat(models.Model):
    """Someone the moderator has put on the stage (speakers of the live item are there anyway)."""

    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="stage_seats")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="stage_seats")
    invited_by = models.ForeignKey(Person, null=True, on_delete=models.SET_NULL, related_name="+")
    since = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["since"]
        constraints = [models.UniqueConstraint(fields=["conference", "person"], name="one_seat_per_person")]

    def __str__(self):
        return f"{self.person} on stage"


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


class QuestionState(models.TextChoices):
    PENDING = "pending", _("awaiting approval")
    VISIBLE = "visible", _("visible")
    ANSWERING = "answering", _("now answering")
    ANSWERED = "answered", _("answered")
    HIDDEN = "hidden", _("hidden")
    MERGED = "merged", _("merged")


class Question(models.Model):
    item = models.ForeignKey("agenda.AgendaItem", on_delete=models.CASCADE, related_name="questions")
    author = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="questions")
    text = models.TextField()
    # Anonymous towards the audience only; the moderators always see who asked.
    anonymous = models.BooleanField(default=False)
    state = models.CharField(max_length=20, choices=QuestionState.choices, default=QuestionState.VISIBLE)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates")
    votes = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-votes", "created_at"]

    def __str__(self):
        return self.text[:60]


class QuestionVote(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="vote_set")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="question_votes")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["question", "person"], name="one_vote_per_question")]


class ChatMessage(models.Model):
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="chat_messages")
    author = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="chat_messages")
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["author", "created_at"])]

    def __str__(self):
        return f"{self.author.display_name}: {self.text[:40]}"


class ChatMute(models.Model):
    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="chat_mutes")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="chat_mutes")
    until = models.DateTimeField()
    by = models.ForeignKey(Person, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-until"]


class PollState(models.TextChoices):
    OPEN = "open", _("open")
    CLOSED = "closed", _("closed")
    REVEALED = "revealed", _("results shown")


class Poll(models.Model):
    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="polls")
    item = models.ForeignKey("agenda.AgendaItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="polls")
    question = models.CharField(max_length=300)
    multiple = models.BooleanField(default=False)
    state = models.CharField(max_length=20, choices=PollState.choices, default=PollState.OPEN)
    created_by = models.ForeignKey(Person, null=True, on_delete=models.SET_NULL, related_name="+")
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]

    def __str__(self):
        return self.question


class PollOption(models.Model):
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="options")
    text = models.CharField(max_length=120)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order"]

    def __str__(self):
        return self.text


class PollVote(models.Model):
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="votes")
    option = models.ForeignKey(PollOption, on_delete=models.CASCADE, related_name="votes")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="poll_votes")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["option", "person"], name="one_vote_per_option")]


class StageMode(models.TextChoices):
    ITEM = "item", _("The live item")
    ANNOUNCEMENT = "announcement", _("Announcement")
    QUESTION = "question", _("Question being answered")
    POLL = "poll", _("Poll results")
    SLIDE = "slide", _("Slide")
    RESULTS = "results", _("Forum results")


class StageDisplay(models.Model):
    """What the plenary stage shows besides its speakers; one row per conference."""

    conference = models.OneToOneField(Conference, on_delete=models.CASCADE, related_name="stage_display")
    mode = models.CharField(max_length=20, choices=StageMode.choices, default=StageMode.ITEM)
    text = models.CharField(max_length=500, blank=True)
    question = models.ForeignKey(Question, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    poll = models.ForeignKey(Poll, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    result = models.ForeignKey("ResultVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    slide = models.FileField(upload_to="slides/", blank=True)
    countdown_label = models.CharField(max_length=120, blank=True)
    countdown_ends_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"Stage of {self.conference}: {self.mode}"


class Announcement(models.Model):
    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="announcements")
    # Empty means everyone in the venue.
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.CASCADE, related_name="announcements")
    text = models.CharField(max_length=500)
    by = models.ForeignKey(Person, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.text[:60]


class ReactionKind(models.TextChoices):
    APPLAUSE = "applause", _("Applause")
    HEART = "heart", _("Heart")
    LAUGH = "laugh", _("Laugh")
    THINKING = "thinking", _("Thinking")


class ReactionTally(models.Model):
    """How often each reaction was sent during an agenda item (added up once per second)."""

    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="reaction_tallies")
    item = models.ForeignKey("agenda.AgendaItem", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=ReactionKind.choices)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["conference", "item", "kind"], name="one_tally_per_kind")]


# --- The Fachforen: choices, assignments, the results board, uploads, frozen results ---------


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


class TableSeat(models.Model):
    """Where a person stands in the lounge: at most one standing table at a time."""

    person = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="table_seat")
    table = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="seats")
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["table", "joined_at"]

    def __str__(self):
        return f"{self.person} at {self.table}"
