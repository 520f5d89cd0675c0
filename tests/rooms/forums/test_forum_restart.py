"""The server dies in the middle of the Fachforen and comes back on the same database.

One real daphne (the embedded default: SQLite in its var dir, the in-memory channel layer) is
killed with SIGKILL right after the facilitator's last acknowledged board change; a new one
starts on the same database, and the people in the forum reconnect as their browsers would.
Whatever a client saw acknowledged must still be there, and everyone must land back in their forum.
"""

import asyncio
import http.cookiejar
import io
import json
import sqlite3
import urllib.error
import urllib.request
import uuid
from contextlib import closing

import pytest
from PIL import Image

from tests.support.clients import has
from tests.support.servers import Daphne, free_port, prepare_demo, server_env
from tests.support.sockets import Socket

pytestmark = [pytest.mark.processes, pytest.mark.timeout(90)]

FORUM_SLUG = "forum-diversitaet"
FORUM_NAME = "Fachforum 1: Diversität und Mehrsprachigkeit"
FINDING = "Mehrsprachigkeit ist eine Ressource, kein Defizit"
GAP = "Dolmetschpools fehlen in den Kommunen"
GAP_EDITED = "Dolmetschpools fehlen in fast allen Kommunen"
PROPOSAL = "Sprachcafés in jeder Kommune"
QUESTION = "Wer finanziert die Dolmetscher?"
COMMENT = "Auch in den Kitas!"
UPLOAD_TITLE = "Graphic Recording Forum 1"
LAST_BEFORE_THE_CRASH = "Mehrsprachige Elternabende an allen Grundschulen"
AFTER_THE_RESTART = "Nach dem Neustart: Sprachpatenschaften ausbauen"


def shown(text):
    """A board item as the page shows it."""
    return f'<span class="entry-text">{text}</span>'


def section_of(board, key):
    """The HTML of one section of a board (findings, proposals, questions)."""
    return board.split(f'data-section="{key}"', 1)[1].split('data-section="', 1)[0]


def png_bytes():
    buffer = io.BytesIO()
    Image.new("RGB", (16, 9), (230, 120, 20)).save(buffer, format="PNG")
    return buffer.getvalue()


class Demo:
    """What the test needs to know of the demo conference, read from its SQLite database."""

    def __init__(self, database):
        with closing(sqlite3.connect(database)) as db:
            self.moderator = db.execute("SELECT token FROM venue_person WHERE role = 'moderator'").fetchone()[0]
            self.forum, self.facilitator = db.execute(
                "SELECT r.id, p.token FROM rooms_room r JOIN venue_person p ON p.id = r.facilitator_id"
                " WHERE r.slug = ?", (FORUM_SLUG,),
            ).fetchone()
            self.participant, = db.execute(
                "SELECT token FROM venue_person WHERE role = 'participant' ORDER BY id"
            ).fetchone()
            self.forum_item = db.execute("SELECT id FROM agenda_agendaitem WHERE phase = 'forums'").fetchone()[0]


class Browser:
    """One person's browser over plain HTTP: a cookie jar (session, CSRF token) and requests."""

    def __init__(self):
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def _open(self, request):
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()

    def get(self, daphne, path):
        return self._open(daphne.base_url + path)

    def upload(self, daphne, path, title, filename, data):
        """The board's upload form as htmx sends it: multipart, with the page's CSRF token."""
        boundary = uuid.uuid4().hex
        body = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\n{title}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
        csrf = next(cookie.value for cookie in self.cookies if cookie.name == "csrftoken")
        request = urllib.request.Request(daphne.base_url + path, data=body, method="POST", headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "X-CSRFToken": csrf,
            "Origin": daphne.base_url,
        })
        return self._open(request)


async def arrive(daphne, token):
    """Open a socket as a (re)loaded page does; returns it and every frame of its connect
    sequence, up to the per-person message that ends it."""
    socket = await (await Socket.open(daphne, token)).settled()
    return socket, list(socket.frames)


def place_in(frames):
    places = [frame for frame in frames if 'id="place"' in frame]
    assert len(places) == 1, f"expected one place frame, got {len(places)}"
    return places[0]


def assert_no_tracebacks(daphne):
    text = daphne.log_text()
    assert "Traceback" not in text, f"daphne on port {daphne.port} logged:\n{text[-4000:]}"


@pytest.fixture
def demo_day(tmp_path):
    port = free_port()
    env = server_env(tmp_path)
    prepare_demo(env, f"http://127.0.0.1:{port}")
    return env, port, Demo(tmp_path / "plenum.sqlite3")


async def test_a_server_killed_mid_forum_loses_nothing_acknowledged_and_everyone_lands_back_in_their_forum(demo_day, tmp_path):
    env, port, day = demo_day
    image = png_bytes()
    first = Daphne(env, port=port, log_path=tmp_path / "daphne-before.log").start()
    second = None
    try:
        console = await Socket.open(first, day.moderator)
        participant, _frames = await arrive(first, day.participant)
        # Chosen in advance: seated in the forum as the phase opens.
        assert (await participant.command("forum.choose", forum=day.forum))["joined"] is None
        facilitator, _frames = await arrive(first, day.facilitator)
        assert (await console.command("agenda.start", item=day.forum_item))["type"] == "ack"
        for socket in (participant, facilitator):
            await socket.until(has('id="place"', "place-forum", FORUM_NAME))

        entries = {}
        for section, text in (("finding", FINDING), ("finding", GAP), ("proposal", PROPOSAL), ("question", QUESTION)):
            reply = await facilitator.command("board.add", forum=day.forum, section=section, text=text)
            assert reply["type"] == "ack", reply
            entries[text] = reply["entry"]
        edited = await facilitator.command("board.edit", entry=entries[GAP], version=1, text=GAP_EDITED)
        assert edited["type"] == "ack" and edited["version"] == 2, edited
        commented = await participant.command("board.comment", entry=entries[FINDING], text=COMMENT)
        assert commented["type"] == "ack", commented

        lead_browser, member_browser = Browser(), Browser()
        status, _headers, _body = await asyncio.to_thread(lead_browser.get, first, f"/p/{day.facilitator}/")
        assert status == 200
        status, _headers, body = await asyncio.to_thread(
            lead_browser.upload, first, f"/forums/{day.forum}/uploads/", UPLOAD_TITLE, "recording.png", image
        )
        assert status == 201 and json.loads(body)["type"] == "ack", body
        # The participant's page is open too: their session is in the database, not in the process.
        status, _headers, _body = await asyncio.to_thread(member_browser.get, first, f"/p/{day.participant}/")
        assert status == 200

        last = await facilitator.command("board.add", forum=day.forum, section="proposal", text=LAST_BEFORE_THE_CRASH)
        assert last["type"] == "ack", last
        first.kill()
        assert_no_tracebacks(first)
        for socket in (console, participant, facilitator):
            await socket.close()  # the pages notice that the server is gone

        second = Daphne(env, port=port, log_path=tmp_path / "daphne-after.log").start()
        participant, frames = await arrive(second, day.participant)
        place = place_in(frames)
        assert "place-forum" in place and FORUM_NAME in place, place[:500]
        await participant.assert_never(has("place-plenary"), what="the participant was sent to the plenary")
        findings, proposals, questions = (section_of(place, key) for key in ("finding", "proposal", "question"))
        assert shown(FINDING) in findings and COMMENT in findings
        assert shown(GAP_EDITED) in findings and GAP not in place
        assert shown(PROPOSAL) in proposals and shown(LAST_BEFORE_THE_CRASH) in proposals
        assert shown(QUESTION) in questions
        assert UPLOAD_TITLE in place
        image_url = place.split('<img src="', 1)[1].split('"', 1)[0]
        status, headers, body = await asyncio.to_thread(member_browser.get, second, image_url)
        assert status == 200 and headers["Content-Type"] == "image/png" and body == image

        facilitator, frames = await arrive(second, day.facilitator)
        place = place_in(frames)
        assert "place-forum" in place and FORUM_NAME in place and shown(LAST_BEFORE_THE_CRASH) in place
        await facilitator.assert_never(has("place-plenary"), what="the facilitator was sent to the plenary")
        reply = await facilitator.command("board.add", forum=day.forum, section="proposal", text=AFTER_THE_RESTART)
        assert reply["type"] == "ack", reply
        board = await participant.until(has('id="board"', shown(AFTER_THE_RESTART)))
        assert shown(LAST_BEFORE_THE_CRASH) in board and shown(GAP_EDITED) in board
        # The killed process's sockets are closed in the database as of its last heartbeat, so
        # the head count and the attendance report do not count them on: only the two open now.
        with closing(sqlite3.connect(tmp_path / "plenum.sqlite3")) as db:
            still_open = db.execute("SELECT process FROM rooms_connection WHERE closed_at IS NULL").fetchall()
            ended_before = db.execute(
                "SELECT count(*) FROM rooms_connection WHERE closed_at IS NOT NULL AND closed_at < opened_at"
            ).fetchone()[0]
        assert len(still_open) == 2 and len(set(still_open)) == 1, still_open
        assert ended_before == 0
        for socket in (participant, facilitator):
            await socket.close()
        assert_no_tracebacks(second)
    finally:
        if first.process.poll() is None:
            first.stop()
        if second is not None:
            second.stop()
