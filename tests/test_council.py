"""The Patient Advisory Council's decision log: vote once, only while open, only members; results hidden
until the vote closes; an anonymous vote cannot be linked to a voter; consensus with participants by
role; action items in the owner's "what needs me"; decisions shown to the network when published."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from network import council, groups
from network.audit import AuditEvent
from network.council import Decision, Participant, Tally
from network.errors import Conflict, Forbidden, Invalid, NotFound
from network.notifications import Notification


@pytest.fixture
def pac(db, world):
    leader = world.user("network_leader", "network")
    group = groups.create(db, leader, name="Patient Advisory Council")
    groups.add_member(db, leader, group, world.user("parent").email, "chair")
    for who in (world.user("patient"), world.user("parent", "other"), world.user("clinician")):
        groups.add_member(db, leader, group, who.email, "member")
    db.refresh(group)
    return group


def _tallies(db, decision):
    return dict(db.execute(select(Tally.option, Tally.votes).where(Tally.decision_id == decision.id)).all())


def _snapshot(db, decision):
    return (_tallies(db, decision), db.scalar(select(func.count(Participant.id))), decision.status)


def test_vote_once_per_person(db, world, pac):
    decision = council.propose(db, world.user("parent"), pac, title="New logo", method="vote")
    council.vote(db, world.user("patient"), decision, "for")
    before = _snapshot(db, decision)
    with pytest.raises(Conflict, match="already voted"):
        council.vote(db, world.user("patient"), decision, "against")
    assert _snapshot(db, decision) == before
    assert _tallies(db, decision) == {"for": 1, "against": 0, "abstain": 0}


def test_vote_only_while_open(db, world, pac):
    decision = council.propose(db, world.user("parent"), pac, title="New logo", method="vote")
    council.vote(db, world.user("patient"), decision, "for")
    council.close_vote(db, world.user("parent"), decision)
    before = _snapshot(db, decision)
    with pytest.raises(Conflict, match="closed"):
        council.vote(db, world.user("clinician"), decision, "against")
    assert _snapshot(db, decision) == before
    assert decision.decided_on is not None and decision.outcome == "for: 1, against: 0, abstain: 0"


def test_vote_only_by_members(db, world, pac):
    decision = council.propose(db, world.user("parent"), pac, title="New logo", method="vote")
    for outsider in (world.user("site_lead"), world.user("network_leader", "network"), world.user("patient", "other")):
        with pytest.raises(Forbidden):
            council.vote(db, outsider, decision, "for")
    assert sum(_tallies(db, decision).values()) == 0
    with pytest.raises(Invalid):
        council.vote(db, world.user("patient"), decision, "maybe")
    assert sum(_tallies(db, decision).values()) == 0 and not council.has_voted(db, world.user("patient"), decision)


def test_results_hidden_until_the_vote_closes(db, world, pac, login_as):
    decision = council.propose(db, world.user("parent"), pac, title="New logo", method="vote")
    council.vote(db, world.user("patient"), decision, "against")
    with pytest.raises(Conflict, match="hidden until the vote closes"):
        council.results(db, world.user("parent"), decision)
    url = f"/groups/{pac.slug}/decisions/{decision.id}"
    page = login_as("parent").get(url).get_data(as_text=True)
    assert "The results are hidden until the vote closes." in page and "Votes</caption>" not in page
    council.close_vote(db, world.user("network_leader", "network"), decision, outcome="We keep the old logo.")
    assert council.results(db, world.user("patient"), decision) == {"for": 0, "against": 1, "abstain": 0}
    page = login_as("parent").get(url).get_data(as_text=True)
    assert "Votes</caption>" in page and "We keep the old logo." in page


def test_an_anonymous_vote_cannot_be_linked_to_a_voter(db, world, pac):
    decision = council.propose(db, world.user("parent"), pac, title="Sensitive", method="vote", anonymous=True)
    council.vote(db, world.user("patient"), decision, "against")
    council.vote(db, world.user("clinician"), decision, "for")
    council.vote(db, world.user("parent", "other"), decision, "against")
    # who voted is kept (once-only, participation by role) ...
    rows = council.participants(db, decision)
    assert {r.user_id for r in rows} == {world.user(r).id for r in ("patient", "clinician")} | {
        world.user("parent", "other").id}
    # ... but never next to a choice, in the ballot or in the audit log
    assert all(r.choice is None for r in rows)
    assert not any("choice" in (e.details or {}) or "against" in str(e.details) for e in
                   db.scalars(select(AuditEvent).where(AuditEvent.action == "council.vote")))
    # the choices live only in counters that name nobody and carry no time or order
    assert set(Tally.__table__.columns.keys()) == {"id", "decision_id", "option", "votes"}
    assert _tallies(db, decision) == {"for": 1, "against": 2, "abstain": 0}
    assert council.participation_by_role(db, decision) == {"clinician": 1, "parent": 1, "patient": 1}


def test_a_named_vote_keeps_each_choice(db, world, pac):
    decision = council.propose(db, world.user("parent"), pac, title="Open", method="vote")
    council.vote(db, world.user("patient"), decision, "abstain")
    assert [r.choice for r in council.participants(db, decision)] == ["abstain"]


def test_consensus_records_what_when_and_who_by_role(db, world, pac):
    chair, patient, clinician = world.user("parent"), world.user("patient"), world.user("clinician")
    decision = council.propose(db, patient, pac, title="Meet monthly", proposal="Evenings suit families.")
    council.comment(db, clinician, decision, "Fine by me.")
    with pytest.raises(Forbidden):
        council.record_consensus(db, patient, decision, outcome="x", participant_ids=[patient.id])
    with pytest.raises(Invalid) as refused:
        council.record_consensus(db, chair, decision, outcome="Monthly", participant_ids=[world.user("site_lead").id])
    assert "participants" in refused.value.field_errors and decision.is_open
    with pytest.raises(Conflict):
        council.vote(db, patient, decision, "for")  # a consensus has no vote
    council.record_consensus(db, chair, decision, outcome="Monthly, Tuesday evenings",
                             participant_ids=[chair.id, patient.id, clinician.id], decided_on=date(2026, 10, 6))
    assert decision.decided_on == date(2026, 10, 6) and not decision.is_open
    assert council.participation_by_role(db, decision) == {"clinician": 1, "parent": 1, "patient": 1}
    with pytest.raises(Conflict):
        council.comment(db, clinician, decision, "Too late.")
    with pytest.raises(Forbidden):
        council.propose(db, world.user("site_lead"), pac, title="Outsider")


def test_decisions_are_the_groups_until_published(db, world, pac, login_as):
    chair = world.user("parent")
    decision = council.propose(db, chair, pac, title="Plain-language rule")
    outsider = world.user("site_lead")
    with pytest.raises(NotFound):
        council.get(db, outsider, pac, decision.id)
    with pytest.raises(Conflict):
        council.set_published(db, chair, decision, True)   # not decided yet
    council.record_consensus(db, chair, decision, outcome="Every tool gets a plain summary",
                             participant_ids=[chair.id])
    assert council.decisions(db, outsider, pac) == []
    council.set_published(db, chair, decision, True)
    assert council.get(db, outsider, pac, decision.id) is decision
    assert [d.id for d in council.decisions(db, outsider, pac)] == [decision.id]
    assert "Plain-language rule" in login_as("site_lead").get("/decisions/").get_data(as_text=True)


def test_action_items_show_in_the_owners_what_needs_me(db, world, pac, login_as):
    chair, patient = world.user("parent"), world.user("patient")
    decision = council.propose(db, chair, pac, title="Survey families")
    with pytest.raises(Invalid):
        council.add_action(db, chair, decision, description="Draft", owner_id=world.user("site_lead").id,
                           due_on=date(2026, 12, 1))
    with pytest.raises(Forbidden):
        council.add_action(db, patient, decision, description="Draft", owner_id=patient.id, due_on=date(2026, 12, 1))
    item = council.add_action(db, chair, decision, description="Draft the survey", owner_id=patient.id,
                              due_on=date(2026, 12, 1))
    assert db.scalar(select(Notification).where(Notification.user_id == patient.id,
                                                Notification.kind == "action_item")).link == "/actions/"
    home = login_as("patient").get("/").get_data(as_text=True)
    assert "open action items" in home
    assert "Draft the survey" in login_as("patient").get("/actions/").get_data(as_text=True)
    with pytest.raises(Forbidden):
        council.complete_action(db, world.user("clinician"), item.id)
    council.complete_action(db, patient, item.id)
    with pytest.raises(Conflict):
        council.complete_action(db, patient, item.id)
    assert "open action items" not in login_as("patient").get("/").get_data(as_text=True)


def test_voting_through_the_pages_and_a_clear_refusal(db, world, pac, login_as):
    decision = council.propose(db, world.user("parent"), pac, title="Pick a name", method="vote", anonymous=True)
    url = f"/groups/{pac.slug}/decisions/{decision.id}"
    client = login_as("patient")
    response = client.post(url + "/vote", data={"choice": "for"}, follow_redirects=True)
    assert response.status_code == 200 and "Your vote is counted" in response.get_data(as_text=True)
    again = client.post(url + "/vote", data={"choice": "against"})
    assert again.status_code == 409 and "already voted" in again.get_data(as_text=True)
    assert _tallies(db, decision) == {"for": 1, "against": 0, "abstain": 0}
    proposed = login_as("clinician").post(f"/groups/{pac.slug}/decisions",
                                          data={"title": "Try a vote", "method": "vote"})
    assert proposed.status_code == 302
    assert db.scalar(select(Decision).where(Decision.title == "Try a vote")).options == ["for", "against", "abstain"]
