"""The one exception a refused action raises, wherever it is refused, and what people read.

The code is the protocol (docs/protocol.md lists them, programs branch on them); the message a
client gets is the code's message in the socket's language, from `MESSAGES`. The English text a
`Refused` carries is for logs and tests.
"""

import json

from django.utils import translation
from django.utils.translation import gettext_lazy as _


class Refused(Exception):
    """An action that is not allowed; `code` is what the client is told, `message` explains it."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


MESSAGES = {
    # The socket and the protocol
    "not_signed_in": _("Open your invite link first."),
    "access_revoked": _("Your access to this conference has been revoked."),
    "too_many_sockets": _("You have too many pages of the venue open; close one first."),
    # A join storm (frontend/admission.py): the frame also says in how many seconds (retry_after).
    "busy": _("Many people are joining right now; your page tries again in a few seconds."),
    "binary_not_supported": _("The venue understands text messages only."),
    "message_too_large": _("That message is too large."),
    "invalid_json": _("The message could not be read."),
    "invalid_message": _("The message could not be read."),
    "unknown_type": _("The venue does not know this action."),
    "missing_field": _("Something is missing: please fill in every required field."),
    "invalid_field": _("One of the entries is not valid."),
    "too_long": _("That text is too long."),
    "forbidden": _("Your role may not do that."),
    "not_found": _("That no longer exists."),
    "internal_error": _("That did not work; please try again."),
    "rate_limited": _("That was a lot at once; please wait a moment."),
    "conflict": _("Someone changed this in the meantime; the board now shows their version."),
    # The agenda
    "another_item_live": _("Another item is still live; end it first or use “Next”."),
    "nothing_live": _("No item is live."),
    "agenda_finished": _("There is no further item on the agenda."),
    "item_scheduled": _("This item has not started yet."),
    "item_live": _("This item is already live."),
    "item_done": _("This item is already over."),
    # The plenary
    "questions_closed": _("The live item takes no questions right now."),
    "already_voted": _("You have already voted."),
    "not_votable": _("This question cannot be voted for."),
    "poll_closed": _("This poll is closed."),
    "not_counted": _("Your reaction could not be counted; please try again."),
    "no_countdown": _("No countdown is running."),
    "no_chat": _("There is no chat here."),
    "muted": _("The moderation has muted you in the chat for a while."),
    "hand_already_raised": _("Your hand is already raised."),
    "hand_not_raised": _("That hand is not raised."),
    "already_on_stage": _("That person is already on the stage."),
    "not_on_stage": _("That person is not on the stage."),
    "stage_full": _("The stage is full."),
    # Captions, interpretation and recording (the plenary only)
    "not_plenary": _("That is only possible while a plenary item is live."),
    "not_interpreting": _("You are not an interpreter of the live item."),
    "already_recording": _("The plenary is being recorded already."),
    "not_recording": _("The plenary is not being recorded."),
    "already_deleted": _("That message has been removed already."),
    # Forums, boards and uploads
    "phase_closed": _("The forums are not in session."),
    "phase_open": _("End the forum phase before presenting its results."),
    "forum_full": _("This forum is full; please choose another one."),
    "already_there": _("You are already there."),
    "switching_not_allowed": _("The moderation has not opened the forums for switching."),
    "board_closed": _("The board is closed: its results have been presented."),
    "not_a_member": _("That person is not a member of this forum."),
    "no_results": _("This forum has not submitted results yet."),
    "no_more_forums": _("There is no further forum to present."),
    "file_too_large": _("The file is too large (at most 10 MB)."),
    "invalid_file": _("The file is not a PNG, JPEG or PDF that can be read."),
    "image_too_large": _("The image is too large; please make it smaller."),
    # The lounge
    "lounge_closed": _("The standing tables are closed right now."),
    "table_full": _("This table is full."),
    "not_at_a_table": _("You are not standing at a table."),
    # Rooms and media
    "no_such_room": _("There is no such room."),
    "room_closed": _("This room is closed right now."),
    "room_full": _("This room is full."),
    "not_in_room": _("You are not in this room."),
    "no_media_here": _("There is no audio and video here."),
    "media_unavailable": _("Audio and video are not available right now; please try again."),
    "may_not_publish": _("You may not use camera and microphone here."),
    "screen_not_allowed": _("You may not share your screen here."),
    "no_connection": _("Audio and video are not connected; please join again."),
    "no_offer": _("Audio and video are not connected; please join again."),
    "invalid_sdp": _("Your browser's audio and video setup was not understood."),
    "sdp_too_large": _("Your browser's audio and video setup was not understood."),
    "invalid_candidate": _("Your browser's network details were not understood."),
    "invalid_state": _("Audio and video are not ready for that yet."),
    "too_many_tracks": _("Too many cameras and microphones at once."),
    "unsupported_codec": _("Your browser offers no audio or video format the venue can use."),
}

ERROR_PREFIX = '{"type": "error"'


def message_for(code, language):
    """What people read for `code`, in `language` (an unknown code reads as a failure on our side)."""
    with translation.override(language):
        return str(MESSAGES.get(code, MESSAGES["internal_error"]))


def localized(frame, language):
    """An error frame (`{"type": "error", ...}`) with its message in `language`; the code is kept."""
    reply = json.loads(frame)
    reply["message"] = message_for(reply.get("code"), language)
    return json.dumps(reply)
