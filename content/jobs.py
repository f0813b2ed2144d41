"""The idempotent background jobs, in order. `flask jobs run` calls `run_all` (cron or a systemd timer
in production; tests call it directly). Running it twice changes nothing the second time."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from content import stewardship, visits
from network import bright_spots, minors, notifications, outcomes, sessions
from network.people import Membership, User


def run_all(db: Session, *, base_url: str) -> dict[str, int]:
    base = base_url.rstrip("/")
    last_month = outcomes.previous_month()
    figures = {
        "session reminders": sessions.send_reminders(db, link_for=lambda s: f"{base}/sessions/{s.slug}"),
        "review reminders": stewardship.send_review_reminders(db, link_for=lambda slug: f"{base}/library/{slug}"),
        "coproduction site-months": visits.derive_measures(db, last_month)
        + visits.derive_measures(db, outcomes.previous_month(last_month)),
        "data-due notices": notifications.data_due(db),
        "adult-care notices": minors.send_transition_notices(db),
    }
    leader = db.scalar(select(User).join(Membership, Membership.user_id == User.id)
                       .where(Membership.role == "network_leader", Membership.ended_at.is_(None)).limit(1))
    figures["bright-spot invitations"] = bright_spots.invite(db, leader) if leader is not None else 0
    figures["digests"] = notifications.send_digests(db, base_url=base)
    return figures
