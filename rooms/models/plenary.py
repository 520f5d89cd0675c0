"""The plenary: stage seats and display, questions, polls, reactions, announcements."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rooms.models.places import Room
from venue.models import Conference, Person


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
        verbose_name = _("question")
        verbose_name_plural = _("questions")

    def __str__(self):
        return self.text[:60]


class QuestionVote(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="vote_set")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="question_votes")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["question", "person"], name="one_vote_per_question")]


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
        verbose_name = _("poll")
        verbose_name_plural = _("polls")

    def __str__(self):
        return self.question

    def with_results(self):
        """This poll with `option_list` (each option's `count` and `percent` of all votes; 0 %
        while nobody has voted), `total_votes` and `voters` filled in, for the stage and the
        documentation alike."""
        options = list(self.options.annotate(count=models.Count("votes")))
        total = sum(option.count for option in options)
        for option in options:
            option.percent = round(100 * option.count / total) if total else 0
        self.option_list = options
        self.total_votes = total
        self.voters = self.votes.values("person").distinct().count()
        return self


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
    # A deleted person's vote still counts; it no longer says whose it was.
    person = models.ForeignKey(Person, null=True, on_delete=models.SET_NULL, related_name="poll_votes")
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
    # The audience sees the cameras only of the last N speakers (0: of everyone on the stage);
    # the others show their name. A panel of eight then costs each viewer what N cameras cost.
    media_last_n = models.PositiveSmallIntegerField(_("video for the last N speakers"), default=0)

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
