"""What the agenda tells the places above it. Receivers are connected in their app's `ready()`.

item_started(item: AgendaItem)
    Sent inside the transaction that makes `item` live, after its state is set and before it
    is saved; a receiver's writes commit or roll back with the start. The plenary lowers every
    hand and clears the stage for the new item; the forums seat whoever chose a forum.
    Receivers may note on `item` what their `item_started_by` receiver needs later (the
    plenary notes who left the stage), since both signals of one start get the same instance.

item_ended(item: AgendaItem)
    Sent inside the transaction that ends `item`. The questions being answered count as
    answered; a break's standing tables empty; the forums freeze their results.

day_changed(conference_id: int)
    Sent after the transaction that changed the day (an item started or ended, the live item's
    question mode) has committed: the agenda, and with it everyone's place, is new. The
    frontend publishes the new agenda with the plenary's stage and moves every socket.

item_started_by(socket, item: AgendaItem)  -- sent with `asend`, receivers are coroutines
    Sent on the process of the moderator's socket (`socket`) after `item_started` has
    committed, before the moderator's command is acknowledged: the media of people who left
    the stage follows there (rooms.media needs a socket to reach the media worker).

item_ended_by(socket, item: AgendaItem)  -- sent with `asend`, receivers are coroutines
    Sent likewise after `agenda.end` has committed (a `next` sends `item_started_by` instead):
    the plenary's recording stops on the media worker.
"""

from django.dispatch import Signal

item_started = Signal()
item_ended = Signal()
day_changed = Signal()
item_started_by = Signal()
item_ended_by = Signal()
