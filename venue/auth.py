"""Who is on the other end of a request or socket: a Person, from the session or a personal token."""

from dataclasses import dataclass
from importlib import import_module
from urllib.parse import parse_qs

from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.db.models import Q
from django.utils import timezone

from venue.models import Person
from venue.prepared import Prepared

SESSION_KEY = "plenum_person_id"


def _person_by(field, kind):
    """A prepared read of one person, not revoked, with their conference, by `field`."""
    return Prepared(
        lambda value: Person.objects.select_related("conference").filter(**{field: value, "revoked_at": None})[:1],
        value=kind,
    )


# Every page request asks one of these (see venue/prepared.py); connecting sockets ask
# `people_for`, for everyone who connects at once.
_by_token = _person_by("token", str)
_by_id = _person_by("pk", int)
_admitted = Prepared(
    lambda person: Person.objects.filter(pk=person, revoked_at=None).values_list("conference__state_version"), person=int
)
_SessionStore = import_module(settings.SESSION_ENGINE).SessionStore


def person_for_token(token):
    if not token or len(token) > 64:
        return None
    return next(iter(_by_token.objects(value=token)), None)


def person_for_session(session):
    person_id = session.get(SESSION_KEY) if session is not None else None
    if not isinstance(person_id, int):
        return None
    return next(iter(_by_id.objects(value=person_id)), None)


def person_for_request(request):
    return person_for_session(request.session)


def sign_in(request, person):
    request.session.cycle_key()
    request.session[SESSION_KEY] = person.pk


def admitted_version(person):
    """The state version of the person's conference, or None if they were revoked since they
    were read: both in one small query (a connecting socket asks both at once)."""
    return _admitted.first(person=person.pk)


def admitted_versions(people):
    """`admitted_version` of many people in one query: {person id: version}, without the revoked."""
    if len(people) == 1:
        found = admitted_version(people[0])
        return {} if found is None else {people[0].pk: found}
    return dict(
        Person.objects.filter(pk__in=[person.pk for person in people], revoked_at=None).values_list(
            "pk", "conference__state_version"
        )
    )


@dataclass(frozen=True)
class Credentials:
    """What a socket brought to say who it is: a personal token, or the page's session cookie."""

    token: str | None
    session_key: str | None


def people_for(credentials, locked=False):
    """Who each of many connecting sockets is (a join storm's), in at most two queries: one for
    their sessions, one for their people, not revoked, with their conferences (with `locked`,
    the people's rows, not the conferences', are locked for the rest of the transaction, in the
    order of their ids, so that two processes locking some of the same people never deadlock).
    Returns a person or None for each credentials (None too), in order."""
    ids = [None] * len(credentials)
    tokens = {}
    keys = {}
    for index, given in enumerate(credentials):
        if given is None:
            continue
        if given.token:
            if len(given.token) <= 64:
                tokens.setdefault(given.token, []).append(index)
        elif given.session_key and len(given.session_key) <= 64:
            keys.setdefault(given.session_key, []).append(index)
    if keys:
        for key, person_id in _session_people(list(keys)).items():
            for index in keys[key]:
                ids[index] = person_id
    wanted = {person_id for person_id in ids if person_id is not None}
    if not tokens and not wanted:
        return [None] * len(credentials)
    people = Person.objects.select_related("conference").filter(
        Q(token__in=list(tokens)) | Q(pk__in=sorted(wanted)), revoked_at=None
    )
    if locked:
        people = people.select_for_update(of=("self",))
    by_id, by_token = {}, {}
    for person in people.order_by("pk"):
        by_id[person.pk] = by_token[person.token] = person
    found = [by_id.get(person_id) for person_id in ids]
    for token, indices in tokens.items():
        for index in indices:
            found[index] = by_token.get(token)
    return found


def _session_people(keys):
    """{session key: the signed-in person's id} of these sessions (unexpired, signed in)."""
    if not issubclass(_SessionStore, DatabaseSessionStore):
        found = {key: _SessionStore(key).get(SESSION_KEY) for key in keys}
    else:
        rows = Session.objects.filter(session_key__in=keys, expire_date__gt=timezone.now()).values_list(
            "session_key", "session_data"
        )
        decode = _SessionStore().decode
        found = {key: decode(data).get(SESSION_KEY) for key, data in rows}
    return {key: person_id for key, person_id in found.items() if isinstance(person_id, int)}


class PersonMiddleware:
    """ASGI middleware for sockets, inside channels' CookieMiddleware: sets scope["credentials"].
    The person is looked up by the consumer, in its first trip to the database thread together
    with opening the connection (frontend/consumers.py)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        token = (query.get("token") or [None])[0]
        session_key = scope.get("cookies", {}).get(settings.SESSION_COOKIE_NAME)
        return await self.app({**scope, "credentials": Credentials(token, session_key)}, receive, send)
