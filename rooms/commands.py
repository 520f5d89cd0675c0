"""WebSocket commands about places and presence."""

from venue.protocol import command


@command("ping")
async def ping(session):
    """Lets a client (and the benchmark) measure a round trip; answers with an ack."""
    return {}
