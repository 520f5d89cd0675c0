from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from venue import erasure
from venue.models import Conference, Invite, Person


@admin.register(Conference)
class ConferenceAdmin(admin.ModelAdmin):
    list_display = ("title", "date", "host")


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    """Deleting a person here erases them (venue.erasure) instead: a deleted row would take their
    questions, messages and votes with it, and the day's counts would change."""

    list_display = ("display_name", "role", "organization", "conference", "revoked_at", "erased_at")
    list_filter = ("role", "conference")
    search_fields = ("display_name", "organization")
    readonly_fields = ("token", "erased_at")
    actions = ["erase_personal_data"]

    @admin.action(description=_("Erase personal data (keeps the counts)"))
    def erase_personal_data(self, request, queryset):
        erased = erasure.erase(list(queryset))
        self.message_user(request, ngettext("%(count)d person erased.", "%(count)d people erased.", len(erased))
                          % {"count": len(erased)})

    def delete_model(self, request, obj):
        erasure.erase([obj])

    def delete_queryset(self, request, queryset):
        erasure.erase(list(queryset))

    def log_deletions(self, request, queryset):
        # Nothing is deleted, and a log entry of the deletion would keep the name.
        pass

    def get_deleted_objects(self, objs, request):
        # Only the people themselves are affected: nothing of theirs is deleted with them.
        people = [str(obj) for obj in objs]
        return people, {Person._meta.verbose_name_plural: len(people)}, set(), []


@admin.register(Invite)
class InviteAdmin(admin.ModelAdmin):
    list_display = ("label", "role", "uses", "revoked_at", "conference")
    list_filter = ("role", "conference")
    readonly_fields = ("token", "uses")
