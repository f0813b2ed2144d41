"""Outgoing mail. Services queue messages in the outbox table inside their own unit of work, so a
message exists exactly when the change it announces was committed; `deliver_pending` sends them
(SMTP when configured, the log otherwise) and is called by `flask jobs run`.
"""
from __future__ import annotations

import logging
import smtplib
from datetime import datetime
from email.message import EmailMessage
from typing import Protocol

from sqlalchemy import String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

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


class Transport(Protocol):
    def send(self, message: OutboxMessage) -> None: ...


class LogTransport:
    """Development: the message goes to the console log."""

    def send(self, message: OutboxMessage) -> None:
        log.info("mail to %s: %s\n%s", message.to, message.subject, message.body)


class SmtpTransport:
    def __init__(self, host: str, port: int, sender: str, username: str = "", password: str = "",
                 starttls: bool = True):
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password, self.starttls = username, password, starttls

    def send(self, message: OutboxMessage) -> None:
        email = EmailMessage()
        email["From"], email["To"], email["Subject"] = self.sender, message.to, message.subject
        email.set_content(message.body)
        with smtplib.SMTP(self.host, self.port, timeout=20) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password)
            smtp.send_message(email)


def queue(db: Session, *, to: str, subject: str, body: str) -> OutboxMessage:
    message = OutboxMessage(to=to, subject=subject, body=body)
    db.add(message)
    log.info("queued mail to %s: %s\n%s", to, subject, body)
    return message


def deliver_pending(db: Session, transport: Transport, limit: int = 500) -> tuple[int, int]:
    """Send what is waiting; returns (sent, failed). Safe to run again at any time."""
    sent = failed = 0
    pending = db.scalars(select(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
                         .order_by(OutboxMessage.id).limit(limit))
    for message in list(pending):
        try:
            transport.send(message)
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
