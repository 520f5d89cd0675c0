"""Plenum's daphne: the same server, with limits that hold before anything is buffered.

Run it as daphne is run: `python -m venue.server -b 127.0.0.1 -p 8000 venue.asgi:application`
(every daphne option works). What it changes:

* A request body longer than PLENUM_MAX_REQUEST_BYTES is refused with 413 as soon as its
  headers say so (Content-Length), or as soon as a chunked body grows past it; and Twisted
  never parses a multipart or form body itself (it would hold every part in memory before the
  ASGI application sees the request: django/daphne#483, twisted/twisted#12412). Django parses
  what it needs, once the view has checked who is asking.
* A WebSocket message may be up to PLENUM_WS_MAX_FRAME_BYTES long on the wire, so that an oversized
  frame reaches the consumer and gets the `message_too_large` error the protocol promises
  (the consumer refuses anything over PLENUM_MAX_MESSAGE_BYTES) instead of a dropped connection.
* The access log never holds a personal or invite token (`/p/…`, `/join/…`, `?token=…`).
* autobahn pretty-prints every new WebSocket's settings for a debug line, logged or not (a
  tenth of a connect's cost in a join storm), and colours the names and values of every frame
  it sends for another; here only when its log level is debug or trace.
* With PLENUM_CPU set, the process and every thread it starts stay on that one core. A daphne
  process is one event loop and one database thread taking turns at Python's lock; on two cores
  they hand it back and forth between the cores, and a join storm cost a third more CPU than on
  one (docs/benchmarks.md). Run one daphne process per core, each on its own.
"""

import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "venue.settings")

import django  # noqa: E402

django.setup()

import autobahn.twisted.websocket  # noqa: E402
import autobahn.websocket.protocol  # noqa: E402
import daphne.server  # noqa: E402
import txaio  # noqa: E402
from daphne.cli import CommandLineInterface  # noqa: E402
from daphne.http_protocol import HTTPFactory, WebRequest  # noqa: E402
from django.conf import settings  # noqa: E402

from venue.logs import redact  # noqa: E402


def _only_when_debugging(format_for_log):
    def formatted(*args, **kwargs):
        if txaio.get_global_log_level() in ("debug", "trace"):
            return format_for_log(*args, **kwargs)
        return "(set the log level to debug to see this)"

    return formatted


# What autobahn formats for its debug lines only, logged or not: its settings at every connect,
# and the coloured names and values of every frame it sends (each broadcast, to every socket).
for _module in (autobahn.websocket.protocol, autobahn.twisted.websocket):
    for _name in ("pformat", "hltype", "hlval"):
        if hasattr(_module, _name):
            setattr(_module, _name, _only_when_debugging(getattr(_module, _name)))

TOO_LARGE = (
    b"HTTP/1.1 413 Content Too Large\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: 26\r\n"
    b"Connection: close\r\n\r\n"
    b"The request is too large.\n"
)
class BoundedRequest(WebRequest):
    """daphne's request, refusing bodies over the limit before storing them and never parsing
    a form body itself."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._parsePOSTFormSubmission = False
        self.received = 0
        self.refused = False

    def gotLength(self, length):
        if length is not None and length > settings.PLENUM_MAX_REQUEST_BYTES:
            self._refuse()
        super().gotLength(length)

    def handleContentChunk(self, data):
        if self.refused:
            return
        self.received += len(data)
        if self.received > settings.PLENUM_MAX_REQUEST_BYTES:
            self._refuse()
            return
        super().handleContentChunk(data)

    def requestReceived(self, command, path, version):
        if self.refused:
            return
        super().requestReceived(command, path, version)

    def _refuse(self):
        if self.refused:
            return
        self.refused = True
        transport = self.channel.transport
        transport.write(TOO_LARGE)
        self.channel.loseConnection()


class BoundedHTTPFactory(HTTPFactory):
    def buildProtocol(self, addr):
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = BoundedRequest
        return protocol


class RedactingLog:
    """Wraps daphne's access logger: every logged path loses its tokens. A socket's handshake
    is logged once it is answered (WSCONNECT or WSREJECT), not also when it begins: in a join
    storm the extra line per socket was a few per cent of the process's time."""

    def __init__(self, logger):
        self.logger = logger

    def __call__(self, protocol, action, details):
        if protocol == "websocket" and action == "connecting":
            return
        details = dict(details)
        if isinstance(details.get("path"), str):
            details["path"] = redact(details["path"])
        self.logger(protocol, action, details)


class PlenumServer(daphne.server.Server):
    def __init__(self, *args, action_logger=None, websocket_max_message_size=None, websocket_max_frame_size=None, **kwargs):
        super().__init__(
            *args,
            action_logger=RedactingLog(action_logger) if action_logger else None,
            websocket_max_message_size=settings.PLENUM_WS_MAX_FRAME_BYTES,
            websocket_max_frame_size=settings.PLENUM_WS_MAX_FRAME_BYTES,
            **kwargs,
        )

    def run(self):
        # daphne's Server.run builds its HTTP factory from the name HTTPFactory in its module;
        # this process is ours, so that name means the bounded factory here.
        daphne.server.HTTPFactory = BoundedHTTPFactory
        super().run()


class PlenumCommandLine(CommandLineInterface):
    description = "Plenum's daphne"
    server_class = PlenumServer


def pin_to_cpu(wanted):
    """Keep this process on core number `wanted` ("" leaves it where the system puts it)."""
    if not wanted:
        return None
    cpu = int(wanted)
    if cpu not in os.sched_getaffinity(0):
        raise SystemExit(f"PLENUM_CPU={wanted}: this process may run on cores {sorted(os.sched_getaffinity(0))} only")
    # Threads inherit the mask of the thread that starts them: set before daphne starts any.
    os.sched_setaffinity(0, {cpu})
    return cpu


def main(argv=None):
    pin_to_cpu(os.environ.get("PLENUM_CPU", ""))
    PlenumCommandLine().run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
