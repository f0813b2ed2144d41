"""People and places: the network, its sites, its members and the roles they hold.

A person may hold several memberships (a parent at one site who is also a network leader). Site
roles belong to a site; network roles (leader, moderator) have no site. Roles shown on a profile
are display only; memberships are what the access policy reads.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, false, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload

from network import access, audit, outbox, passwords, tokens
from network.roles import NETWORK_ROLES, ROLE_PRIORITY, SITE_ROLES, Role  # noqa: F401 (re-exported)
from network.db import Base, utcnow
from network.errors import Conflict, Invalid, NotFound
from network.i18n import N_


INVITATION_DAYS = 14
RESET_HOURS = 2

log = logging.getLogger("carecommons.people")


class Network(Base):
    """The one learning network this installation serves, and its shared aim."""

    __tablename__ = "network"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    #: the shared aim in one sentence, shown on every member's home page
    aim: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")


class Site(Base):
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: short stable key used in URLs and CSV imports
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    city: Mapped[str] = mapped_column(String(80), default="")
    #: a stable code shown instead of the name where names are blinded ("Site 17")
    code: Mapped[int] = mapped_column(Integer, unique=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    memberships: Mapped[list["Membership"]] = relationship(back_populates="site")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: sign-in address, stored lower-case; None for a young child managed by parents
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    full_name: Mapped[str] = mapped_column(String(120))
    #: "full" or "first": how the person's name appears to other members
    name_display: Mapped[str] = mapped_column(String(8), default="full")
    pronouns: Mapped[str] = mapped_column(String(40), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    #: roles the person says they hold, shown on the profile; memberships grant rights
    profile_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    birth_year: Mapped[int | None] = mapped_column(Integer)
    #: 1–12 or None; with the year it dates the move to adult care (network/minors.py), no full birth date
    birth_month: Mapped[int | None] = mapped_column(Integer)
    #: when the person closed their account (the row stays, scrubbed, so bylines read "a former member")
    closed_at: Mapped[datetime | None] = mapped_column()
    #: listed in the people directory (opt-in), with what they offer other members
    in_directory: Mapped[bool] = mapped_column(Boolean, default=False)
    offers: Mapped[str] = mapped_column(String(300), default="")
    #: interface language ("en" or "es"); None follows the browser
    locale: Mapped[str | None] = mapped_column(String(5))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: bumped on logout-everywhere, password change and deactivation; old sessions then fail
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column()

    #: loaded when asked for (lazy="select"): the signed-in person's come with the sign-in check of each request
    #: (network/devices.py, one query); lists that show other people's roles ask for them (selectinload).
    #: Loading them with every person loaded (authors, co-authors, presenters) cost a query per list and
    #: was the most frequent query under load (bench/load.py).
    memberships: Mapped[list["Membership"]] = relationship(
        back_populates="user", foreign_keys="Membership.user_id", lazy="select",
        primaryjoin="and_(User.id == Membership.user_id, Membership.ended_at.is_(None))",
        viewonly=True)

    is_authenticated = True
    is_anonymous = False

    @property
    def roles(self) -> set[Role]:
        return {Role(m.role) for m in self.memberships}

    def site_ids(self, *roles: Role) -> set[int]:
        return {m.site_id for m in self.memberships
                if m.site_id is not None and (not roles or Role(m.role) in roles)}

    def has_role(self, role: Role, site_id: int | None = None) -> bool:
        return any(Role(m.role) == role and (site_id is None or m.site_id == site_id)
                   for m in self.memberships)

    @property
    def shown_name(self) -> str:
        """The one rule for how a member's name appears to others."""
        if self.name_display == "first":
            return self.full_name.split()[0] if self.full_name.strip() else self.full_name
        return self.full_name


class Membership(Base):
    __tablename__ = "memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: None for network-level roles
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    #: capability: may publish the site's outcome data (site leads always may)
    data_steward: Mapped[bool] = mapped_column(Boolean, default=False)
    #: capability: told at once of every safety concern, and may handle the urgent queue (set by leaders)
    safeguarding_contact: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: set when the membership ends; access stops at once, the row stays for history
    ended_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    site: Mapped[Site | None] = relationship(back_populates="memberships")


class CareLink(Base):
    """A parent (or carer) linked to a patient they care for."""

    __tablename__ = "care_links"
    __table_args__ = (UniqueConstraint("parent_id", "patient_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: set when a patient of 18 or more chose to keep this parent's access to their plans and tracking
    adult_access_renewed_at: Mapped[datetime | None] = mapped_column()

    parent: Mapped[User] = relationship(foreign_keys=[parent_id])
    patient: Mapped[User] = relationship(foreign_keys=[patient_id])


#: how an invitation's status reads inside a sentence
INVITATION_STATUS_WORDS = {"accepted": N_("accepted"), "revoked": N_("withdrawn"), "expired": N_("expired")}


class Invitation(Base):
    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    full_name: Mapped[str] = mapped_column(String(120))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    role: Mapped[str] = mapped_column(String(20))
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: sha256 of the link's nonce; the link itself is never stored
    nonce_digest: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    accepted_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    site: Mapped[Site | None] = relationship()
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])

    @property
    def status(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at < utcnow():
            return "expired"
        return "pending"


class PasswordReset(Base):
    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    nonce_digest: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()


# ---------------------------------------------------------------------------------------------
# Reading

def get_network(db: Session) -> Network:
    network = db.scalar(select(Network).limit(1))
    if network is None:
        network = Network(name="CareCommons network", aim="")
        db.add(network)
        db.flush()
    return network


def load_user(db: Session, user_id: int) -> User | None:
    return db.get(User, user_id)


def user_by_email(db: Session, email: str) -> User | None:
    return db.scalar(select(User).where(User.email == normalise_email(email)))


def active_sites(db: Session, *, among: set[int] | None = None) -> list[Site]:
    """The active sites by name; `among`: only these (ids), e.g. the viewer's own (no query when none)."""
    query = select(Site).where(Site.is_active.is_(True)).order_by(Site.name)
    if among is not None:
        if not among:
            return []
        query = query.where(Site.id.in_(among))
    return list(db.scalars(query))


def all_sites(db: Session, actor) -> list[Site]:
    access.require(actor, "site.manage")
    return list(db.scalars(select(Site).order_by(Site.name)))


def site_for_manage(db: Session, actor, site_id: int) -> Site:
    access.require(actor, "site.manage")
    site = db.get(Site, site_id)
    if site is None:
        raise NotFound(N_("No such site."))
    return site


def site_by_slug(db: Session, actor, slug: str) -> Site:
    site = db.scalar(select(Site).where(Site.slug == slug))
    if site is None or (not site.is_active and not access.can(actor, "site.manage")):
        raise NotFound(N_("No such site."))
    access.require(actor, "site.view", site)
    return site


def site_team(db: Session, actor, site: Site) -> list[Membership]:
    access.require(actor, "site.view_team", site)
    return list(db.scalars(
        select(Membership).where(Membership.site_id == site.id, Membership.ended_at.is_(None))
        .options(selectinload(Membership.user)).join(User).order_by(Membership.role, User.full_name)))


def member_counts(db: Session) -> dict[int, dict[str, int]]:
    """Active members per site and role, in one query."""
    rows = db.execute(
        select(Membership.site_id, Membership.role, func.count(Membership.id))
        .join(User).where(Membership.ended_at.is_(None), User.is_active.is_(True),
                          Membership.site_id.is_not(None))
        .group_by(Membership.site_id, Membership.role))
    counts: dict[int, dict[str, int]] = {}
    for site_id, role, n in rows:
        counts.setdefault(site_id, {})[role] = n
    return counts


def people(db: Session, actor, *, query: str = "", limit: int = 200) -> list[User]:
    access.require(actor, "people.manage")
    stmt = select(User).options(selectinload(User.memberships)).order_by(User.full_name).limit(limit)
    if query:
        like = f"%{query.lower()}%"
        stmt = stmt.where(func.lower(User.full_name).like(like) | func.lower(User.email).like(like))
    return list(db.scalars(stmt))


def person(db: Session, actor, user_id: int) -> User:
    access.require(actor, "people.manage")
    user = db.get(User, user_id)
    if user is None:
        raise NotFound(N_("No such person."))
    return user


def all_memberships(db: Session, user: User) -> list[Membership]:
    return list(db.scalars(select(Membership).where(Membership.user_id == user.id)
                           .options(selectinload(Membership.site)).order_by(Membership.created_at)))


def care_links_of(db: Session, user: User) -> list[CareLink]:
    return list(db.scalars(
        select(CareLink).where((CareLink.parent_id == user.id) | (CareLink.patient_id == user.id))
        .options(selectinload(CareLink.parent), selectinload(CareLink.patient))))


def invitations(db: Session, actor, *, site: Site | None = None) -> list[Invitation]:
    if site is None:
        access.require(actor, "people.manage")
    else:
        access.require(actor, "membership.manage", site)
    stmt = (select(Invitation).options(selectinload(Invitation.site), selectinload(Invitation.invited_by))
            .order_by(Invitation.created_at.desc()).limit(200))
    if site is not None:
        stmt = stmt.where(Invitation.site_id == site.id)
    return list(db.scalars(stmt))


# ---------------------------------------------------------------------------------------------
# Validation helpers

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def _check_name(errors: dict, field: str, value: str, *, maximum: int = 120) -> str:
    value = (value or "").strip()
    if not value:
        errors.setdefault(field, []).append(N_("Enter a name."))
    elif len(value) > maximum:
        errors.setdefault(field, []).append(N_("Use at most %(maximum)s characters.", maximum=maximum))
    return value


def _check_email(errors: dict, field: str, value: str) -> str:
    value = normalise_email(value)
    if not EMAIL_RE.match(value) or len(value) > 254:
        errors.setdefault(field, []).append(N_("Enter an e-mail address like name@example.org."))
    return value


def _check_role(errors: dict, role: str, site_id: int | None) -> Role | None:
    try:
        parsed = Role(role)
    except ValueError:
        errors.setdefault("role", []).append(N_("Choose one of the listed roles."))
        return None
    if parsed.at_site and site_id is None:
        errors.setdefault("site", []).append(N_("Choose the site for this role."))
    if not parsed.at_site and site_id is not None:
        errors.setdefault("site", []).append(N_("Network roles belong to no site; leave the site empty."))
    return parsed


def _raise_if(errors: dict) -> None:
    if errors:
        raise Invalid(errors)


# ---------------------------------------------------------------------------------------------
# Signing in

def authenticate(db: Session, email: str, password: str) -> User | None:
    """The user for these credentials, or None; failures are audited without the password."""
    user = user_by_email(db, email)
    if user is None or not user.is_active or not passwords.verify(user.password_hash, password):
        if user is None:
            passwords.verify(_DUMMY_HASH, password)  # same cost whether or not the address exists
        audit.record(db, access.ANONYMOUS, "auth.login_failed", user if user else None,
                     known_account=user is not None)
        db.commit()
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.last_login_at = utcnow()
    audit.record(db, user, "auth.login", user)
    db.commit()
    return user


_DUMMY_HASH = passwords.hash_password("not-a-real-password-used-for-timing")


def logout_everywhere(db: Session, user: User) -> None:
    user.session_version += 1
    audit.record(db, user, "auth.logout", user)
    db.commit()


def session_token(user: User) -> str:
    """What the login cookie carries: the id plus the session version that must still match."""
    return f"{user.id}:{user.session_version}"


def user_for_session(db: Session, token: str) -> User | None:
    try:
        user_id, version = (int(part) for part in token.split(":", 1))
    except ValueError:
        return None
    user = db.get(User, user_id)
    if user is None or not user.is_active or user.session_version != version:
        return None
    return user


# ---------------------------------------------------------------------------------------------
# Invitations and passwords

LinkMaker = Callable[[str], str]


#: how an invitation e-mail names the role (English: the value with spaces, as it always did)
ROLE_NAMES = {Role.PATIENT: N_("patient"), Role.PARENT: N_("parent"), Role.CLINICIAN: N_("clinician"),
              Role.SITE_LEAD: N_("site lead"), Role.NETWORK_LEADER: N_("network leader"),
              Role.MODERATOR: N_("moderator")}


def invite(db: Session, actor, *, email: str, full_name: str, role: str, site_id: int | None,
           secret: str, link_for: LinkMaker) -> tuple[Invitation, str]:
    """Invite someone to a site (or a network role); the link goes out through the outbox."""
    errors: dict[str, list[str]] = {}
    email = _check_email(errors, "email", email)
    full_name = _check_name(errors, "full_name", full_name)
    parsed_role = _check_role(errors, role, site_id)
    site = db.get(Site, site_id) if site_id is not None else None
    if site_id is not None and (site is None or not site.is_active):
        errors.setdefault("site", []).append(N_("Choose an active site."))
    _raise_if(errors)
    access.require(actor, "membership.grant", MembershipGrant(site, parsed_role))
    existing = user_by_email(db, email)
    if existing is not None and any(m.site_id == site_id and m.role == parsed_role for m in existing.memberships):
        raise Invalid({"email": [N_("This person already holds that role there.")]})

    invitation = Invitation(email=email, full_name=full_name, site_id=site_id, role=parsed_role.value,
                            invited_by_id=actor.id, expires_at=utcnow() + timedelta(days=INVITATION_DAYS))
    db.add(invitation)
    db.flush()
    token, invitation.nonce_digest = tokens.issue(secret, "invitation", invitation.id)
    where = site.name if site else N_("the network")
    # the invitee's language if they have an account already, the inviter's otherwise
    locale = (existing.locale if existing is not None and existing.locale else None) or getattr(actor, "locale", None)
    outbox.queue(db, to=email, locale=locale,
                 subject=N_("You are invited to join %(where)s on CareCommons", where=where),
                 body=[N_("Hello %(name)s,", name=full_name), "",
                       N_("%(inviter)s invited you to join %(where)s as %(role)s.", inviter=actor.full_name,
                          where=where, role=ROLE_NAMES[parsed_role]), "",
                       N_("Choose a password here (the link works once, for %(days)s days):", days=INVITATION_DAYS),
                       link_for(token), ""])
    audit.record(db, actor, "invitation.create", invitation, site_id=site_id, role=parsed_role.value)
    db.commit()
    return invitation, token


def invitation_for_token(db: Session, secret: str, token: str) -> Invitation:
    invitation_id, nonce_digest = tokens.read(secret, "invitation", token, INVITATION_DAYS * 86400)
    invitation = db.get(Invitation, invitation_id)
    if invitation is None:
        raise Invalid({"link": [N_("This link is not valid. Check that you copied all of it.")]})
    if invitation.accepted_at:
        raise Invalid({"link": [N_("This invitation has already been used. Sign in instead.")]})
    if invitation.revoked_at:
        raise Invalid({"link": [N_("This invitation was withdrawn. Ask the person who invited you.")]})
    if not tokens.same(invitation.nonce_digest, nonce_digest):
        raise Invalid({"link": [N_("This link is not valid. Check that you copied all of it.")]})
    if invitation.expires_at < utcnow():
        raise Invalid({"link": [N_("This invitation has expired. Ask for a new one.")]})
    return invitation


def accept_invitation(db: Session, secret: str, token: str, *, password: str, password_again: str) -> User:
    """Create the account (or add the role to an existing one) and use the invitation up."""
    invitation = invitation_for_token(db, secret, token)
    existing = user_by_email(db, invitation.email)
    errors: dict[str, list[str]] = {}
    if existing is None or not existing.password_hash:
        problems = passwords.password_problems(password)
        if problems:
            errors["password"] = problems
        if password != password_again:
            errors.setdefault("password_again", []).append(N_("The two passwords differ."))
    elif not passwords.verify(existing.password_hash, password):
        errors["password"] = [N_("You already have an account: enter its password to add this role.")]
    _raise_if(errors)

    user = existing
    if user is None:
        user = User(email=invitation.email, full_name=invitation.full_name,
                    password_hash=passwords.hash_password(password), profile_roles=[invitation.role])
        db.add(user)
        db.flush()
    elif not user.password_hash:
        user.password_hash = passwords.hash_password(password)
    _add_membership(db, user, invitation.site_id, Role(invitation.role))
    invitation.accepted_at = utcnow()
    invitation.user_id = user.id
    invitation.nonce_digest = None
    audit.record(db, user, "invitation.accept", invitation, site_id=invitation.site_id, role=invitation.role)
    db.commit()
    db.refresh(user)
    return user


def revoke_invitation(db: Session, actor, invitation_id: int) -> Invitation:
    invitation = db.get(Invitation, invitation_id)
    if invitation is None:
        raise NotFound(N_("No such invitation."))
    access.require(actor, "membership.grant", MembershipGrant(invitation.site, Role(invitation.role)))
    if invitation.status != "pending":
        raise Conflict(N_("This invitation is already %(status)s.", status=INVITATION_STATUS_WORDS.get(invitation.status, invitation.status)))
    invitation.revoked_at = utcnow()
    invitation.nonce_digest = None
    audit.record(db, actor, "invitation.revoke", invitation, site_id=invitation.site_id)
    db.commit()
    return invitation


def request_password_reset(db: Session, email: str, *, secret: str, link_for: LinkMaker) -> None:
    """Send a reset link if the address belongs to an active account; say nothing either way."""
    user = user_by_email(db, email)
    if user is None or not user.is_active:
        return
    reset = PasswordReset(user_id=user.id, expires_at=utcnow() + timedelta(hours=RESET_HOURS))
    db.add(reset)
    db.flush()
    token, reset.nonce_digest = tokens.issue(secret, "reset", reset.id)
    outbox.queue(db, to=user.email, locale=user.locale, subject=N_("Reset your CareCommons password"),
                 body=[N_("Hello %(name)s,", name=user.shown_name), "",
                       N_("Someone (we hope you) asked to reset your password. This link works once, for "
                          "%(hours)s hours:", hours=RESET_HOURS),
                       link_for(token), "",
                       N_("If it was not you, ignore this message; your password stays as it is."), ""])
    audit.record(db, user, "auth.reset_requested", user)
    db.commit()


def reset_for_token(db: Session, secret: str, token: str) -> PasswordReset:
    reset_id, nonce_digest = tokens.read(secret, "reset", token, RESET_HOURS * 3600)
    reset = db.get(PasswordReset, reset_id)
    if reset is None:
        raise Invalid({"link": [N_("This link is not valid. Check that you copied all of it.")]})
    if reset.used_at:
        raise Invalid({"link": [N_("This link has already been used. Ask for a new one.")]})
    if not tokens.same(reset.nonce_digest, nonce_digest):
        raise Invalid({"link": [N_("This link is not valid. Check that you copied all of it.")]})
    if reset.expires_at < utcnow():
        raise Invalid({"link": [N_("This link has expired. Ask for a new one.")]})
    return reset


def reset_password(db: Session, secret: str, token: str, *, password: str, password_again: str) -> User:
    reset = reset_for_token(db, secret, token)
    errors: dict[str, list[str]] = {}
    problems = passwords.password_problems(password)
    if problems:
        errors["password"] = problems
    if password != password_again:
        errors.setdefault("password_again", []).append(N_("The two passwords differ."))
    _raise_if(errors)
    user = db.get(User, reset.user_id)
    user.password_hash = passwords.hash_password(password)
    user.session_version += 1  # every other signed-in device is signed out
    reset.used_at = utcnow()
    reset.nonce_digest = None
    audit.record(db, user, "auth.password_reset", user)
    db.commit()
    return user


# ---------------------------------------------------------------------------------------------
# Profiles

NAME_DISPLAYS = ("full", "first")


def update_profile(db: Session, actor, user_id: int, *, full_name: str, name_display: str, pronouns: str,
                   bio: str, profile_roles: list[str], in_directory: bool | None = None,
                   offers: str | None = None) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise NotFound(N_("No such person."))
    access.require(actor, "profile.edit", user)
    errors: dict[str, list[str]] = {}
    full_name = _check_name(errors, "full_name", full_name)
    if name_display not in NAME_DISPLAYS:
        errors["name_display"] = [N_("Choose full name or first name only.")]
    pronouns = (pronouns or "").strip()
    if len(pronouns) > 40:
        errors["pronouns"] = [N_("Use at most 40 characters.")]
    bio = (bio or "").strip()
    if len(bio) > 2000:
        errors["bio"] = [N_("Use at most 2,000 characters.")]
    unknown = [r for r in profile_roles if r not in {role.value for role in Role}]
    if unknown:
        errors["profile_roles"] = [N_("Choose roles from the list.")]
    offers = (offers if offers is not None else user.offers or "").strip()
    if len(offers) > 300:
        errors["offers"] = [N_("Use at most 300 characters.")]
    _raise_if(errors)
    if in_directory is not None:
        user.in_directory = bool(in_directory)
    user.offers = offers
    changed = sorted(field for field, value in (("full_name", full_name), ("name_display", name_display),
                                                ("pronouns", pronouns), ("bio", bio),
                                                ("profile_roles", sorted(set(profile_roles))))
                     if getattr(user, field) != value)
    user.full_name, user.name_display, user.pronouns, user.bio = full_name, name_display, pronouns, bio
    user.profile_roles = sorted(set(profile_roles))
    if changed:
        audit.record(db, actor, "profile.update", user, fields=changed)
    db.commit()
    return user


# ---------------------------------------------------------------------------------------------
# Sites

def create_site(db: Session, actor, *, name: str, slug: str, city: str = "") -> Site:
    access.require(actor, "site.manage")
    errors: dict[str, list[str]] = {}
    name = _check_name(errors, "name", name)
    slug = (slug or "").strip().lower()
    if not SLUG_RE.match(slug):
        errors["slug"] = [N_("Use 1–40 lower-case letters, digits and hyphens, e.g. riverside-childrens.")]
    elif db.scalar(select(Site.id).where(Site.slug == slug)):
        errors["slug"] = [N_("Another site already uses this short name.")]
    city = (city or "").strip()
    if len(city) > 80:
        errors["city"] = [N_("Use at most 80 characters.")]
    _raise_if(errors)
    code = (db.scalar(select(func.max(Site.code))) or 0) + 1
    site = Site(name=name, slug=slug, city=city, code=code)
    db.add(site)
    db.flush()
    audit.record(db, actor, "site.create", site, site_id=site.id, name=name, slug=slug)
    db.commit()
    return site


def update_site(db: Session, actor, site_id: int, *, name: str, city: str, is_active: bool) -> Site:
    access.require(actor, "site.manage")
    site = db.get(Site, site_id)
    if site is None:
        raise NotFound(N_("No such site."))
    errors: dict[str, list[str]] = {}
    name = _check_name(errors, "name", name)
    city = (city or "").strip()
    if len(city) > 80:
        errors["city"] = [N_("Use at most 80 characters.")]
    _raise_if(errors)
    changes = {k: [getattr(site, k), v] for k, v in (("name", name), ("city", city), ("is_active", is_active))
               if getattr(site, k) != v}
    site.name, site.city, site.is_active = name, city, is_active
    if changes:
        action = "site.deactivate" if changes.get("is_active") == [True, False] else "site.update"
        audit.record(db, actor, action, site, site_id=site.id, changes=changes)
    db.commit()
    return site


# ---------------------------------------------------------------------------------------------
# Memberships and care links

@dataclass(frozen=True)
class MembershipGrant:
    """The target of a membership check: granting `role` at `site` (None for the network)."""

    site: Site | None
    role: Role | None

    @property
    def id(self) -> int | None:
        return self.site.id if self.site else None


def _add_membership(db: Session, user: User, site_id: int | None, role: Role) -> Membership:
    membership = db.scalar(select(Membership).where(
        Membership.user_id == user.id, Membership.role == role.value,
        Membership.site_id.is_(None) if site_id is None else Membership.site_id == site_id))
    if membership is None:
        membership = Membership(user_id=user.id, site_id=site_id, role=role.value)
        db.add(membership)
    membership.ended_at = None
    db.flush()
    db.expire(user, ["memberships"])
    return membership


def add_membership(db: Session, actor, *, user_id: int, role: str, site_id: int | None) -> Membership:
    """Give an existing person a role (a leader's tool; new people come in by invitation)."""
    errors: dict[str, list[str]] = {}
    parsed = _check_role(errors, role, site_id)
    user = db.get(User, user_id)
    if user is None:
        raise NotFound(N_("No such person."))
    site = db.get(Site, site_id) if site_id is not None else None
    if site_id is not None and (site is None or not site.is_active):
        errors.setdefault("site", []).append(N_("Choose an active site."))
    _raise_if(errors)
    access.require(actor, "membership.grant", MembershipGrant(site, parsed))
    if any(m.site_id == site_id and m.role == parsed.value for m in user.memberships):
        raise Invalid({"role": [N_("This person already holds that role there.")]})
    membership = _add_membership(db, user, site_id, parsed)
    audit.record(db, actor, "membership.add", membership, site_id=site_id, user_id=user.id, role=parsed.value)
    db.commit()
    return membership


def _membership_for_change(db: Session, actor, membership_id: int) -> Membership:
    membership = db.get(Membership, membership_id)
    if membership is None or membership.ended_at is not None:
        raise NotFound(N_("No such membership."))
    access.require(actor, "membership.grant", MembershipGrant(membership.site, Role(membership.role)))
    return membership


def end_membership(db: Session, actor, membership_id: int) -> Membership:
    membership = _membership_for_change(db, actor, membership_id)
    if membership.role == Role.NETWORK_LEADER and membership.user_id == actor.id:
        remaining = db.scalar(select(func.count(Membership.id)).where(
            Membership.role == Role.NETWORK_LEADER.value, Membership.ended_at.is_(None)))
        if remaining <= 1:
            raise Conflict(N_("The network needs at least one leader; appoint another first."))
    membership.ended_at = utcnow()
    db.flush()
    db.expire(membership.user, ["memberships"])
    audit.record(db, actor, "membership.end", membership, site_id=membership.site_id,
                 user_id=membership.user_id, role=membership.role)
    db.commit()
    return membership


def set_data_steward(db: Session, actor, membership_id: int, steward: bool) -> Membership:
    membership = _membership_for_change(db, actor, membership_id)
    if membership.role != Role.CLINICIAN.value:
        raise Invalid({"data_steward": [N_("Only a clinician's membership carries the data-steward right.")]})
    if membership.data_steward != steward:
        membership.data_steward = steward
        audit.record(db, actor, "membership.data_steward", membership, site_id=membership.site_id,
                     user_id=membership.user_id, data_steward=steward)
    db.commit()
    return membership


def set_user_active(db: Session, actor, user_id: int, active: bool) -> User:
    access.require(actor, "people.manage")
    user = db.get(User, user_id)
    if user is None:
        raise NotFound(N_("No such person."))
    if user.id == actor.id and not active:
        raise Conflict(N_("You cannot deactivate your own account here."))
    if user.is_active != active:
        user.is_active = active
        user.session_version += 1
        audit.record(db, actor, "person.activate" if active else "person.deactivate", user)
    db.commit()
    return user


def link_parent(db: Session, actor, *, parent_id: int, patient_id: int) -> CareLink:
    parent, patient = db.get(User, parent_id), db.get(User, patient_id)
    if parent is None or patient is None:
        raise NotFound(N_("No such person."))
    access.require(actor, "carelink.manage", patient)
    errors: dict[str, list[str]] = {}
    if not parent.has_role(Role.PARENT):
        errors["parent"] = [N_("Choose someone who holds the parent role.")]
    if not patient.has_role(Role.PATIENT):
        errors["patient"] = [N_("Choose someone who holds the patient role.")]
    if parent_id == patient_id:
        errors["patient"] = [N_("A person cannot be linked to themselves.")]
    _raise_if(errors)
    if db.scalar(select(CareLink.id).where(CareLink.parent_id == parent_id, CareLink.patient_id == patient_id)):
        raise Invalid({"patient": [N_("These two are already linked.")]})
    link = CareLink(parent_id=parent_id, patient_id=patient_id)
    db.add(link)
    db.flush()
    audit.record(db, actor, "carelink.add", link, parent_id=parent_id, patient_id=patient_id)
    db.commit()
    return link


def unlink_parent(db: Session, actor, link_id: int) -> None:
    link = db.get(CareLink, link_id)
    if link is None:
        raise NotFound(N_("No such link."))
    access.require(actor, "carelink.manage", link.patient)
    audit.record(db, actor, "carelink.remove", link, parent_id=link.parent_id, patient_id=link.patient_id)
    db.delete(link)
    db.commit()


def patients_of(db: Session, parent: User) -> list[User]:
    return list(db.scalars(select(User).join(CareLink, CareLink.patient_id == User.id)
                           .where(CareLink.parent_id == parent.id).order_by(User.full_name)))


def new_member_count(db: Session, since: datetime) -> int:
    return db.scalar(select(func.count(User.id)).where(User.created_at >= since)) or 0


def acting_role(actor, requested: str | None = None, *, allowed=None) -> str:
    """The role a person acts in for one action: the one they chose (it must be theirs), or their
    first role by ROLE_PRIORITY. Stored on revisions, approvals, messages and stories, so
    "co-produced" and the network-health figures count it."""
    held = [role for role in ROLE_PRIORITY if role in actor.roles and (allowed is None or role in allowed)]
    if requested:
        if requested in {role.value for role in held}:
            return requested
        raise Invalid({"acting_role": [N_("Choose one of the roles you hold.")]})
    return held[0].value if held else ""


def set_locale(db: Session, actor, locale: str) -> None:
    if locale not in ("en", "es"):
        raise Invalid({"language": [N_("Choose English or Español.")]})
    actor.locale = locale
    db.commit()
