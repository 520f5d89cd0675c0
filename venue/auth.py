"""Who is on the other end of a request or socket: a Person, from the session or a personal token."""

from urllib.parse import parse_qs

from channels.db import database_sync_to_async

from venue.models import Person
from venue.prepared import Prepared

SESSION_KEY = "plenum_person_id"

# Every request and every connecting socket asks one of these (see venue/prepared.py).
_by_token = Prepared(
    lambda token: Person.objects.select_related("conference").filter(token=token, revoked_at=None)[:1], token=str
)
_by_id = Prepared(
    lambda person: Person.objects.select_related("conference").filter(pk=person, revoked_at=None)[:1], person=int
)


def person_for_token(token):
    if not token or len(token) > 64:
        return None
    return next(iter(_by_token.objects(token=token)), None)


def person_for_session(session):
    person_id = session.get(SESSION_KEY) if session is not None else None
    if not isinstance(person_id, int):
        return None
    return next(iter(_by_id.objects(person=person_id)), None)


def person_for_request(request):
    return person_for_session(request.session)


def sign_in(request, person):
    request.session.cycle_key()
    request.session[SESSION_KEY] = person.pk


class PersonMiddleware:
    """ASGI middleware for sockets: sets scope["person"] (or None). Runs inside the session middleware."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        scope = dict(scope)
        scope["person"] = await database_sync_to_async(self._resolve)(scope)
        return await self.app(scope, receive, send)

    @staticmethod
    def _resolve(scope):
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        token = (query.get("token") or [None])[0]
        if token:
            return person_for_token(token)
        return person_for_session(scope.get("session"))
