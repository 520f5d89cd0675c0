"""Balanced forum assignment, checked on generated conferences (hypothesis)."""

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from rooms.forums.assignment import assign


@st.composite
def conferences(draw):
    forums = list(range(draw(st.integers(1, 7))))
    capacity = {f: draw(st.one_of(st.none(), st.integers(0, 12))) for f in forums}
    people = list(range(draw(st.integers(0, 60))))
    choices = {
        p: draw(st.lists(st.sampled_from(forums), min_size=0, max_size=3, unique=True))
        for p in people
    }
    existing = {}
    for p in draw(st.lists(st.sampled_from(people), unique=True, max_size=len(people) // 3)) if people else []:
        existing[p] = draw(st.sampled_from(forums))
    return people, capacity, choices, existing


def seats(capacity, people):
    return sum(len(people) if c is None else c for c in capacity.values())


@settings(max_examples=300, deadline=None)
@given(conferences())
def test_nobody_is_seated_in_a_full_forum_and_existing_seats_stay(conference):
    people, capacity, choices, existing = conference
    # Existing assignments may already overfill a forum (the moderator's hand); new ones never add to it.
    result = assign(people, capacity, choices, existing)
    for person, forum in existing.items():
        assert result[person] == forum
    counts = Counter(result.values())
    before = Counter(existing.values())
    for forum, limit in capacity.items():
        if limit is not None:
            assert counts[forum] <= max(limit, before[forum])


@settings(max_examples=300, deadline=None)
@given(conferences())
def test_everybody_is_seated_when_there_are_seats_enough(conference):
    people, capacity, choices, _existing = conference
    result = assign(people, capacity, choices)
    if seats(capacity, people) >= len(people):
        assert set(result) == set(people)
    else:
        assert len(result) == seats(capacity, people)


@settings(max_examples=300, deadline=None)
@given(conferences())
def test_a_first_choice_is_refused_only_when_that_forum_is_full_of_first_choices(conference):
    people, capacity, choices, _existing = conference
    result = assign(people, capacity, choices)
    counts = Counter(result.values())
    for person in people:
        wishes = choices[person]
        if wishes and result.get(person) != wishes[0]:
            forum = wishes[0]
            # The forum this person wanted first is full, and only with people who wanted it first.
            assert capacity[forum] is not None and counts[forum] == capacity[forum]
            assert all(choices[p] and choices[p][0] == forum for p, f in result.items() if f == forum)


@settings(max_examples=200, deadline=None)
@given(conferences())
def test_people_without_wishes_are_spread_evenly(conference):
    people, capacity, _choices, _existing = conference
    unlimited = {f: None for f in capacity}
    result = assign(people, unlimited, {})
    counts = [Counter(result.values())[f] for f in unlimited]
    assert max(counts) - min(counts) <= 1


def test_the_demo_afternoon_six_forums_of_forty():
    forums = {f: 40 for f in range(6)}
    people = list(range(230))
    choices = {p: [0, 1] for p in range(100)}  # everyone wants forum 0, then 1
    result = assign(people, forums, choices)
    counts = Counter(result.values())
    assert counts[0] == 40 and counts[1] == 40 and len(result) == 230
    assert max(counts.values()) <= 40
