"""Recent chat messages of one room, for whichever place shows a chat (plenary, forum, table)."""

from rooms.models import ChatMessage

HISTORY = 50


class RoomChat:
    def __init__(self, room):
        self.room = room

    @property
    def chat_messages(self):
        if self.room is None:
            return []
        recent = ChatMessage.objects.filter(room=self.room).select_related("author").order_by("-created_at")[:HISTORY]
        return list(reversed(recent))
