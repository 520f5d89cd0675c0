"""The rooms app's tables, one module per place (app label "rooms" throughout, so the tables and
migrations are the ones they always were). Import models from here."""

from rooms.models.captions import CaptionLine, PublishedTranscript
from rooms.models.chat import ChatMessage, ChatMute
from rooms.models.forums import (
    BoardComment,
    BoardEntry,
    BoardPlusOne,
    BoardSection,
    BoardWriter,
    ForumAssignment,
    ForumChoice,
    ForumSettings,
    ResultVersion,
    Upload,
    UploadKind,
)
from rooms.models.hands import Hand
from rooms.models.interpretation import InterpretationChannel, Interpreter
from rooms.models.lounge import TableSeat
from rooms.models.places import Room, RoomKind
from rooms.models.plenary import (
    Announcement,
    Poll,
    PollOption,
    PollState,
    PollVote,
    Question,
    QuestionState,
    QuestionVote,
    ReactionKind,
    ReactionTally,
    StageDisplay,
    StageMode,
    StageSeat,
)
from rooms.models.presence import Connection, Process, Stay
from rooms.models.recording import ItemRecording, RecordingFile

__all__ = [
    "Announcement", "BoardComment", "CaptionLine", "PublishedTranscript", "BoardEntry", "BoardPlusOne", "BoardSection", "BoardWriter",
    "ChatMessage", "ChatMute", "Connection", "ForumAssignment", "ForumChoice", "ForumSettings", "Hand",
    "InterpretationChannel", "Interpreter", "ItemRecording", "RecordingFile",
    "Poll", "PollOption", "PollState", "PollVote", "Process", "Question", "QuestionState", "QuestionVote",
    "ReactionKind", "ReactionTally", "ResultVersion", "Room", "RoomKind", "StageDisplay", "StageMode",
    "StageSeat", "Stay", "TableSeat", "Upload", "UploadKind",
]
