"""ASGI entry point: HTTP goes to Django, /ws/venue/ to the participant's socket."""

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "venue.settings")

from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()
if settings.PLENUM_SERVE_STATIC:
    # The embedded default serves its own static files; at scale a web server does (docs/operations.md).
    django_asgi_app = ASGIStaticFilesHandler(django_asgi_app)

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.sessions import CookieMiddleware  # noqa: E402
from django.urls import path  # noqa: E402

from frontend.admission import Door  # noqa: E402
from frontend.consumers import VenueConsumer  # noqa: E402
from venue.auth import PersonMiddleware  # noqa: E402
from venue.origins import SameOriginValidator  # noqa: E402

websocket_urls = [path("ws/venue/", VenueConsumer.as_asgi())]

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # The door first: in a join storm it turns sockets away before any of them costs a query.
        "websocket": Door(SameOriginValidator(
            CookieMiddleware(PersonMiddleware(URLRouter(websocket_urls)))
        )),
    }
)

# Everything loaded so far lives as long as the process: the garbage collector need not walk it
# again in every full collection (130-220 ms each in a join storm, before). Young collections run
# less often too: a storm makes thousands of short-lived objects per second.
gc.freeze()
gc.set_threshold(*settings.PLENUM_GC_THRESHOLDS)
