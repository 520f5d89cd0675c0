"""Which pages may open a venue socket: only those of this very origin (scheme, host and port),
or one named in CSRF_TRUSTED_ORIGINS. A page elsewhere, even on the same host name with another
port or scheme, is refused before the socket opens: it could otherwise act with the visitor's
session cookie (cross-site WebSocket hijacking).
"""

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": "80", "https": "443"}


def _normal(scheme, host):
    """`scheme://host[:port]` as browsers write an origin (no default port); None if no host."""
    domain, port = split_domain_port(host)
    if not domain:
        return None
    if port == DEFAULT_PORTS.get(scheme):
        port = ""
    return f"{scheme}://{domain}{':' + port if port else ''}"


def page_origin(scope):
    """The origin of the pages this server served to whoever opens this socket, from the
    handshake's Host (which must be one of ALLOWED_HOSTS); None if the host is not ours."""
    headers = dict(scope.get("headers", ()))
    host = headers.get(b"host", b"").decode("latin-1").strip()
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    # Behind a TLS proxy (PLENUM_HTTPS), the proxy says which scheme the browser used.
    proxied_https = settings.PLENUM_HTTPS and headers.get(b"x-forwarded-proto", b"") == b"https"
    scheme = "https" if proxied_https or scope.get("scheme") == "wss" else "http"
    return _normal(scheme, host)


def origin_allowed(scope):
    headers = dict(scope.get("headers", ()))
    origin = headers.get(b"origin", b"").decode("latin-1").strip().lower()
    if not origin or "://" not in origin:
        return False
    scheme, _, host = origin.partition("://")
    claimed = _normal(scheme, host)
    if claimed is None:
        return False
    trusted = {_normal(*trusted.lower().rstrip("/").split("://", 1)) for trusted in settings.CSRF_TRUSTED_ORIGINS if "://" in trusted}
    return claimed == page_origin(scope) or claimed in trusted


class SameOriginValidator:
    """ASGI middleware for sockets: refuses the handshake unless `origin_allowed`."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            denier = WebsocketDenier()
            return await denier(scope, receive, send)
        return await self.app(scope, receive, send)
