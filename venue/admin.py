from django.contrib import admin

from venue.models import Conference, Invite, Person


@admin.register(Conference)
class ConferenceAdmin(admin.ModelAdmin):
    list_display = ("title", "date", "host")


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ("display_name", "role", "organization", "conference", "revoked_at")
    list_filter = ("role", "conference")
    search_fields = ("display_name", "organization")
    readonly_fields = ("token",)


@admin.register(Invite)
class InviteAdmin(admin.ModelAdmin):
    list_display = ("label", "role", "uses", "revoked_at", "conference")
    list_filter = ("role", "conference")
    readonly_fields = ("token", "uses")
