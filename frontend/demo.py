"""The demo conference: the district's first integration conference, as Plenum's own data."""

import datetime
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import transaction

from agenda.models import AgendaItem, Phase
from rooms.models import Room, RoomKind
from venue.models import Conference, Invite, Person, Role

SLUG = "integrationskonferenz-2021"
DAY = datetime.date(2021, 11, 29)
TZ = ZoneInfo("Europe/Berlin")

FORUMS = [
    ("diversitaet", "Diversität und Mehrsprachigkeit"),
    ("bildung", "Integration durch Bildung"),
    ("fruehe-bildung", "Frühe Bildung"),
    ("arbeitsmarkt", "Arbeitsmarktintegration"),
    ("interkulturell", "Interkulturelle Öffnung"),
    ("kim", "Kommunales Integrationsmanagement"),
]

SPEAKERS = {
    "landrat": ("Stephan Pusch", "Landrat, Kreis Heinsberg"),
    "minister": ("Dr. Joachim Stamp", "Minister für Kinder, Familie, Flüchtlinge und Integration NRW"),
    "professor": ("Prof. Aladin El-Mafaalani", "Migrationsforschung"),
    "buergermeisterin": ("Daniela Ritzerfeld", "Bürgermeisterin, für die Kommunen"),
    "diakonie": ("Freya Lüdecke", "Migrationsdienst der Diakonie"),
    "ki": ("Dr. Asli Topal-Cevahir", "Kommunales Integrationszentrum Kreis Heinsberg"),
}

PARTICIPANTS = [
    ("Miriam Hoffmann", "Integrationsrat Erkelenz"),
    ("Yusuf Demir", "Jobcenter Kreis Heinsberg"),
    ("Elena Petrova", "Ehrenamt Sprachpatenschaften"),
    ("Jonas Wirtz", "Kita-Träger Hückelhoven"),
]

# (minutes from 09:30, minutes long, phase, title, description, speakers, room slug)
AGENDA = [
    (0, 15, Phase.PLENARY, "Begrüßung", "Landrat Stephan Pusch begrüßt die Teilnehmenden: Grenzlage, zentrale Lage in Europa, Migrationsgeschichte des Kreises.", ["landrat"], "plenum"),
    (15, 45, Phase.PLENARY, "Integrationspolitik des Landes NRW – mit Fragen", "Vortrag des Ministers zur Integrationsstrategie 2030 und zum Teilhabe- und Integrationsgesetz, anschließend Fragen aus dem Publikum.", ["minister"], "plenum"),
    (60, 40, Phase.PLENARY, "Wissenschaftlicher Input: Integration als gemeinsamer Tisch", "Aktuelle Forschungsergebnisse zu Migration und Integration.", ["professor"], "plenum"),
    (100, 55, Phase.PLENARY, "Podiumsgespräch mit Fragen aus dem Publikum", "Wissenschaft, Kreis, Kommunen, Wohlfahrtspflege und Integrationszentrum im Gespräch.", ["professor", "landrat", "buergermeisterin", "diakonie", "ki"], "plenum"),
    (155, 60, Phase.BREAK, "Mittagspause an den Stehtischen", "Treffen Sie andere Teilnehmende an einem der virtuellen Stehtische.", [], "lounge"),
    (215, 90, Phase.FORUMS, "Fachforen", "Sechs Fachforen parallel; die Ergebnisse werden im Graphic-Recording-Stil festgehalten.", [], None),
    (305, 45, Phase.PLENARY, "Ergebnisse der Fachforen im Plenum", "Die Foren stellen ihre Ergebnisse vor.", [], "plenum"),
    (350, 10, Phase.PLENARY, "Abschluss", "Dank und Ausblick.", ["landrat"], "plenum"),
    (360, 60, Phase.BREAK, "Offener Stehtisch", "Der Stehtisch bleibt nach der Konferenz geöffnet.", [], "lounge"),
]


def at(minutes):
    start = datetime.datetime.combine(DAY, datetime.time(9, 30), tzinfo=TZ)
    return start + datetime.timedelta(minutes=minutes)


@transaction.atomic
def create(reset=False):
    """Create the demo conference (or return the existing one); `reset` starts it afresh."""
    existing = Conference.objects.filter(slug=SLUG).first()
    if existing and not reset:
        return existing
    if existing:
        existing.delete()
    conference = Conference.objects.create(
        slug=SLUG,
        title="Vielfalt leben im Kreis Heinsberg – Erste Integrationskonferenz",
        subtitle="Die erste kreisweite Integrationskonferenz, digital",
        host="Zentrum für kommunale Bildung und Integration, Kreis Heinsberg",
        date=DAY,
    )
    people = {"moderator": Person.objects.create(
        conference=conference, display_name="Janine Mehner", role=Role.MODERATOR, organization="Moderation")}
    for key, (name, organization) in SPEAKERS.items():
        people[key] = Person.objects.create(
            conference=conference, display_name=name, role=Role.SPEAKER, organization=organization)
    people["organizer"] = Person.objects.create(
        conference=conference, display_name="Organisationsteam KI", role=Role.ORGANIZER,
        organization="Kommunales Integrationszentrum Kreis Heinsberg")
    people["organizer"].user = _organizer_user()
    people["organizer"].save(update_fields=["user"])
    for name, organization in PARTICIPANTS:
        Person.objects.create(conference=conference, display_name=name, organization=organization)

    rooms = {"plenum": Room.objects.create(
        conference=conference, slug="plenum", name="Plenum", kind=RoomKind.PLENARY, order=0,
        description="Bühne, Vorträge, Podium und Ergebnisse.")}
    for number, (slug, title) in enumerate(FORUMS, start=1):
        facilitator = Person.objects.create(
            conference=conference, display_name=f"Moderation Forum {number}", role=Role.FACILITATOR)
        rooms[slug] = Room.objects.create(
            conference=conference, slug=f"forum-{slug}", name=f"Fachforum {number}: {title}",
            kind=RoomKind.FORUM, capacity=40, order=number, facilitator=facilitator)
    rooms["lounge"] = Room.objects.create(
        conference=conference, slug="lounge", name="Stehtisch-Lounge", kind=RoomKind.LOUNGE, order=10,
        description="Virtuelle Stehtische für Gespräche in kleiner Runde.")
    for number in range(1, 7):
        Room.objects.create(
            conference=conference, slug=f"stehtisch-{number}", name=f"Stehtisch {number}",
            kind=RoomKind.TABLE, capacity=6, order=10 + number, parent=rooms["lounge"])

    for order, (offset, length, phase, title, description, speakers, room) in enumerate(AGENDA, start=1):
        item = AgendaItem.objects.create(
            conference=conference, order=order, title=title, description=description, phase=phase,
            room=rooms.get(room), planned_start=at(offset), planned_end=at(offset + length))
        # One at a time: the order they are added in is the order they are shown in
        # (AgendaItem.speaker_list); add() of several at once stores them in no particular order.
        for key in speakers:
            item.speakers.add(people[key])

    Invite.objects.create(conference=conference, label="Einladung Teilnehmende", role=Role.PARTICIPANT)
    return conference


def _organizer_user():
    user, _created = get_user_model().objects.get_or_create(
        username="organisation", defaults={"is_staff": True})
    user.is_staff = True
    user.set_unusable_password()  # the personal link is the way in
    user.save()
    user.user_permissions.set(Permission.objects.filter(
        content_type__app_label__in=["venue", "agenda", "rooms"]))
    return user


def links(conference, base_url):
    moderator = conference.people.filter(role=Role.MODERATOR).first()
    organizer = conference.people.filter(role=Role.ORGANIZER).first()
    invite = conference.invites.filter(role=Role.PARTICIPANT, revoked_at=None).first()
    return {
        "moderator console": f"{base_url}/p/{moderator.token}/",
        "participant invite": f"{base_url}/join/{invite.token}/",
        "organizer view": f"{base_url}/p/{organizer.token}/",
    }
