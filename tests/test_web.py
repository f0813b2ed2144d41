"""The web layer: signing in and out, sessions, CSRF, rate limits, headers, error pages and forms."""
from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import func, select

from network import people
from network.people import Invitation, Site, User
from tests.conftest import TEST_PASSWORD, _TestConfig


def post_login(client, email, password, **extra):
    return client.post("/login", data={"email": email, "password": password, **extra})


def test_sign_in_and_out(client, world):
    parent = world.user("parent")
    response = post_login(client, parent.email, TEST_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = client.get("/")
    assert "Our shared aim" in home.get_data(as_text=True)
    assert parent.full_name in home.get_data(as_text=True)
    assert client.post("/logout").status_code == 302
    assert client.get("/profile").status_code == 302


def test_wrong_password_says_so_and_stays_signed_out(client, world):
    response = post_login(client, world.user("parent").email, "not the password")
    assert response.status_code == 422
    assert "do not match an active account" in response.get_data(as_text=True)
    assert client.get("/profile").status_code == 302


def test_sign_in_starts_a_fresh_session(client, world):
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    post_login(client, world.user("parent").email, TEST_PASSWORD)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"].startswith(f"{world.user('parent').id}:")


def test_next_parameter_only_goes_to_this_site(client, world):
    response = client.post("/login?next=//evil.example/x", data={"email": world.user("parent").email,
                                                                  "password": TEST_PASSWORD})
    assert response.headers["Location"] == "/"
    client.post("/logout")
    response = client.post("/login?next=/profile", data={"email": world.user("parent").email,
                                                           "password": TEST_PASSWORD})
    assert response.headers["Location"] == "/profile"


def test_logout_ends_the_session_on_other_devices(app, world):
    phone, laptop = app.test_client(), app.test_client()
    for device in (phone, laptop):
        post_login(device, world.user("parent").email, TEST_PASSWORD)
    phone.post("/logout")
    assert laptop.get("/profile").status_code == 302


def test_idle_session_expires(client, world):
    post_login(client, world.user("parent").email, TEST_PASSWORD)
    with client.session_transaction() as session:
        session["seen_at"] = time.time() - 2 * 3600
    assert client.get("/profile").status_code == 302


def test_deactivated_member_is_signed_out(client, db, world, login_as):
    parent_client = login_as("parent")
    assert parent_client.get("/profile").status_code == 200
    people.set_user_active(db, world.user("network_leader", "network"), world.user("parent").id, False)
    assert parent_client.get("/profile").status_code == 302


class _LimitedConfig(_TestConfig):
    LOGIN_RATE_LIMIT = "3 per minute"


@pytest.mark.parametrize("app_config", [_LimitedConfig])
def test_login_is_rate_limited(client, world):
    for _ in range(3):
        assert post_login(client, world.user("parent").email, "wrong").status_code == 422
    response = post_login(client, world.user("parent").email, TEST_PASSWORD)
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)


class _CsrfConfig(_TestConfig):
    WTF_CSRF_ENABLED = True


@pytest.mark.parametrize("app_config", [_CsrfConfig])
def test_post_without_csrf_token_is_refused(client, db, world, login_as):
    leader = login_as("network_leader")
    before = db.scalar(select(func.count(Site.id)))
    response = leader.post("/admin/sites", data={"name": "Sneaky", "slug": "sneaky"})
    assert response.status_code == 400
    assert "Reload the page" in response.get_data(as_text=True)
    assert db.scalar(select(func.count(Site.id))) == before
    page = leader.get("/admin/sites").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    ok = leader.post("/admin/sites", data={"name": "Open", "slug": "open", "csrf_token": token})
    assert ok.status_code == 302


def test_security_headers(client, world):
    response = post_login(client, world.user("parent").email, TEST_PASSWORD)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_pages_for_members_are_not_cached(login_as):
    assert login_as("parent").get("/").headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path,status", [("/nowhere", 404), ("/admin/", 403)])
def test_error_pages_speak_plainly(login_as, path, status):
    response = login_as("parent").get(path)
    assert response.status_code == status
    body = response.get_data(as_text=True)
    assert "<h1>" in body and "Go to the home page" in body


def test_api_errors_are_json(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json["error"]["status"] == 404 and response.json["error"]["title"]


def test_invitation_flow_through_pages(app, client, db, world, login_as):
    lead = login_as("site_lead")
    response = lead.post("/sites/own-site/invitations",
                         data={"full_name": "Ada Parent", "email": "ada@example.org", "role": "parent",
                               "site": world.own.id})
    assert response.status_code == 302
    mail = people.outbox.messages_to(db, "ada@example.org")[0]
    path = re.search(r"http://[^/]+(/invite/\S+)", mail.body).group(1)
    page = client.get(path)
    assert page.status_code == 200 and "Ada Parent" in page.get_data(as_text=True)
    weak = client.post(path, data={"password": "short", "password_again": "other"})
    assert weak.status_code == 422
    text = weak.get_data(as_text=True)
    assert "at least 12 characters" in text and "The two passwords differ" in text
    assert db.scalar(select(func.count(User.id)).where(User.email == "ada@example.org")) == 0
    done = client.post(path, data={"password": "a long and lovely pass", "password_again": "a long and lovely pass"})
    assert done.status_code == 302
    assert "Ada Parent" in client.get("/").get_data(as_text=True)
    again = app.test_client().get(path)
    assert again.status_code == 400 and "already been used" in again.get_data(as_text=True)


@pytest.mark.parametrize("token", ["garbage", "eyJpZCI6IDF9.AAAA.BBBB"])
def test_tampered_link_page(client, db, token):
    before = db.scalar(select(func.count(Invitation.id)))
    response = client.get(f"/invite/{token}")
    assert response.status_code == 400
    assert "not valid" in response.get_data(as_text=True)
    assert db.scalar(select(func.count(Invitation.id))) == before


@pytest.mark.parametrize("path,data,fields", [
    ("/admin/sites", {"name": "", "slug": "Bad Slug"}, ["Enter a name.", "lower-case letters"]),
    ("/admin/invitations", {"full_name": "", "email": "nope", "role": "wizard", "site": ""},
     ["Enter a name.", "e-mail address like", "Not a valid choice"]),
    ("/admin/people/{parent}/memberships", {"role": "clinician", "site": ""}, ["Choose the site"]),
])
def test_bad_form_input_gives_messages_per_field_and_changes_nothing(db, world, login_as, path, data, fields):
    leader = login_as("network_leader")
    counts = lambda: (db.scalar(select(func.count(Site.id))), db.scalar(select(func.count(Invitation.id))),
                      len(world.user("parent").memberships))
    before = counts()
    response = leader.post(path.format(parent=world.user("parent").id), data=data)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    for message in fields:
        assert message in body
    assert 'aria-invalid="true"' in body or "error-summary" in body
    db.expire_all()
    assert counts() == before


def test_profile_page_saves_and_shows_errors(db, world, login_as):
    parent = login_as("parent")
    bad = parent.post("/profile", data={"full_name": "", "name_display": "full", "bio": "x" * 2001})
    assert bad.status_code == 422
    assert "Enter a name." in bad.get_data(as_text=True)
    good = parent.post("/profile", data={"full_name": "Maria Gómez", "name_display": "first",
                                         "pronouns": "she/her", "profile_roles": ["parent"]})
    assert good.status_code == 302
    db.expire_all()
    assert db.get(User, world.user("parent").id).shown_name == "Maria"


def test_site_lead_manages_own_team(db, world, login_as):
    lead = login_as("site_lead")
    page = lead.get("/sites/own-site/team").get_data(as_text=True)
    assert "Invite someone" in page and "Clinician Own" in page
    assert login_as("clinician").get("/sites/own-site/team").get_data(as_text=True).count("End membership") == 0


def test_healthz(client):
    assert client.get("/healthz").json == {"status": "ok", "database": "ok"}
