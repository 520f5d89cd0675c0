"""What the places' shared parts tell the places. Receivers are connected in `RoomsConfig.ready()`.

hands_changed(conference_id: int, room_id: int | None)
    Sent inside the transaction that raised or lowered a hand: in the plenary (`room_id` None)
    or in a forum. The plenary publishes its hand queue to the console, a forum its own queue
    to its members, each once the transaction has committed.
"""

from django.dispatch import Signal

hands_changed = Signal()
