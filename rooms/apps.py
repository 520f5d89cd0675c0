from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RoomsConfig(AppConfig):
    name = "rooms"
    verbose_name = _("Rooms")

    def ready(self):
        # Imported here, not at the top: these modules use the models, which load after apps.py.
        # Each place's WebSocket commands join the registry (venue.protocol) as their module loads.
        # The places follow the day (agenda.signals) and the hands (rooms.signals).
        from agenda import signals as agenda
        from rooms import (
            commands,  # noqa: F401
            erasure,
            hands,
            presence,
        )
        from rooms import signals as rooms
        from rooms.forums import commands as forum_commands  # noqa: F401
        from rooms.forums import results, seating
        from rooms.forums import view as forums
        from rooms.lounge import commands as lounge_commands  # noqa: F401
        from rooms.lounge import tables
        from rooms.media import commands as media_commands  # noqa: F401
        from rooms.plenary import commands as plenary_commands
        from rooms.plenary import interpretation, qa, recording, stage
        from rooms.plenary import view as plenary
        from venue import signals as venue

        agenda.item_started.connect(hands.on_item_started, dispatch_uid="hands")
        agenda.item_started.connect(stage.on_item_started, dispatch_uid="stage")
        agenda.item_started.connect(interpretation.on_item_started, dispatch_uid="interpretation")
        agenda.item_started.connect(seating.on_item_started, dispatch_uid="forum-seating")
        agenda.item_ended.connect(qa.on_item_ended, dispatch_uid="questions")
        agenda.item_ended.connect(recording.on_item_ended, dispatch_uid="recording")
        agenda.item_ended.connect(tables.on_item_ended, dispatch_uid="tables")
        agenda.item_ended.connect(results.on_item_ended, dispatch_uid="forum-results")
        agenda.item_started_by.connect(plenary_commands.on_item_started_by, dispatch_uid="stage-media")
        agenda.item_ended_by.connect(plenary_commands.on_item_ended_by, dispatch_uid="recording-media")
        rooms.hands_changed.connect(plenary.on_hands_changed, dispatch_uid="plenary-hands")
        rooms.hands_changed.connect(forums.on_hands_changed, dispatch_uid="forum-hands")
        venue.heartbeat.connect(presence.on_heartbeat, dispatch_uid="presence")
        venue.person_erased.connect(erasure.on_person_erased, dispatch_uid="places-forget")
