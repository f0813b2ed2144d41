"""Two-step sign-in: time-based one-time codes (authenticator apps) and single-use recovery codes.

The TOTP secret is stored encrypted with a key derived from the app secret and is shown only while
it is being set up. A code is accepted one 30-second step either side of now; the last step used is
recorded, so the same code cannot be used twice. Recovery codes are stored as SHA-256 digests (they
are long random strings, so a slow hash adds nothing) and each works once. Too many wrong codes lock
the account's second step for a while, recorded on the row so every server process agrees.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from network import access, audit
from network.db import Base, utcnow
from network.errors import Invalid

#: roles that must use two-step sign-in; everyone else is offered it
REQUIRED_ROLES = access.TWO_STEP_ROLES
STEP_SECONDS = 30
MAX_TRIES = 5
LOCK_MINUTES = 15
RECOVERY_CODES = 10
ISSUER = "CareCommons"


class TwoStep(Base):
    """One person's two-step sign-in: the (encrypted) secret, replay guard and lock."""

    __tablename__ = "two_step"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    #: Fernet token of the base32 secret; set while setting up, kept once enabled
    secret_encrypted: Mapped[str | None] = mapped_column(String(300))
    enabled_at: Mapped[datetime | None] = mapped_column()
    #: the last 30-second step whose code was accepted (a code is refused at or before it)
    last_step: Mapped[int | None] = mapped_column(Integer)
    failed_tries: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column()
    #: a required role may sign in with the password alone until then (granted for the demo)
    setup_deferred_until: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RecoveryCode(Base):
    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column()


class CodeRefused(Invalid):
    """A one-time or recovery code was not accepted; `reason` says why, `retry_at` when locked."""

    def __init__(self, reason: str, retry_at: datetime | None = None, tries_left: int | None = None):
        self.reason, self.retry_at, self.tries_left = reason, retry_at, tries_left
        super().__init__({"code": [REASONS[reason]]})


REASONS = {
    "wrong": "That code is not right. Check your authenticator app and try again.",
    "reused": "That code was already used. Wait for the next code in your app.",
    "recovery_used": "That recovery code was already used. Each recovery code works once.",
    "locked": "Too many wrong codes. Two-step sign-in is locked for a while.",
    "not_started": "Start setting up two-step sign-in first.",
}


# ---------------------------------------------------------------------------------------------
# Secrets

def _fernet(app_secret: str) -> Fernet:
    key = hashlib.sha256(b"carecommons.two-step:" + app_secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def _encrypt(app_secret: str, totp_secret: str) -> str:
    return _fernet(app_secret).encrypt(totp_secret.encode()).decode()


def _decrypt(app_secret: str, stored: str) -> str:
    try:
        return _fernet(app_secret).decrypt(stored.encode()).decode()
    except InvalidToken as exc:  # the app secret changed: the person sets it up again with recovery
        raise Invalid({"code": ["Two-step sign-in cannot be read with this server's key."]}) from exc


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _normalise_recovery(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _new_recovery_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(10)).decode()[:12]
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


# ---------------------------------------------------------------------------------------------
# Reading

def record_of(db: Session, user) -> TwoStep | None:
    return db.scalar(select(TwoStep).where(TwoStep.user_id == user.id))


def is_enabled(db: Session, user) -> bool:
    row = record_of(db, user)
    return row is not None and row.enabled_at is not None


def required_for(user) -> bool:
    return bool(set(user.roles) & REQUIRED_ROLES)


def must_set_up(db: Session, user, now: datetime | None = None) -> bool:
    """A required role without two-step sign-in (and no deferral in force) sets it up before anything else."""
    if not required_for(user):
        return False
    row = record_of(db, user)
    if row is not None and row.enabled_at is not None:
        return False
    now = now or utcnow()
    return not (row is not None and row.setup_deferred_until is not None and row.setup_deferred_until > now)


def recovery_codes_left(db: Session, user) -> int:
    return len(list(db.scalars(select(RecoveryCode.id).where(RecoveryCode.user_id == user.id,
                                                             RecoveryCode.used_at.is_(None)))))


@dataclass(frozen=True)
class Setup:
    secret: str  # base32, shown once for manual entry
    uri: str  # otpauth:// URI the QR code carries


def provisioning_uri(secret: str, account: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)


# ---------------------------------------------------------------------------------------------
# Setting up and turning off

def begin_setup(db: Session, actor, *, app_secret: str) -> Setup:
    """The secret to enrol: a new one, or the one already being set up (a reload shows the same QR)."""
    access.require(actor, "twostep.setup")
    row = record_of(db, actor)
    if row is not None and row.enabled_at is not None:
        raise Invalid({"_": ["Two-step sign-in is already on."]})
    if row is None:
        row = TwoStep(user_id=actor.id)
        db.add(row)
    if not row.secret_encrypted:
        row.secret_encrypted = _encrypt(app_secret, pyotp.random_base32())
        db.commit()
    secret = _decrypt(app_secret, row.secret_encrypted)
    return Setup(secret, provisioning_uri(secret, actor.email or str(actor.id)))


def confirm_setup(db: Session, actor, code: str, *, app_secret: str, now: float | None = None) -> list[str]:
    """Turn two-step sign-in on with a first code from the app; returns the ten recovery codes (shown once)."""
    access.require(actor, "twostep.setup")
    row = record_of(db, actor)
    if row is None or not row.secret_encrypted or row.enabled_at is not None:
        raise CodeRefused("not_started")
    step = _check_totp(db, row, code, app_secret=app_secret, now=now)
    row.last_step = step
    row.enabled_at = utcnow()
    row.setup_deferred_until = None
    codes = _replace_recovery_codes(db, actor)
    audit.record(db, actor, "twostep.enable", actor)
    db.commit()
    return codes


def new_recovery_codes(db: Session, actor, code: str, *, app_secret: str, now: float | None = None) -> list[str]:
    """Ten fresh recovery codes (the old ones stop working), confirmed with a current code."""
    access.require(actor, "twostep.setup")
    row = _enabled_row(db, actor)
    row.last_step = _check_totp(db, row, code, app_secret=app_secret, now=now)
    codes = _replace_recovery_codes(db, actor)
    audit.record(db, actor, "twostep.recovery_codes_renewed", actor)
    db.commit()
    return codes


def disable(db: Session, actor, code: str, *, app_secret: str, now: float | None = None) -> None:
    """Turn two-step sign-in off (only where the person's roles do not require it), with a current code."""
    access.require(actor, "twostep.disable")
    row = _enabled_row(db, actor)
    _check_totp(db, row, code, app_secret=app_secret, now=now)
    db.delete(row)
    for old in db.scalars(select(RecoveryCode).where(RecoveryCode.user_id == actor.id)):
        db.delete(old)
    audit.record(db, actor, "twostep.disable", actor)
    db.commit()


def reset(db: Session, actor, user) -> None:
    """A leader clears a member's two-step sign-in (lost phone and codes); the lock goes with it."""
    access.require(actor, "twostep.reset")
    row = record_of(db, user)
    if row is None or row.enabled_at is None:
        raise Invalid({"_": ["Two-step sign-in is not on for this person."]})
    db.delete(row)
    for old in db.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        db.delete(old)
    audit.record(db, actor, "twostep.reset", user)
    db.commit()


def defer_setup(db: Session, user, until: datetime) -> TwoStep:
    """Let a required role sign in with the password alone until `until` (demo data; no page grants it)."""
    row = record_of(db, user)
    if row is None:
        row = TwoStep(user_id=user.id)
        db.add(row)
    row.setup_deferred_until = until
    return row


def enrol_with_secret(db: Session, user, secret: str, *, app_secret: str, recovery: list[str]) -> TwoStep:
    """Enrol with a known secret and recovery codes (demo data, whose secret the README publishes)."""
    row = record_of(db, user) or TwoStep(user_id=user.id)
    db.add(row)
    row.secret_encrypted = _encrypt(app_secret, secret)
    row.enabled_at = row.enabled_at or utcnow()
    for old in db.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        db.delete(old)
    db.add_all(RecoveryCode(user_id=user.id, code_digest=_digest(_normalise_recovery(c))) for c in recovery)
    return row


def _enabled_row(db: Session, actor) -> TwoStep:
    row = record_of(db, actor)
    if row is None or row.enabled_at is None:
        raise Invalid({"_": ["Two-step sign-in is not on."]})
    return row


def _replace_recovery_codes(db: Session, user) -> list[str]:
    for old in db.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        db.delete(old)
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    db.add_all(RecoveryCode(user_id=user.id, code_digest=_digest(_normalise_recovery(c))) for c in codes)
    return codes


# ---------------------------------------------------------------------------------------------
# Checking a code at sign-in

def _refuse_if_locked(row: TwoStep) -> None:
    if row.locked_until is not None and row.locked_until > utcnow():
        raise CodeRefused("locked", retry_at=row.locked_until)


def _wrong(db: Session, row: TwoStep, user_id: int) -> CodeRefused:
    """Count a wrong code (committed, so the count survives the refusal) and lock at MAX_TRIES."""
    row.failed_tries = (row.failed_tries or 0) + 1
    if row.failed_tries >= MAX_TRIES:
        row.failed_tries = 0
        row.locked_until = utcnow() + timedelta(minutes=LOCK_MINUTES)
        audit.record(db, access.ANONYMOUS, "twostep.locked", None, user_id=user_id)
        db.commit()
        return CodeRefused("locked", retry_at=row.locked_until)
    audit.record(db, access.ANONYMOUS, "twostep.code_failed", None, user_id=user_id)
    db.commit()
    return CodeRefused("wrong", tries_left=MAX_TRIES - row.failed_tries)


def _check_totp(db: Session, row: TwoStep, code: str, *, app_secret: str, now: float | None = None) -> int:
    """The step of a valid, unused code (±1 step); a wrong, reused or locked one raises CodeRefused."""
    _refuse_if_locked(row)
    code = "".join(ch for ch in (code or "") if ch.isdigit())
    totp = pyotp.TOTP(_decrypt(app_secret, row.secret_encrypted))
    current = int((time.time() if now is None else now) // STEP_SECONDS)
    for step in (current - 1, current, current + 1):
        if len(code) == 6 and hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            if row.last_step is not None and step <= row.last_step:
                raise CodeRefused("reused")
            row.failed_tries = 0
            return step
    raise _wrong(db, row, row.user_id)


def verify(db: Session, user, code: str, *, app_secret: str, now: float | None = None) -> str:
    """The second step at sign-in: a one-time code or a recovery code. Returns "code" or "recovery"."""
    row = _enabled_row(db, user)
    _refuse_if_locked(row)
    digits = "".join(ch for ch in (code or "") if ch.isdigit())
    if len(digits) == 6 and len((code or "").strip().replace(" ", "")) <= 7:
        row.last_step = _check_totp(db, row, code, app_secret=app_secret, now=now)
        audit.record(db, user, "twostep.verified", user, method="code")
        db.commit()
        return "code"
    normalised = _normalise_recovery(code or "")
    found = db.scalar(select(RecoveryCode).where(RecoveryCode.user_id == user.id,
                                                 RecoveryCode.code_digest == _digest(normalised)))
    if found is None:
        raise _wrong(db, row, user.id)
    if found.used_at is not None:
        raise CodeRefused("recovery_used")
    found.used_at = utcnow()
    row.failed_tries = 0
    audit.record(db, user, "twostep.verified", user, method="recovery")
    db.commit()
    return "recovery"
