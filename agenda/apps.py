from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AgendaConfig(AppConfig):
    name = "agenda"
    verbose_name = _("Agenda")

    def ready(self):
        # The agenda's WebSocket commands join the registry (venue.protocol) as the module loads;
        # imported here, not at the top, because it uses the models, which load after apps.py.
        from agenda import commands  # noqa: F401
