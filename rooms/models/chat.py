"""Chat messages of a room, and who the moderation has muted."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rooms.models.places import Room
from venue.models import Conference, Person


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
        verbose_name = _("chat message")
        verbose_name_plural = _("chat messages")

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
