"""Only a page of this very origin opens a venue socket: scheme, host and port must all match."""

import pytest
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from venue.asgi import application


async def opens(person, origin, host="testserver"):
    communicator = WebsocketCommunicator(
        application, f"/ws/venue/?token={person.token}", headers=[(b"origin", origin.encode()), (b"host", host.encode())],
    )
    connected, _ = await communicator.connect()
    await communicator.disconnect()
    return connected


@pytest.mark.parametrize("origin, host", [
    ("http://localhost:9999", "localhost:8000"),    # the same host name, another port
    ("https://testserver", "testserver"),           # another scheme
    ("http://testserver:80.evil.example", "testserver"),
    ("http://evil.example", "evil.example"),        # a host that is not ours
    ("null", "testserver"),
])
async def test_a_page_of_another_origin_cannot_open_a_socket(conference, participants, layer, origin, host):
    with override_settings(ALLOWED_HOSTS=["testserver", "localhost", "evil.example.org"]):
        assert not await opens(participants[0], origin, host)


async def test_the_pages_own_origin_opens_one_also_on_another_port(conference, participants, layer):
    with override_settings(ALLOWED_HOSTS=["testserver", "localhost"]):
        assert await opens(participants[0], "http://testserver")
        assert await opens(participants[0], "http://localhost:8000", "localhost:8000")
        assert await opens(participants[0], "http://testserver", "testserver:80")


async def test_a_trusted_origin_of_another_host_may(conference, participants, layer):
    with override_settings(ALLOWED_HOSTS=["testserver"], CSRF_TRUSTED_ORIGINS=["https://konferenz.example.org"]):
        assert await opens(participants[0], "https://konferenz.example.org")
        assert not await opens(participants[0], "http://konferenz.example.org")
