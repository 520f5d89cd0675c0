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


def _person_by(field, kind, locked=False):
    """A prepared read of one person, not revoked, with their conference, by `field`; `locked`
    also locks the person's row (not the conference's) for the rest of the transaction."""

    def build(value):
        people = Person.objects.select_related("conference")
        if locked:
            people = people.select_for_update(of=("self",))
        return people.filter(**{field: value, "revoked_at": None})[:1]

    return Prepared(build, value=kind)


# Every request and every connecting socket asks one of these (see venue/prepared.py).
_by_token = {locked: _person_by("token", str, locked) for locked in (False, True)}
_by_id = {locked: _person_by("pk", int, locked) for locked in (False, True)}
_admitted = Prepared(
    lambda person: Person.objects.filter(pk=person, revoked_at=None).values_list("conference__state_version"), person=int
)
_session_row = Prepared(
    lambda key: Session.objects.filter(session_key=key).values_list("session_data", "expire_date"), key=str
)
_SessionStore = import_module(settings.SESSION_ENGINE).SessionStore


def person_for_token(token, locked=False):
    if not token or len(token) > 64:
        return None
    return next(iter(_by_token[locked].objects(value=token)), None)


def person_for_session(session, locked=False):
    person_id = session.get(SESSION_KEY) if session is not None else None
    if not isinstance(person_id, int):
        return None
    return next(iter(_by_id[locked].objects(value=person_id)), None)


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

    def person(self, locked=False):
        """The person, or None (in the database thread). `locked`: their row stays locked until
        the transaction this runs in ends (a revocation waits, or is seen)."""
        if self.token:
            return person_for_token(self.token, locked)
        return person_for_session_key(self.session_key, locked)


def person_for_session_key(key, locked=False):
    """As `person_for_session(SessionStore(key))`, with one prepared read instead of the ORM's: a
    join storm of pages opened from invite links is a storm of session lookups."""
    if not key or len(key) > 64:
        return None
    if not issubclass(_SessionStore, DatabaseSessionStore):
        return person_for_session(_SessionStore(key), locked)
    rows = _session_row.rows(key=key)
    if not rows or rows[0][1] <= timezone.now():
        return None
    return person_for_session(_SessionStore().decode(rows[0][0]), locked)


def people_for(credentials, locked=False):
    """`Credentials.person` for many sockets at once (a join storm's), in at most two queries:
    one for their sessions, one for their people (with `locked`, their rows are locked in the
    order of their ids, so two processes locking some of the same people never deadlock).
    Returns a person or None for each credentials, in order."""
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
