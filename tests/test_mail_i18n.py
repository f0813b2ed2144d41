"""E-mails go out in the recipient's language: the outbox keeps the English and the sentences' templates,
and delivery (given the web layer's translate) writes them in the recipient's locale."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from app.web import translate_mail
from network import notifications, outbox, people, sessions
from network.i18n import N_
from network.outbox import OutboxMessage
from tests.session_fixtures import make_session
from tests.test_i18n import compiled_catalogs  # noqa: F401 (the .mo files the translations come from)

SECRET = "test-secret"


class RecordingTransport:
    def __init__(self):
        self.sent: list[outbox.Outgoing] = []

    def send(self, message) -> None:
        self.sent.append(message)


@pytest.fixture
def deliver(app, db):
    """Deliver what is waiting as `flask jobs run` does (app context, the web layer's translate)."""
    def run() -> dict[str, outbox.Outgoing]:
        transport = RecordingTransport()
        with app.app_context():
            sent, failed = outbox.deliver_pending(db, transport, translate=translate_mail)
        assert (sent, failed) == (len(transport.sent), 0)
        return {m.to: m for m in transport.sent}
    return run


def _speaks(db, user, locale):
    user.locale = locale
    db.commit()
    return user


def test_password_reset_arrives_in_each_members_language(db, world, deliver):
    spanish = _speaks(db, world.user("parent"), "es")
    english = _speaks(db, world.user("clinician"), "en")
    for user in (spanish, english):
        people.request_password_reset(db, user.email, secret=SECRET, link_for=lambda token: f"/reset/{token}")
    stored = db.scalars(select(OutboxMessage).where(OutboxMessage.to == spanish.email)).one()
    assert stored.subject == "Reset your CareCommons password"  # the row keeps its English
    sent = deliver()
    es, en = sent[spanish.email], sent[english.email]
    assert es.subject == "Restablece tu contraseña de CareCommons"
    assert f"Hola, {spanish.shown_name}:" in es.body and f"durante {people.RESET_HOURS} horas:\n/reset/" in es.body
    assert "Si no fuiste tú" in es.body and "/reset/" in es.body and "Hello" not in es.body
    assert en.subject == "Reset your CareCommons password"
    assert en.body == db.scalar(select(OutboxMessage.body).where(OutboxMessage.to == english.email))
    assert en.body.startswith(f"Hello {english.shown_name},\n\nSomeone (we hope you) asked to reset your password.")
    assert en.body.endswith("If it was not you, ignore this message; your password stays as it is.\n")


def test_invitation_follows_the_existing_members_language_else_the_inviters(db, world, deliver):
    lead = world.user("site_lead")
    member = _speaks(db, world.user("parent", "other"), "es")
    people.invite(db, lead, email=member.email, full_name="Ana Pérez", role="parent", site_id=world.own.id,
                  secret=SECRET, link_for=lambda token: f"/invite/{token}")
    people.invite(db, lead, email="new.person@example.org", full_name="New Person", role="site_lead",
                  site_id=world.own.id, secret=SECRET, link_for=lambda token: f"/invite/{token}")
    sent = deliver()
    es, en = sent[member.email], sent["new.person@example.org"]
    assert es.subject == "Te invitan a unirte a Own Site Hospital en CareCommons"
    assert f"{lead.full_name} te ha invitado a unirte a Own Site Hospital como madre o padre." in es.body
    assert f"durante {people.INVITATION_DAYS} días" in es.body and "/invite/" in es.body
    assert en.subject == "You are invited to join Own Site Hospital on CareCommons"
    assert f"{lead.full_name} invited you to join Own Site Hospital as site lead." in en.body
    assert f"(the link works once, for {people.INVITATION_DAYS} days):\n/invite/" in en.body

    _speaks(db, lead, "es")  # nobody has the address yet: the inviter's language
    people.invite(db, lead, email="otra@example.org", full_name="Otra", role="clinician", site_id=world.own.id,
                  secret=SECRET, link_for=lambda token: f"/invite/{token}")
    assert "como profesional clínico." in deliver()["otra@example.org"].body


def test_session_reminder_writes_the_day_in_the_recipients_language(db, world, deliver):
    item = make_session(db, world, starts_in=timedelta(hours=5), title="Previsit planning")
    spanish = _speaks(db, world.user("parent"), "es")
    english = world.user("clinician")
    assert english.locale is None  # no choice made: English
    for user in (spanish, english):
        sessions.register(db, user, item.id)
    assert sessions.send_reminders(db) == 2
    starts = item.starts_at
    sent = deliver()
    es, en = sent[spanish.email], sent[english.email]
    weekday = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")[starts.weekday()]
    assert es.subject == "Recordatorio: Previsit planning"
    assert (f"«Previsit planning» empieza el {weekday} {starts:%d} de "
            f"{('enero', 'febrero', 'marzo', 'abril', 'mayo', 'junio', 'julio', 'agosto', 'septiembre', 'octubre', 'noviembre', 'diciembre')[starts.month - 1]}"
            f" a las {starts:%H:%M} (UTC).") in es.body
    assert en.subject == "Reminder: Previsit planning"
    assert f"“Previsit planning” starts {starts:%A %d %B at %H:%M} (UTC).\n" in en.body


def test_digest_lists_each_notification_in_the_recipients_language(db, world, deliver):
    spanish = _speaks(db, world.user("parent"), "es")
    english = world.user("clinician")
    for user in (spanish, english):
        notifications.notify(db, [user.id], "review_due",
                             N_("“%(title)s” is due for review by %(review_by)s.", title="Asthma plan",
                                review_by=datetime(2027, 3, 5).date()), "/library/asthma-plan")
        notifications.notify(db, [user.id], "action_item", "An older plain sentence", "/groups/")
    db.commit()
    assert notifications.send_digests(db, base_url="http://127.0.0.1:5000") == 2
    sent = deliver()
    es, en = sent[spanish.email], sent[english.email]
    assert es.subject == "CareCommons: novedades para ti (2)"
    assert "- «Asthma plan» " in es.body and "is due for review" not in es.body
    assert "  http://127.0.0.1:5000/library/asthma-plan" in es.body
    assert "- An older plain sentence" in es.body  # stored without a template: as it was written
    assert "Elige qué recibes en http://127.0.0.1:5000/notifications/settings" in es.body
    assert en.subject == "CareCommons: 2 new for you"
    assert "- “Asthma plan” is due for review by 05 Mar 2027.\n  http://127.0.0.1:5000/library/asthma-plan" in en.body
    assert "Change what you receive at http://127.0.0.1:5000/notifications/settings" in en.body


def test_rows_without_templates_still_deliver_their_english(db, world, deliver):
    db.add(OutboxMessage(to="old@example.org", subject="An old subject", body="An old body\n"))
    outbox.queue(db, to="plain@example.org", subject="Plain subject", body="Plain body\n", locale="es")
    db.commit()
    sent = deliver()
    assert (sent["old@example.org"].subject, sent["old@example.org"].body) == ("An old subject", "An old body\n")
    assert (sent["plain@example.org"].subject, sent["plain@example.org"].body) == ("Plain subject", "Plain body\n")
    assert db.scalar(select(OutboxMessage.sent_at).where(OutboxMessage.to == "old@example.org")) is not None


def test_without_translate_everything_goes_in_english(db, world):
    spanish = _speaks(db, world.user("parent"), "es")
    people.request_password_reset(db, spanish.email, secret=SECRET, link_for=lambda token: f"/reset/{token}")
    transport = RecordingTransport()
    assert outbox.deliver_pending(db, transport) == (1, 0)
    assert transport.sent[0].subject == "Reset your CareCommons password"
