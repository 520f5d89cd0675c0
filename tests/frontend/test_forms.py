"""Every form that speaks over the venue socket sends a message the server accepts.

The socket tests send hand-made JSON, so they cannot see a form whose values the parser refuses
(the console's "to everyone" sent room="" to a number field, and nobody noticed). Here the day
of the demo conference is run phase by phase; in each phase the pages that each role's personal
link leads to, and the frames the server renders for live updates, are read as htmx's ws
extension reads them: every `ws-send` form becomes the JSON object htmx would send, and that
goes through `venue.protocol.parse` and `authorize` for every role that is shown the form.
A few of them are then sent over real sockets, so the handlers are seen to accept them too.
"""

import json
import re
from dataclasses import dataclass, field
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

from channels.db import database_sync_to_async
from django.test import Client

from agenda import actions, state
from agenda.models import AgendaItem, Phase, QuestionMode
from rooms import chat, places
from rooms import hands
from rooms.forums import board, results, seating
from rooms.forums import view as forums
from venue import groups, render
from rooms.lounge import tables as lounge
from rooms.plenary import view as plenary, polls, qa, stage
from rooms.models import ChatMessage, Question, Room, RoomKind
from tests.support.clients import connect, someone
from frontend import frames, snapshot
from venue import protocol
from venue.models import Person, Role


SAMPLE = "Eine kurze Probe"
# A textarea holds lines (a poll's options are one per line).
SAMPLE_LINES = "Ja\nNein"
# What htmx puts under HEADERS; the server ignores it, but it is part of every message.
HEADERS = {"HX-Request": "true", "HX-Trigger": None, "HX-Trigger-Name": None, "HX-Target": "live",
           "HX-Current-URL": "http://testserver/venue/", "X-CSRFToken": "token"}

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
NOT_SENT = {"submit", "button", "reset", "image", "file"}


# --- Reading pages as htmx does --------------------------------------------------------------


@dataclass
class Element:
    tag: str
    attrs: dict
    text: str = ""
    options: list = field(default_factory=list)  # a select's (value, selected)

    def classes(self):
        return set((self.attrs.get("class") or "").split())


@dataclass
class Sender:
    """An element with ws-send: a form (its controls) or anything else (it and its form's controls)."""

    element: Element
    ancestors: list
    controls: list
    source: str

    @property
    def kind(self):
        return next((c.attrs.get("value") for c in self.controls if c.attrs.get("name") == "type"), None)

    def describe(self):
        classes = " ".join(sorted(self.element.classes()))
        where = ", ".join(templates_sending(self.kind)) or "no template"
        return f"{where}: <{self.element.tag} ws-send{' class=' + repr(classes) if classes else ''}> type={self.kind!r}"


@cache
def templates_sending(kind):
    """The templates whose forms send this type (to name them when a form is refused)."""
    root = Path(__file__).resolve().parents[2] / "frontend" / "templates"
    pattern = re.compile(r'name="type" value="' + re.escape(kind or "") + '"')
    return tuple(str(path.relative_to(root)) for path in sorted(root.rglob("*.html")) if pattern.search(path.read_text()))


class WsSendReader(HTMLParser):
    def __init__(self, source):
        super().__init__(convert_charrefs=True)
        self.source = source
        self.stack = []
        self.forms = []  # open forms, innermost last, each with its controls
        self.senders = []
        self.select = None
        self.option = None
        self.textarea = None

    def handle_starttag(self, tag, attrs):
        element = Element(tag, {name: ("" if value is None else value) for name, value in attrs})
        if tag == "form":
            self.forms.append([])
            if "ws-send" in element.attrs:
                self.senders.append(Sender(element, list(self.stack), self.forms[-1], self.source))
        elif "ws-send" in element.attrs:
            controls = list(self.forms[-1]) if self.forms else []
            self.senders.append(Sender(element, list(self.stack), controls, self.source))
        if tag in ("input", "select", "textarea", "button") and self.forms:
            self.forms[-1].append(element)
        if tag == "select":
            self.select = element
        elif tag == "option" and self.select is not None:
            self.option = [element.attrs.get("value"), "selected" in element.attrs, ""]
            self.select.options.append(self.option)
        elif tag == "textarea":
            self.textarea = element
        if tag not in VOID:
            self.stack.append(element)

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea.text += data
        if self.option is not None:
            self.option[2] += data

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if tag == "form" and self.forms:
            self.forms.pop()
        if tag == "select":
            self.select = None
        if tag in ("option", "select"):
            self.option = None
        if tag == "textarea":
            self.textarea = None
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                break


def senders_in(html, source):
    reader = WsSendReader(source)
    reader.feed(html)
    reader.close()
    return reader.senders


def option_value(option):
    value, _selected, text = option
    # An option without a value attribute sends its text, whitespace collapsed.
    return value if value is not None else " ".join(text.split())


def _filled(element):
    """A control's value as the person leaves it: required empty fields get something typed in."""
    value = element.text if element.tag == "textarea" else element.attrs.get("value", "")
    if value or "required" not in element.attrs:
        return value
    if element.attrs.get("type") == "number" or element.attrs.get("inputmode") == "numeric":
        return element.attrs.get("min") or "1"
    return SAMPLE_LINES if element.tag == "textarea" else SAMPLE


def messages(sender):
    """(what was chosen, the JSON object htmx sends) for each way of filling in the form.

    "as shown" is the form as the page has it, with required fields filled in; then one
    message per option of each select, per box of each checkbox or radio group (and all
    boxes of a checkbox group), and per named submit button.
    """
    fixed = []  # (name, value) of the controls whose value is given
    selects, groups_ = [], {}
    buttons = []
    for control in sender.controls:
        name = control.attrs.get("name")
        if not name or "disabled" in control.attrs:
            continue
        kind = control.attrs.get("type", "submit" if control.tag == "button" else "text").lower()
        if control.tag == "select":
            selects.append(control)
        elif control.tag == "input" and kind in ("checkbox", "radio"):
            groups_.setdefault(name, []).append(control)
        elif control.tag == "button" or kind in NOT_SENT:
            if kind == "submit":
                buttons.append((name, control.attrs.get("value", "")))
        else:
            fixed.append((name, _filled(control)))
    if sender.element.tag != "form":
        own = sender.element.attrs.get("name")
        if own:
            buttons.append((own, sender.element.attrs.get("value", "")))

    def chosen(select, picked=None):
        if picked is not None:
            return [(select.attrs["name"], option_value(picked))]
        marked = [o for o in select.options if o[1]]
        first = marked[-1:] or select.options[:1]
        return [(select.attrs["name"], option_value(o)) for o in first]

    def checked(boxes, only=None):
        if only is None:
            only = [b for b in boxes if "checked" in b.attrs]
            if not only and any("required" in b.attrs for b in boxes):
                # The browser sends nothing until one is chosen (htmx validates the form first).
                only = boxes[:1]
        return [(b.attrs["name"], b.attrs.get("value", "on")) for b in only]

    def build(pairs):
        values = {}
        for name, value in pairs:
            if name in values:
                values[name] = (values[name] if isinstance(values[name], list) else [values[name]]) + [value]
            else:
                values[name] = value
        if "hx-vals" in sender.element.attrs:
            values.update(json.loads(sender.element.attrs["hx-vals"]))
        return {**values, "HEADERS": HEADERS}

    def assemble(select_choice=None, group_choice=None, button=None):
        pairs = list(fixed)
        for select in selects:
            pairs += chosen(select, select_choice[1] if select_choice and select_choice[0] is select else None)
        for name, boxes in groups_.items():
            pairs += checked(boxes, group_choice[1] if group_choice and group_choice[0] == name else None)
        if button:
            pairs.append(button)
        return build(pairs)

    yield "as shown", assemble()
    for select in selects:
        for option in select.options:
            yield f"{select.attrs['name']}={option_value(option)!r}", assemble(select_choice=(select, option))
    for name, boxes in groups_.items():
        for box in boxes:
            yield f"{name} checked={box.attrs.get('value', 'on')!r}", assemble(group_choice=(name, [box]))
        if len(boxes) > 1 and boxes[0].attrs.get("type") == "checkbox":
            yield f"every {name} checked", assemble(group_choice=(name, boxes))
    for button in buttons:
        yield f"button {button[0]}={button[1]!r}", assemble(button=button)


# --- Who sees a form ---------------------------------------------------------------------------


@dataclass(eq=False)
class Viewer:
    """A person and the page they look at: what plenum.css hides depends on both."""

    person: Person
    console: bool

    def __str__(self):
        return f"{self.person.get_role_display()} {self.person.display_name}"


def shown_to(sender, viewer):
    """Mirrors the rules of frontend/static/plenum/plenum.css that hide forms from some people."""
    chain = sender.ancestors + [sender.element]
    classes = set().union(*(e.classes() for e in chain))
    inside = lambda test: any(test(e) for e in sender.ancestors)  # noqa: E731
    if viewer.person.role == Role.COMODERATOR and (
        "timeline-actions" in classes or inside(lambda e: "timeline" in e.classes())
    ):
        return False
    if viewer.person.role == Role.COMODERATOR and "agenda-only" in classes:
        return False
    if "forum-wishes" in classes and viewer.person.role not in (Role.PARTICIPANT, Role.SPEAKER):
        return False
    if "writer-only" in classes:
        board = next((e for e in sender.ancestors if e.attrs.get("id") == "board"), None)
        if board is not None and not (viewer.console or int(board.attrs["data-forum"]) in forums.writers_of(viewer.person)):
            return False
    if "facilitator-only" in classes:
        place = next((e for e in sender.ancestors if "forum-place" in e.classes()), None)
        if place is not None and not viewer.person.facilitated_rooms.filter(pk=place.attrs["data-forum"]).exists():
            return False
    return True


def nothing_chosen(sender, message, refused):
    """A multiple-choice poll voted without ticking a box: the server's documented answer is
    `missing_field` (a browser cannot require "at least one" of several checkboxes)."""
    unticked = {c.attrs.get("name") for c in sender.controls
                if c.attrs.get("type") == "checkbox" and c.attrs.get("name") not in message}
    return refused.code == "missing_field" and any(f"'{name}'" in refused.message for name in unticked)


def refusals(senders, viewers):
    """(source, what) for every message that the parser or the role check refuses."""
    found, checked = [], 0
    for sender in senders:
        for choice, message in messages(sender):
            sent = {k: v for k, v in message.items() if k != "HEADERS"}
            what = f"{sender.describe()} ({choice}) sends {json.dumps(sent, ensure_ascii=False)}"
            if message.get("type") not in protocol.COMMANDS:
                found.append((sender.source, f"{what}: unknown type"))
                continue
            try:
                _id, command, _fields = protocol.parse(json.dumps(message))
            except protocol.ProtocolError as refused:
                if not nothing_chosen(sender, message, refused):
                    found.append((sender.source, f"{what}: refused {refused.code}: {refused.message}"))
                continue
            for viewer in viewers:
                if not shown_to(sender, viewer):
                    continue
                checked += 1
                try:
                    protocol.authorize(command, viewer.person)
                except protocol.ProtocolError:
                    found.append((sender.source, f"{what}: shown to {viewer}, whose role may not send it"))
    return found, checked


# --- The day -----------------------------------------------------------------------------------


def signed_in(person):
    browser = Client()
    landing = browser.get(f"/p/{person.token}/")
    assert landing.status_code == 302, f"{person}'s personal link does not sign in"
    return browser, landing["Location"]


def pages(browsers):
    """Each person's landing page, and the console for whoever may open it."""
    for viewer, (browser, landing) in browsers.items():
        paths = [landing] + (["/console/"] if viewer.console and landing != "/console/" else [])
        for path in paths:
            response = browser.get(path)
            assert response.status_code == 200, f"{viewer} cannot open {path}"
            yield f"{path} as {viewer}", response.content.decode(), [viewer]


def live_frames(conference_id, participants_view, console_view):
    """What the server renders for live updates, once per audience and language."""
    day = state.load(conference_id)
    audiences = {groups.PARTICIPANTS: participants_view, groups.CONSOLE: console_view}
    for language in render.languages():
        for audience, viewers in audiences.items():
            yield f"snapshot for {audience}/{language}", snapshot.current(conference_id, audience, language), viewers
        rendered, _room = plenary.frames(conference_id, tuple(plenary.PARTS), day)
        for (audience, frame_language), text in rendered.items():
            if frame_language == language:
                yield f"plenary parts for {audience}/{language}", text, audiences[audience]
        found = places.placement(conference_id, day)
        rooms = {found["default"], *found["people"].values()}
        if day.phase == Phase.FORUMS:
            rooms.add(None)  # the forum choice of whoever has none
        # A place's frames go to the people who are in it.
        there = lambda room_id: [v for v in participants_view if places.place_of(v.person, day) == room_id]  # noqa: E731
        for room_id in rooms:
            yield f"place {room_id} in {language}", frames.place_frame(conference_id, room_id, language), there(room_id)
        for room in Room.objects.filter(conference_id=conference_id, kind=RoomKind.FORUM):
            view = forums.ForumView(conference_id, room)
            text = render.render(("forums/_board.html", "forums/_hands.html"), view.context(),
                                 groups.PARTICIPANTS, language)
            yield f"board and hands of {room.name} in {language}", text, there(room.pk)
        overview = {"forum": forums.ForumView(conference_id), "overview": forums.overview(conference_id)}
        text = render.render(("forums/_overview.html",), overview, groups.CONSOLE, language)
        yield f"forums overview in {language}", text, console_view
        text = render.render(("lounge/_tables.html",), {"lounge": lounge.LoungeView(conference_id)},
                             groups.PARTICIPANTS, language)
        yield f"lounge tables in {language}", text, participants_view
        for message in ChatMessage.objects.filter(room__conference_id=conference_id).order_by("-pk")[:3]:
            for (audience, frame_language), text in render.frames(
                conference_id, ("rooms/_chat_message.html",), {"message": message, "append": True}
            ).items():
                if frame_language == language:
                    yield f"chat message {message.pk} for {audience}/{language}", text, audiences[audience]


def people_of(conference):
    forum_rooms = list(Room.objects.filter(conference=conference, kind=RoomKind.FORUM).order_by("order"))
    participants = list(Person.objects.filter(conference=conference, role=Role.PARTICIPANT).order_by("pk"))
    return {
        "moderator": someone(conference, Role.MODERATOR),
        "organizer": someone(conference, Role.ORGANIZER),
        "comoderator": Person.objects.create(conference=conference, display_name="Co-Moderation", role=Role.COMODERATOR),
        "speaker": someone(conference, Role.SPEAKER, 2),
        "facilitator": forum_rooms[0].facilitator,
        "other facilitator": forum_rooms[1].facilitator,
        "participants": participants,
        "forums": forum_rooms,
    }


def advance_to(conference, title, by):
    while state.load(conference.pk).live is None or state.load(conference.pk).live.title != title:
        actions.advance(conference.pk, by=by)


def test_every_ws_form_of_every_role_in_every_phase_sends_what_the_server_accepts(conference):
    people = people_of(conference)
    moderator, alice, bob, carla, dan = people["moderator"], *people["participants"]
    forum_one = people["forums"][0]
    console_view = [Viewer(people[key], True) for key in ("moderator", "comoderator", "organizer")]
    participants_view = [Viewer(person, False) for person in (
        alice, bob, carla, people["speaker"], people["facilitator"], people["other facilitator"])]
    browsers = {viewer: signed_in(viewer.person) for viewer in console_view + participants_view}
    problems, counted, kinds = [], 0, set()

    def look(phase):
        nonlocal counted
        for source, html, viewers in [*pages(browsers), *live_frames(conference.pk, participants_view, console_view)]:
            senders = senders_in(html, f"{phase} · {source}")
            found, checked = refusals(senders, viewers)
            problems.extend(found)
            counted += checked
            kinds.update(sender.kind for sender in senders)

    look("before the day")

    # The morning: the minister's talk takes questions; one awaits approval, one is being
    # answered, one was answered; a poll is open, a hand is up, someone is on stage, the chat runs.
    advance_to(conference, "Integrationspolitik des Landes NRW – mit Fragen", moderator)
    seating.choose(alice, [forum_one.pk])
    actions.set_question_mode(conference.pk, QuestionMode.PREMODERATED, by=moderator)
    qa.ask(alice, "Wie geht es weiter?")
    actions.set_question_mode(conference.pk, QuestionMode.OPEN, by=moderator)
    answering = qa.ask(bob, "Was kostet das?", anonymous=True)
    answered = qa.ask(carla, "Wer macht mit?")
    qa.ask(dan, "Wann beginnt es?")
    qa.moderate(conference.pk, answered.pk, "answered", by=moderator)
    qa.moderate(conference.pk, answering.pk, "answering", by=moderator)
    polls.open_poll(conference.pk, "Wie gefällt es Ihnen?", ["Gut", "Sehr gut", "Weiß nicht"], by=moderator)
    hands.raise_hand(dan)
    stage.invite_to_stage(conference.pk, bob.pk, by=moderator)
    stage.start_countdown(conference.pk, 5, "Fragen", by=moderator)
    chat.send(alice, "Guten Morgen!")
    look("morning plenary")

    polls.open_poll(conference.pk, "Welche Themen?", ["Arbeit", "Bildung", "Wohnen"], multiple=True, by=moderator)
    assert Question.objects.filter(item__conference=conference).count() == 4
    look("morning plenary, a multiple-choice poll")

    # The lunch break: Alice stands at a table, the others are in the lounge.
    advance_to(conference, "Mittagspause an den Stehtischen", moderator)
    table = Room.objects.filter(conference=conference, kind=RoomKind.TABLE).order_by("order").first()
    lounge.join(alice, table.pk)
    chat.send(alice, "Hallo am Tisch")
    look("lunch break")

    # The forums: Alice is seated by her wish, Carla joins and writes, Bob has not chosen yet.
    advance_to(conference, "Fachforen", moderator)
    seating.choose(carla, [forum_one.pk])
    facilitator = people["facilitator"]
    for section, text in (("finding", "Sprache zuerst"), ("proposal", "Mehr Kitaplätze"), ("question", "Wer zahlt?")):
        entry = board.add_entry(facilitator, forum_one.pk, section, text)
    board.add_entry(facilitator, forum_one.pk, "finding", "Ehrenamt stärken")
    board.name_writer(facilitator, forum_one.pk, carla.pk)
    board.comment(alice, entry.pk, "Gute Frage")
    board.plus_one(alice, entry.pk)
    seating.set_switching(conference.pk, True, by=moderator)
    hands.raise_hand(alice, forum_one.pk)
    chat.send(alice, "Hallo Forum")
    look("forums")

    # The results: every board is frozen; the first forum's results are on the stage.
    advance_to(conference, "Ergebnisse der Fachforen im Plenum", moderator)
    results.present(conference.pk, forum_one.pk, by=moderator)
    look("results in the plenary")

    advance_to(conference, "Offener Stehtisch", moderator)
    actions.end(conference.pk, by=moderator)
    look("the day is over")

    places_of = {}
    for source, problem in problems:
        places_of.setdefault(problem, []).append(source)
    report = "\n".join(f"{problem}\n    on {seen[0]}{f' and {len(seen) - 1} more' if len(seen) > 1 else ''}"
                       for problem, seen in places_of.items())
    assert not problems, f"{len(places_of)} form messages are refused:\n{report}"
    # The walk reached a form of every command but the ping, the media signalling that
    # media.js sends itself (also the interpreter's on air), the server's own recording.follow and the
    # captions that captions.js sends (a template change that hid
    # them would otherwise pass silently).
    by_script = {name for name in protocol.COMMANDS if name.startswith("media.")} - {"media.stage", "media.unstage", "media.last_n"}
    by_script |= {"caption.line", "captions.follow", "interpretation.on_air", "recording.follow", "interpretation.follow"}
    assert kinds == set(protocol.COMMANDS) - {"ping"} - by_script, sorted(kinds ^ (set(protocol.COMMANDS) - by_script))
    assert counted > 1000


# --- Over a real socket ------------------------------------------------------------------------


def sender_of(html, message_type, source="page"):
    found = [s for s in senders_in(html, source) if s.kind == message_type]
    assert found, f"no {message_type} form on {source}"
    return found[0]


def message_of(html, message_type, choice="as shown"):
    for label, message in messages(sender_of(html, message_type)):
        if label == choice:
            return message
    raise AssertionError(f"{message_type} has no choice {choice!r}")


@database_sync_to_async
def page(person, path=None):
    browser, landing = signed_in(person)
    return browser.get(path or landing).content.decode()


async def sent(client, message):
    """Sends the message exactly as the form built it (with an id, as htmx adds none) and returns the reply."""
    client._next_id += 1
    await client.communicator.send_to(text_data=json.dumps({**message, "id": client._next_id}))
    return await client.reply_to(client._next_id)


async def test_forms_sent_over_a_real_socket_are_acknowledged(conference, layer):
    people = await database_sync_to_async(people_of)(conference)
    moderator, alice = people["moderator"], people["participants"][0]
    forum_one, facilitator = people["forums"][0], people["facilitator"]
    await database_sync_to_async(advance_to)(conference, "Integrationspolitik des Landes NRW – mit Fragen", moderator)
    await database_sync_to_async(polls.open_poll)(conference.pk, "Wie gefällt es Ihnen?", ["Gut", "Sehr gut"], by=moderator)
    console_html, venue_html = await page(moderator), await page(alice)
    console, participant = await connect(moderator), await connect(alice)

    poll_option = next(label for label, _m in messages(sender_of(venue_html, "poll.vote")) if "checked" in label)
    plenary_room = await Room.objects.aget(conference=conference, kind=RoomKind.PLENARY)
    for client, html, message_type, choice in (
        (console, console_html, "announce", "room=''"),
        (console, console_html, "announce", f"room='{plenary_room.pk}'"),
        (console, console_html, "countdown.start", "as shown"),
        (console, console_html, "agenda.questions", "mode='premoderated'"),
        (participant, venue_html, "question.ask", "anonymous checked='true'"),
        (participant, venue_html, "poll.vote", poll_option),
        (participant, venue_html, "chat.send", "as shown"),
        (participant, venue_html, "forum.choose", "as shown"),
        (console, console_html, "agenda.end", "as shown"),
    ):
        reply = await sent(client, message_of(html, message_type, choice))
        assert reply["type"] == "ack", (message_type, choice, reply)

    # The forums start from the console's timeline; the facilitator writes on the board.
    console_html = await page(moderator)
    forum_item = await AgendaItem.objects.aget(conference=conference, phase=Phase.FORUMS)
    start = next(s for s in senders_in(console_html, "console") if f'"item": "{forum_item.pk}"' in json.dumps(dict(messages(s))["as shown"]))
    assert (await sent(console, dict(messages(start))["as shown"]))["type"] == "ack"
    lead = await connect(facilitator)
    board_html = await page(facilitator)
    reply = await sent(lead, message_of(board_html, "board.add"))
    assert reply["type"] == "ack", reply
    board_html = await page(facilitator)
    for message_type in ("board.edit", "board.writer"):
        reply = await sent(lead, message_of(board_html, message_type))
        assert reply["type"] == "ack", (message_type, reply)
    assert (await sent(participant, message_of(board_html, "board.comment")))["type"] == "ack"
    for client in (console, participant, lead):
        await client.close()
