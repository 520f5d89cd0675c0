from django.apps import AppConfig


class FrontendConfig(AppConfig):
    name = "frontend"

    def ready(self):
        # Imported here, not at the top: these modules use the models, which load after apps.py.
        from agenda import signals
        from frontend import consumers, live
        from venue import signals as venue_signals

        signals.day_changed.connect(live.on_day_changed, dispatch_uid="frontend-live")
        venue_signals.access_revoked.connect(consumers.revoked, dispatch_uid="frontend-revoked")
