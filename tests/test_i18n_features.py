"""The features merged last speak Spanish too: a Spanish-speaking member refused by the data-use agreement,
tests of change, the council, contact between members, adult care, closing an account and safeguarding sees
the refusal in Spanish (no English left), and nothing changed. Their notifications are read in Spanish."""
from __future__ import annotations

import html
import re
from datetime import date

from sqlalchemy import func, select

from content import contact, pdsa, safeguarding
from network import agreements, clock, council, groups, minors
from network.agreements import AgreementAcceptance
from network.council import Tally
from network.notifications import Notification
from network.people import CareLink, User
from tests.conftest import TEST_PASSWORD
from tests.outcome_fixtures import add_measure

TODAY = date(2026, 11, 26)


def _spanish(db, user):
    user.locale = "es"
    db.commit()


def _text(response) -> str:
    page = re.sub(r"<(script|style|svg)\b.*?</\1>", " ", response.get_data(as_text=True), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _count(db, model) -> int:
    return db.scalar(select(func.count(model.id)))


def test_accepting_a_stale_agreement_version_is_refused_in_spanish(db, world, login_as):
    leader = world.user("network_leader", "network")
    agreements.publish(db, leader, body="# Agreement\n\nVersion 1.")
    agreements.publish(db, leader, body="# Agreement\n\nVersion 2.")
    _spanish(db, world.user("parent"))
    response = login_as("parent").post("/agreement/accept", data={"version": "1"})
    assert response.status_code == 409
    text = _text(response)
    assert ("La versión 1 no es el acuerdo de uso de datos vigente: lo es la versión 2. Lee la versión vigente y "
            "acéptala; no se registró nada.") in text
    assert "is not the current data-use agreement" not in text
    assert _count(db, AgreementAcceptance) == 0


def test_an_agreement_without_text_is_refused_in_spanish_on_the_form(db, world, login_as):
    leader = world.user("network_leader", "network")
    _spanish(db, leader)
    response = login_as("network_leader", "network").post("/agreement/manage", data={"body": "  ", "summary": ""})
    assert response.status_code == 422
    text = _text(response)
    assert "Escribe el texto del acuerdo." in text and "Write the agreement's text." not in text
    assert agreements.current(db) is None


def test_a_cycle_ending_before_it_starts_is_refused_in_spanish(db, world, login_as):
    add_measure(db)
    _spanish(db, world.user("site_lead"))
    form = {"title": "Huddle", "aim": "Plans", "change": "Huddle", "prediction": "Plans rise",
            "start_month": "2025-03", "end_month": "2025-02", "measures": ["remission"]}
    response = login_as("site_lead").post(f"/pdsa/sites/{world.own.slug}/new", data=form)
    assert response.status_code == 422
    text = _text(response)
    assert "El mes de fin no puede ser anterior al mes de inicio." in text
    assert "The end month cannot be before the start month." not in text
    assert 'placeholder="AAAA-MM"' in response.get_data(as_text=True)
    assert _count(db, pdsa.Cycle) == 0


def test_voting_twice_is_refused_in_spanish(db, world, login_as):
    leader = world.user("network_leader", "network")
    group = groups.create(db, leader, name="Patient Advisory Council")
    groups.add_member(db, leader, group, world.user("parent").email, "chair")
    groups.add_member(db, leader, group, world.user("patient").email, "member")
    decision = council.propose(db, world.user("parent"), group, title="Pick a name", method="vote")
    council.vote(db, world.user("patient"), decision, "for")
    _spanish(db, world.user("patient"))
    response = login_as("patient").post(f"/groups/{group.slug}/decisions/{decision.id}/vote",
                                        data={"choice": "against"})
    assert response.status_code == 409
    text = _text(response)
    assert "Ya has votado en esto." in text and "already voted" not in text
    tallies = dict(db.execute(select(Tally.option, Tally.votes).where(Tally.decision_id == decision.id)).all())
    assert tallies == {"for": 1, "against": 0, "abstain": 0}


def test_an_action_item_notification_reads_in_spanish(db, world, login_as):
    leader = world.user("network_leader", "network")
    group = groups.create(db, leader, name="Patient Advisory Council")
    groups.add_member(db, leader, group, world.user("parent").email, "chair")
    groups.add_member(db, leader, group, world.user("patient").email, "member")
    decision = council.propose(db, world.user("parent"), group, title="Survey families")
    council.add_action(db, world.user("parent"), decision, description="Draft the survey",
                       owner_id=world.user("patient").id, due_on=date(2026, 12, 1))
    stored = db.scalar(select(Notification).where(Notification.kind == "action_item"))
    assert stored.text == "Patient Advisory Council: Draft the survey (due 2026-12-01)"  # the English as before
    _spanish(db, world.user("patient"))
    text = _text(login_as("patient").get("/notifications"))
    assert "Patient Advisory Council: Draft the survey (fecha límite: 2026-12-01)" in text and "(due " not in text


def test_a_contact_request_to_someone_not_opted_in_is_refused_in_spanish(db, world, login_as):
    asker, other = world.user("parent"), world.user("clinician", "other")
    asker.in_directory, asker.offers = True, "Happy to talk."
    _spanish(db, asker)
    response = login_as("parent").post(f"/connections/ask/{other.id}", data={"note": "Hello"})
    assert response.status_code == 403
    text = _text(response)
    assert "Este miembro no acepta solicitudes de contacto." in text and "not taking contact requests" not in text
    assert _count(db, contact.Connection) == 0


def test_a_contact_request_notification_reads_in_spanish(db, world, login_as):
    asker, helper = world.user("parent", "other"), world.user("parent")
    for user in (asker, helper):
        user.in_directory, user.offers = True, "Happy to talk."
    db.commit()
    contact.ask(db, asker, helper.id, note="Hello", today=TODAY)
    stored = db.scalar(select(Notification).where(Notification.user_id == helper.id))
    assert stored.text == f"{asker.shown_name} asks to connect with you."
    _spanish(db, helper)
    text = _text(login_as("parent").get("/notifications"))
    assert f"{asker.shown_name} pide conectar contigo." in text and "asks to connect" not in text


def test_renewing_a_parents_access_before_18_is_refused_in_spanish(db, world, login_as):
    patient = world.user("patient")
    patient.birth_year, patient.birth_month = 2008, 12
    _spanish(db, patient)
    link = db.scalar(select(CareLink).where(CareLink.patient_id == patient.id))
    with clock.frozen(date(2026, 11, 10)):
        response = login_as("patient").post(f"/me/adult-care/{link.id}/renew")
    assert response.status_code == 409
    text = _text(response)
    assert ("Tus padres conservan su acceso hasta que cumplas 18 años; a partir de entonces puedes decidir tú."
            in text) and "until you turn 18" not in text
    db.refresh(link)
    assert link.adult_access_renewed_at is None


def test_the_turning_18_notice_keeps_its_english_and_reads_in_spanish(db, world, login_as):
    patient = world.user("patient")
    patient.birth_year, patient.birth_month = 2008, 12
    db.commit()
    with clock.frozen(date(2026, 11, 10)):
        assert minors.send_transition_notices(db) >= 1
    stored = db.scalar(select(Notification).where(Notification.user_id == patient.id,
                                                  Notification.kind == "turning_18"))
    assert stored.text.startswith("You count as an adult here from 1 December 2026.")
    _spanish(db, patient)
    text = _text(login_as("patient").get("/notifications"))
    assert "Aquí cuentas como adulto a partir del" in text and "You count as an adult" not in text
    assert "December" not in text


def test_closing_an_account_with_a_wrong_password_is_refused_in_spanish(db, world, login_as):
    _spanish(db, world.user("parent"))
    response = login_as("parent").post("/me/data/close", data={"password": TEST_PASSWORD + "x", "choice": "delete"})
    assert response.status_code == 422
    text = _text(response)
    assert "Esa no es tu contraseña; no se ha cambiado nada." in text and "That is not your password" not in text
    assert db.get(User, world.user("parent").id).is_active


def test_a_flag_without_a_concern_is_refused_in_spanish_and_the_default_guidance_is_spanish(db, world, login_as):
    from tests.test_safety import _published_story

    story = _published_story(db, world)
    _spanish(db, world.user("parent"))
    client = login_as("parent")
    refused = client.post(f"/safety/flag/story/{story.id}", data={"concern": ""})
    assert refused.status_code == 422 and _count(db, safeguarding.SafetyFlag) == 0
    assert "Elige qué te preocupa." in _text(refused) and "Choose what worries you." not in _text(refused)
    guidance = _text(client.get("/safety/help"))
    assert "Si alguien está en peligro inmediato" in guidance and "immediate danger" not in guidance
