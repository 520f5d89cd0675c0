"""Which languages a conference's broadcasts are rendered in.

Plenum speaks six languages, but a day in a German district is mostly read in German; rendering
every frame six times would triple the cost of each "Weiter". A socket notes its language before
it joins any group (`note`), and renders ask `spoken` each time: a frame committed before the
note is in the newcomer's snapshot, one committed after it is rendered in their language too.
"""

from django.conf import settings

from venue.models import SpokenLanguage

# (conference id, code) pairs this process has written already: after the first socket in a
# language, connecting costs no query.
_noted = set()


def configured():
    return [code for code, _name in settings.LANGUAGES]


def is_noted(conference_id, code):
    return code == settings.LANGUAGE_CODE or (conference_id, code) in _noted


def note(conference_id, code):
    if is_noted(conference_id, code):
        return
    SpokenLanguage.objects.bulk_create([SpokenLanguage(conference_id=conference_id, code=code)], ignore_conflicts=True)
    _noted.add((conference_id, code))


def spoken(conference_id):
    """The conference's own language first, then every other one a socket has noted."""
    noted = set(SpokenLanguage.objects.filter(conference_id=conference_id).values_list("code", flat=True))
    return [code for code in configured() if code == settings.LANGUAGE_CODE or code in noted]
