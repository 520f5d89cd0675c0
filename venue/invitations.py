"""Personal invitations: each person's own link, sent by mail through Django's mail framework
(SMTP from the environment, the console in the demo). Whoever holds the link is that person."""

import smtplib
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from venue.models import Person


@dataclass
class Sent:
    sent: list  # people whose mail the server accepted
    failed: list  # (person, reason)


def personal_link(person, base_url):
    return base_url.rstrip("/") + reverse("personal_link", args=[person.token])


def check_mailable(person):
    """Why `person` cannot get an invitation, or None."""
    if not person.email:
        return _("no e-mail address")
    if person.revoked_at is not None:
        return _("access revoked")
    return None


def send(people, base_url):
    """Mail each active person with an address their link, over one connection; a person the
    server refuses is reported and the others still get theirs. `invited_at` records success."""
    sent, failed = [], []
    connection = get_connection()
    try:
        connection.open()
        for person in people:
            reason = check_mailable(person)
            if reason is None:
                try:
                    connection.send_messages([_message(person, base_url, connection)])
                except (smtplib.SMTPException, OSError) as error:
                    reason = str(error) or error.__class__.__name__
            if reason is None:
                sent.append(person)
            else:
                failed.append((person, reason))
    except (smtplib.SMTPException, OSError) as error:
        done = {p.pk for p in sent} | {p.pk for p, _reason in failed}
        failed += [(p, str(error) or error.__class__.__name__) for p in people if p.pk not in done]
    finally:
        connection.close()
    now = timezone.now()
    Person.objects.filter(pk__in=[p.pk for p in sent]).update(invited_at=now)
    for person in sent:
        person.invited_at = now
    return Sent(sent, failed)


def _message(person, base_url, connection):
    # The conference speaks German; so do its mails, whatever the organizer's page language.
    with translation.override(settings.LANGUAGE_CODE):
        context = {"person": person, "conference": person.conference, "link": personal_link(person, base_url),
                   "role": person.get_role_display()}
        subject = _("Your personal link to %(title)s") % {"title": person.conference.title}
        body = render_to_string("venue/invitation_mail.txt", context)
    return EmailMessage(subject=subject, body=body, to=[person.email], connection=connection)
