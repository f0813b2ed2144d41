"""Signed-in devices: one server-side record per sign-in, so a member can see and end each session.

The browser's session cookie carries a random key; only its SHA-256 digest is stored. A record also
carries the account's session version at sign-in, so "sign out everywhere" (which bumps the version)
ends every record at once. A record that is ended, or whose version is old, is refused on its next
request; `last_seen_at` is refreshed at most once a minute so a page view does not always write.
"""
from __future__ import annotations

import hashlib
import ipaddress
import secrets
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Integer, String, func, select, update
from sqlalchemy.orm import Mapped, Session, joinedload, mapped_column

from network import access, audit
from network.db import Base, utcnow
from network.errors import NotFound

TOUCH_EVERY = timedelta(minutes=1)


class DeviceSession(Base):
    __tablename__ = "device_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_digest: Mapped[str] = mapped_column(String(64), unique=True)
    session_version: Mapped[int] = mapped_column(Integer)
    #: "Firefox on Windows": enough to recognise a device, not a fingerprint
    device: Mapped[str] = mapped_column(String(80), default="")
    #: the network the sign-in came from, shortened (IPv4 /24, IPv6 /48)
    ip_prefix: Mapped[str] = mapped_column(String(64), default="")
    #: how the sign-in was made: password, code (two-step) or recovery (a recovery code)
    method: Mapped[str] = mapped_column(String(16), default="password")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column()


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def describe_agent(user_agent: str) -> str:
    """A short, human name for a browser and system from its User-Agent header."""
    ua = user_agent or ""
    browser = next((name for marker, name in (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
                                              ("Chrome/", "Chrome"), ("Chromium/", "Chromium"),
                                              ("Safari/", "Safari")) if marker in ua), "")
    system = next((name for marker, name in (("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"),
                                             ("Windows", "Windows"), ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"),
                                             ("Linux", "Linux")) if marker in ua), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or (ua[:60] if ua else "Unknown device")


def ip_prefix(address: str | None) -> str:
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return ""
    if ip.version == 4:
        return str(ipaddress.ip_network(f"{ip}/24", strict=False))
    return str(ipaddress.ip_network(f"{ip}/48", strict=False))


def start(db: Session, user, *, user_agent: str = "", address: str | None = None, method: str = "password") -> str:
    """Record a new sign-in; returns the key for the session cookie (never stored)."""
    key = secrets.token_urlsafe(32)
    db.add(DeviceSession(user_id=user.id, key_digest=_digest(key), session_version=user.session_version,
                         device=describe_agent(user_agent)[:80], ip_prefix=ip_prefix(address), method=method))
    db.commit()
    return key


def load_signed_in(db: Session, token: str, key: str | None) -> tuple[object | None, DeviceSession | None, dict]:
    """Every request's sign-in check in one query: the account the cookie names (id and session version),
    its live device record, and the current versions of the terms and privacy notice (for the consent gate).

    Returns (user, record, {kind: version}); user and record are None when the session is not honoured.
    """
    from network.consent import KINDS, PolicyDocument
    from network.people import User

    try:
        user_id, version = (int(part) for part in token.split(":", 1))
    except ValueError:
        return None, None, {}
    if not key:
        return None, None, {}
    newest = [select(func.max(PolicyDocument.version)).where(PolicyDocument.kind == kind).scalar_subquery()
              for kind in KINDS]
    # the memberships come in the same round trip (joined), not in a second query as elsewhere (selectin):
    # this runs on every request, and each query costs the server ~3% of its CPU under load (bench/load.py)
    row = db.execute(select(User, DeviceSession, *newest).join(DeviceSession, DeviceSession.user_id == User.id)
                     .where(User.id == user_id, DeviceSession.key_digest == _digest(key))
                     .options(joinedload(User.memberships))).unique().first()
    if row is None:
        return None, None, {}
    user, record, *versions = row
    current = {kind: v for kind, v in zip(KINDS, versions) if v is not None}
    if (not user.is_active or user.session_version != version or record.ended_at is not None
            or record.session_version != user.session_version):
        return None, None, current
    now = utcnow()
    if now - record.last_seen_at >= TOUCH_EVERY:
        record.last_seen_at = now
        db.commit()
    return user, record, current


def signed_in_devices(db: Session, actor) -> list[DeviceSession]:
    access.require(actor, "devices.own")
    return list(db.scalars(
        select(DeviceSession).where(DeviceSession.user_id == actor.id, DeviceSession.ended_at.is_(None),
                                    DeviceSession.session_version == actor.session_version)
        .order_by(DeviceSession.last_seen_at.desc())))


def sign_out_device(db: Session, actor, device_id: int) -> DeviceSession:
    """End one of the actor's own sessions; someone else's is not found."""
    access.require(actor, "devices.own")
    record = db.get(DeviceSession, device_id)
    if record is None or record.user_id != actor.id or record.ended_at is not None:
        raise NotFound("No such signed-in device.")
    record.ended_at = utcnow()
    audit.record(db, actor, "devices.sign_out", record)
    db.commit()
    return record


def sign_out_others(db: Session, actor, keep_id: int | None) -> int:
    """End every session of the actor's but this one; returns how many ended."""
    access.require(actor, "devices.own")
    stmt = (update(DeviceSession).where(DeviceSession.user_id == actor.id, DeviceSession.ended_at.is_(None))
            .values(ended_at=utcnow()))
    if keep_id is not None:
        stmt = stmt.where(DeviceSession.id != keep_id)
    ended = db.execute(stmt).rowcount or 0
    audit.record(db, actor, "devices.sign_out_others", actor, ended=ended)
    db.commit()
    return ended


def end_all(db: Session, user) -> None:
    """Mark every session of the person ended (with sign-out everywhere, which bumps the version)."""
    db.execute(update(DeviceSession).where(DeviceSession.user_id == user.id, DeviceSession.ended_at.is_(None))
               .values(ended_at=utcnow()))
