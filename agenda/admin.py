from django.contrib import admin

from agenda.models import AgendaItem


@admin.register(AgendaItem)
class AgendaItemAdmin(admin.ModelAdmin):
    list_display = ("order", "title", "phase", "room", "planned_start", "planned_end", "state")
    list_filter = ("conference", "phase", "state")
    filter_horizontal = ("speakers",)
    # The live state changes only through the console, never by editing a row.
    readonly_fields = ("state", "started_at", "ended_at")
