from django.contrib import admin

from rooms.models import Connection, Room


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "capacity", "parent", "facilitator", "order")
    list_filter = ("conference", "kind")


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    list_display = ("person", "opened_at", "closed_at", "process")
    list_filter = ("closed_at",)
