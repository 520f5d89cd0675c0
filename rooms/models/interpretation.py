"""Interpretation channels: who interprets which plenary item into which language, and who of
them is on air now."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from venue.models import Conference, Person

# The sign language of the day (Deutsche Gebärdensprache): its interpreter is seen, not heard.
SIGN_LANGUAGE = "dgs"
# The languages interpreters speak, by code, each named in itself (a listener looks for their own).
SPOKEN_LANGUAGES = {
    "de": "Deutsch",
    "en": "English",
    "tr": "Türkçe",
    "ar": "العربية",
    "uk": "Українська",
    "ru": "Русский",
}
LANGUAGES = {**SPOKEN_LANGUAGES, SIGN_LANGUAGE: "Deutsche Gebärdensprache"}


class Interpreter(models.Model):
    """An interpreter added by the organizers to one plenary item, for one language."""

    item = models.ForeignKey("agenda.AgendaItem", on_delete=models.CASCADE, related_name="interpreters")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="interpreting")
    language = models.CharField(max_length=8, choices=sorted(LANGUAGES.items()))
    # For the sign-language interpreter: their tile is on for everyone who has not switched it off.
    shown_by_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["item", "language", "person"]
        verbose_name = _("interpreter")
        verbose_name_plural = _("interpreters")
        constraints = [models.UniqueConstraint(fields=["item", "person"], name="one_language_per_interpreter_and_item")]

    def __str__(self):
        return f"{self.person} → {self.language} ({self.item})"


class InterpretationChannel(models.Model):
    """One language's channel in a conference: at most one interpreter on air at a time."""

    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="interpretation_channels")
    language = models.CharField(max_length=8, choices=sorted(LANGUAGES.items()))
    on_air = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    since = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["language"]
        constraints = [models.UniqueConstraint(fields=["conference", "language"], name="one_channel_per_language")]

    def __str__(self):
        return f"{self.language}: {self.on_air_id or 'nobody'} on air"
