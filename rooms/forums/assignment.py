"""Balanced assignment of people to forums: capacities hold, wishes count, the rest is spread.

A pure function, so that its promises can be checked with generated inputs (tests/rooms/
forums/test_assignment.py): nobody lands in a full forum; if there are seats enough, everybody gets
one; a first choice is honoured before anybody's second, and so on.
"""


def assign(people, capacity, choices=None, existing=None):
    """Return {person: forum} for everyone who can be seated.

    people: the people to seat, in the order their claims count (e.g. when they chose);
    capacity: {forum: seats} (None means unlimited);
    choices: {person: [forum, ...]} ranked wishes;
    existing: {person: forum} assignments that stay as they are (they take seats first).
    """
    choices = choices or {}
    seated = dict(existing or {})
    taken = {forum: 0 for forum in capacity}
    for forum in seated.values():
        if forum in taken:
            taken[forum] += 1

    def free(forum):
        limit = capacity.get(forum)
        return forum in taken and (limit is None or taken[forum] < limit)

    waiting = [person for person in people if person not in seated]
    rounds = max((len(wishes) for wishes in choices.values()), default=0)
    for rank in range(rounds):
        still = []
        for person in waiting:
            wishes = choices.get(person, [])
            if rank < len(wishes) and free(wishes[rank]):
                seated[person] = wishes[rank]
                taken[wishes[rank]] += 1
            else:
                still.append(person)
        waiting = still

    for person in waiting:
        open_forums = [forum for forum in capacity if free(forum)]
        if not open_forums:
            break
        # The emptiest forum relative to its size; ties go to the first in the list.
        forum = min(
            open_forums,
            key=lambda f: (taken[f] / capacity[f]) if capacity.get(f) else taken[f] / 1_000_000,
        )
        seated[person] = forum
        taken[forum] += 1
    return seated
