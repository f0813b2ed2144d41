"""Outgoing mail. Services queue messages in the outbox table inside their own unit of work, so a
message exists exactly when the change it announces was committed; `deliver_pending` sends them
(SMTP when configured, the log otherwise) and is called by `flask jobs run`.

Mail follows the recipient's language: a service passes sentences marked with `network.i18n.N_` and the
recipient's locale; the row keeps the English subject and body (what older rows have, and what goes out
when nothing can translate) and, in `localized`, the templates, params and locale. `deliver_pending`, given
the web layer's `translate`, writes each sentence in the recipient's language just before sending.
"""
from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Callable, Protocol, Sequence, Union

from sqlalchemy import JSON, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from network import i18n
from network.db import Base, utcnow

log = logging.getLogger("carecommons.mail")


class OutboxMessage(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    to: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    #: None until delivered; delivery is retried by the next job run
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    last_error: Mapped[str] = mapped_column(String(300), default="")
    #: {"locale", "subject", "body"}: subject a line, body a list of lines, a line a list of fragments, each
    #: {"text": plain} or a Text's JSON (template + params). None on rows written before mail was translated.
    localized: Mapped[dict | None] = mapped_column(JSON, nullable=True)


@dataclass
class Outgoing:
    """What a transport sends: the row's address and its subject and body in the recipient's language."""
    id: int
    to: str
    subject: str
    body: str


class Transport(Protocol):
    def send(self, message: Outgoing) -> None: ...


class LogTransport:
    """Development: the message goes to the console log."""

    def send(self, message: Outgoing) -> None:
        log.info("mail to %s: %s\n%s", message.to, message.subject, message.body)


class SmtpTransport:
    def __init__(self, host: str, port: int, sender: str, username: str = "", password: str = "",
                 starttls: bool = True):
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password, self.starttls = username, password, starttls

    def send(self, message: Outgoing) -> None:
        email = EmailMessage()
        email["From"], email["To"], email["Subject"] = self.sender, message.to, message.subject
        email.set_content(message.body)
        with smtplib.SMTP(self.host, self.port, timeout=20) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password)
            smtp.send_message(email)


#: a line of a message: a plain string, a Text (N_), or a list of them written one after another
Line = Union[str, Sequence[str]]
#: translate(text_json, locale) -> the sentence in that language (the web layer builds it on Flask-Babel)
Translate = Callable[[dict, str], str]


def _fragments(line: Line) -> list:
    return list(line) if isinstance(line, (list, tuple)) else [line]


def _fragment_json(fragment: str) -> dict:
    return fragment.to_json() if isinstance(fragment, i18n.Text) else {"text": str(fragment)}


def _english(line: Line) -> str:
    return "".join(str(fragment) for fragment in _fragments(line))


def queue(db: Session, *, to: str, subject: Line, body: Line | list[Line],
          locale: str | None = None) -> OutboxMessage:
    """Queue a message. `body` is one line or a list of lines (joined with newlines); sentences marked with
    N_ are sent in `locale` (the recipient's User.locale; None: English)."""
    lines = [body] if isinstance(body, str) else list(body)
    english_subject, english_body = _english(subject), "\n".join(_english(line) for line in lines)
    localized = {"locale": locale,
                 "subject": [_fragment_json(f) for f in _fragments(subject)],
                 "body": [[_fragment_json(f) for f in _fragments(line)] for line in lines]}
    message = OutboxMessage(to=to, subject=english_subject[:200], body=english_body, localized=localized)
    db.add(message)
    log.info("queued mail to %s: %s\n%s", to, english_subject, english_body)
    return message


def _render_line(fragments: list[dict], locale: str, translate: Translate) -> str:
    return "".join(f["text"] if "text" in f else translate(f, locale) for f in fragments)


def outgoing(message: OutboxMessage, translate: Translate | None = None) -> Outgoing:
    """The message as it goes out: in the recipient's language when it can be, the stored English otherwise."""
    data = message.localized or {}
    locale = data.get("locale")
    if translate is None or not locale or locale == "en" or "subject" not in data:
        return Outgoing(message.id, message.to, message.subject, message.body)
    subject = _render_line(data["subject"], locale, translate)
    body = "\n".join(_render_line(line, locale, translate) for line in data.get("body", []))
    return Outgoing(message.id, message.to, subject, body)


def deliver_pending(db: Session, transport: Transport, limit: int = 500,
                    translate: Translate | None = None) -> tuple[int, int]:
    """Send what is waiting; returns (sent, failed). Safe to run again at any time. With `translate`, each
    message goes out in its recipient's language; the row keeps its English."""
    sent = failed = 0
    pending = db.scalars(select(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
                         .order_by(OutboxMessage.id).limit(limit))
    for message in list(pending):
        try:
            transport.send(outgoing(message, translate))
        except (OSError, smtplib.SMTPException) as exc:
            message.last_error = str(exc)[:300]
            failed += 1
        else:
            message.sent_at = utcnow()
            message.last_error = ""
            sent += 1
        db.commit()
    return sent, failed


def messages_to(db: Session, address: str) -> list[OutboxMessage]:
    return list(db.scalars(select(OutboxMessage).where(OutboxMessage.to == address).order_by(OutboxMessage.id)))
