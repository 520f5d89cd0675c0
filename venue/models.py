"""The conference itself: who is invited, in which role, and by which link."""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def new_token():
    # 32 bytes from the OS's CSPRNG: links are the only credential a participant has.
    return secrets.token_urlsafe(32)


class Role(models.TextChoices):
    PARTICIPANT = "participant", _("Participant")
    SPEAKER = "speaker", _("Speaker")
    FACILITATOR = "facilitator", _("Forum facilitator")
    MODERATOR = "moderator", _("Moderator")
    COMODERATOR = "comoderator", _("Co-moderator")
    ORGANIZER = "organizer", _("Organizer")
    # Types what the floor says, as live captions (a Schriftdolmetscher).
    CAPTIONER = "captioner", _("Captioner")
    # Speaks the floor in another language, or signs it, on the plenary items they are added to.
    INTERPRETER = "interpreter", _("Interpreter")


# Roles that see the console.
CONSOLE_ROLES = frozenset({Role.MODERATOR, Role.COMODERATOR, Role.ORGANIZER})
# Roles that may run the agenda and the stage.
AGENDA_ROLES = frozenset({Role.MODERATOR, Role.ORGANIZER})
# Roles that may moderate questions and chat (the co-moderator's job).
MODERATION_ROLES = CONSOLE_ROLES


class Conference(models.Model):
    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    subtitle = models.CharField(max_length=300, blank=True)
    host = models.CharField(_("host"), max_length=200, blank=True)
    date = models.DateField()
    # Bumped in the same transaction as every change of the live state, so that cached
    # renders of that state can be keyed by it.
    state_version = models.PositiveIntegerField(default=0, editable=False)
    # The documentation page is public once the organizers publish it.
    documentation_published_at = models.DateTimeField(null=True, blank=True)
    documentation_intro = models.TextField(blank=True)
    # Certificates of attendance: only for those present at least this long; signed by this name
    # (and with this signature image, a checked PNG or JPEG).
    certificate_minimum_minutes = models.PositiveIntegerField(_("minutes present for a certificate"), default=30)
    certificate_signatory = models.CharField(_("certificates signed by"), max_length=200, blank=True)
    certificate_signature = models.FileField(upload_to="signatures/", blank=True)
    # Privacy: attendance files name a pseudonym instead of the person, and certificates go only
    # to the person themselves; named attendance is deleted this many days after the day
    # (`manage.py plenum_retention`, run from cron). None: kept until deleted by hand.
    attendance_pseudonymous = models.BooleanField(_("pseudonymised attendance"), default=False)
    attendance_retention_days = models.PositiveIntegerField(_("days attendance is kept"), null=True, blank=True)

    class Meta:
        ordering = ["date", "title"]
        verbose_name = _("conference")
        verbose_name_plural = _("conferences")

    def __str__(self):
        return f"{self.title} ({self.date:%d.%m.%Y})"


class Person(models.Model):
    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="people")
    display_name = models.CharField(_("display name"), max_length=80)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.PARTICIPANT)
    organization = models.CharField(max_length=120, blank=True)
    # Where the personal link is mailed to (venue.invitations); empty for those who joined by a shared link.
    email = models.EmailField(_("e-mail"), blank=True)
    # When the personal link was last mailed; None: never.
    invited_at = models.DateTimeField(null=True, blank=True)
    # The personal link: whoever holds it is this person.
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The shared link this person joined through, if any: revoking the link revokes them too.
    invite = models.ForeignKey(
        "Invite", null=True, blank=True, on_delete=models.SET_NULL, related_name="people"
    )
    # Organizers get a staff user so that the admin is theirs too.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)
    # When this person's personal data was erased (venue.erasure): the row stays, without a
    # name, so that what they did keeps its counts.
    erased_at = models.DateTimeField(_("erased"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["display_name"]
        verbose_name = _("person")
        verbose_name_plural = _("people")

    def __str__(self):
        return f"{self.display_name} ({self.get_role_display()})"

    @property
    def is_active(self):
        return self.revoked_at is None

    @property
    def may_run_agenda(self):
        return self.role in AGENDA_ROLES

    @property
    def may_moderate(self):
        return self.role in MODERATION_ROLES


class Invite(models.Model):
    """A link that anyone may open to join in a role, until it is revoked."""

    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="invites")
    label = models.CharField(max_length=120)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.PARTICIPANT)
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    uses = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["label"]
        verbose_name = _("invite link")
        verbose_name_plural = _("invite links")

    def __str__(self):
        state = "revoked" if self.revoked_at else "active"
        return f"{self.label} ({self.get_role_display()}, {state})"

    @property
    def is_active(self):
        return self.revoked_at is None


class SpokenLanguage(models.Model):
    """A language someone in the conference has read the venue in: broadcasts are rendered in
    the conference's own language and these, not in every language Plenum has."""

    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="spoken_languages")
    code = models.CharField(max_length=8)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["conference", "code"], name="one_row_per_spoken_language")]

    def __str__(self):
        return f"{self.code} in {self.conference_id}"
