from django.contrib import admin

from rooms.models import (
    ChatMessage, Connection, ForumAssignment, Interpreter, Poll, Question, ResultVersion, Room, Upload,
)


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "capacity", "parent", "facilitator", "order")
    list_filter = ("conference", "kind")


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    list_display = ("person", "opened_at", "closed_at", "process")
    list_filter = ("closed_at",)


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    """Organizers tidy questions for the documentation (hide, fix a typo); the day's votes stay."""

    list_display = ("text", "item", "author", "anonymous", "state", "votes")
    list_filter = ("state", "item__conference")
    search_fields = ("text",)
    readonly_fields = ("votes", "author", "item", "merged_into", "created_at")


@admin.register(ChatMessage)
class ChatMessageAdmin(admin.ModelAdmin):
    list_display = ("author", "room", "created_at", "deleted_at")
    list_filter = ("room",)
    readonly_fields = ("author", "room", "created_at")


@admin.register(Poll)
class PollAdmin(admin.ModelAdmin):
    list_display = ("question", "item", "state", "opened_at")
    list_filter = ("state",)


@admin.register(ForumAssignment)
class ForumAssignmentAdmin(admin.ModelAdmin):
    list_display = ("person", "room", "assigned_at")
    list_filter = ("room",)


@admin.register(ResultVersion)
class ResultVersionAdmin(admin.ModelAdmin):
    """Every submitted version is kept; the admin shows them, it does not rewrite them."""

    list_display = ("room", "number", "submitted_at", "presented_at")
    list_filter = ("room",)
    readonly_fields = ("room", "number", "content", "submitted_by", "submitted_at", "presented_at")


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    list_display = ("title", "room", "kind", "size", "created_at", "removed_at")
    list_filter = ("room", "kind")
    readonly_fields = ("file", "kind", "size", "uploaded_by", "created_at")


@admin.register(Interpreter)
class InterpreterAdmin(admin.ModelAdmin):
    """Organizers add interpreters (role "interpreter") to plenary items, one language each."""

    list_display = ("item", "language", "person", "shown_by_default")
    list_filter = ("item__conference", "language")
