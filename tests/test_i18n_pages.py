"""The Spanish interface end to end: the domain's own sentences (errors, notifications, chart signals), dates,
status labels and the page scripts' words reach a Spanish reader in Spanish; English readers keep English."""
from __future__ import annotations

import html
import io
import json
import re
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from sqlalchemy import select

from content import library, narratives
from network import groups, notifications, people, sessions
from network.i18n import N_
from network.notifications import Notification
from tests.library_fixtures import make_resource, publish
from tests.outcome_fixtures import add_figures, add_measure, months
from tests.session_fixtures import make_session, register_all

ROOT = Path(__file__).resolve().parents[1]


def _spanish(db, world, role: str, where: str = "own"):
    world.user(role, where).locale = "es"
    db.commit()


def _visible_text(page: str) -> str:
    """What a reader sees: no tags, attributes, scripts, styles or drawn charts."""
    page = re.sub(r"<(script|style|svg)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


# --- domain errors -------------------------------------------------------------------------------

def test_a_bad_csv_import_is_explained_in_spanish(db, world, login_as):
    add_measure(db)
    _spanish(db, world, "site_lead")
    csv = (b"site,measure,month,numerator,denominator\n"
           b"own-site,remission,2026-01,50,100\nown-site,remission,2026-02,500,100\nnowhere,remission,2026-03,1,2\n")
    response = login_as("site_lead").post("/outcomes/upload", data={"file": (io.BytesIO(csv), "figures.csv")},
                                          content_type="multipart/form-data")
    assert response.status_code == 422
    text = _visible_text(response.get_data(as_text=True))
    assert "El numerador (500) es mayor que el denominador (100)." in text
    assert "Centro desconocido «nowhere»; usa el nombre corto del centro." in text
    assert "fila 3: numerator" in text and "fila 4: site" in text
    assert "is larger than the denominator" not in text and "row 3" not in text and "Unknown site" not in text


def test_the_same_import_stays_english_for_an_english_reader(db, world, login_as):
    add_measure(db)
    csv = b"site,measure,month,numerator,denominator\nown-site,remission,2026-02,500,100\n"
    response = login_as("site_lead").post("/outcomes/upload", data={"file": (io.BytesIO(csv), "figures.csv")},
                                          content_type="multipart/form-data")
    text = _visible_text(response.get_data(as_text=True))
    assert "The numerator (500) is larger than the denominator (100)." in text and "row 2: numerator" in text


def test_a_form_refused_by_the_service_shows_its_message_in_spanish(db, world, login_as):
    """The WTForms path (apply_errors): the form passes, the service refuses a taken short name."""
    _spanish(db, world, "network_leader", "network")
    response = login_as("network_leader").post("/admin/sites", data={"name": "Another", "slug": "own-site"})
    assert response.status_code == 422
    text = _visible_text(response.get_data(as_text=True))
    assert "Otro centro ya usa este nombre corto." in text
    assert "Another site already uses this short name." not in text


def test_domain_errors_on_error_pages_and_in_json_are_spanish(db, world, login_as):
    _spanish(db, world, "parent")
    client = login_as("parent")
    missing = client.get("/library/no-such-resource")
    assert missing.status_code == 404 and "No existe ese recurso." in missing.get_data(as_text=True)
    as_json = client.get("/library/no-such-resource", headers={"Accept": "application/json"})
    assert as_json.status_code == 404
    assert as_json.get_json()["error"]["message"] == "No existe ese recurso."


def test_numbers_in_domain_messages_follow_the_locale(app):
    from app.web import localize

    text = N_("Use at most %(maximum)s characters.", maximum=20000)
    assert text == "Use at most 20,000 characters."
    with app.test_request_context("/", headers={"Accept-Language": "es"}):
        assert localize(text) == "Usa como máximo 20.000 caracteres."
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert localize(text) == "Use at most 20,000 characters."


# --- stored and computed sentences -----------------------------------------------------------------

def test_notifications_render_in_each_readers_language(db, world, login_as):
    resource = make_resource(db, world.user("clinician"), title="School letter")
    publish(db, world, resource)
    library.add_coauthor(db, world.user("clinician"), resource.id, world.user("parent").email)
    library.add_comment(db, world.user("site_lead"), resource.id, body="Looks good")
    # a row written before notifications kept their template: shown as stored
    db.add(Notification(user_id=world.user("parent").id, kind="action_item", text="An older English notice."))
    db.commit()
    stored = db.scalar(select(Notification).where(Notification.user_id == world.user("parent").id,
                                                  Notification.kind == "resource_comment"))
    assert stored.text == "A new comment on “School letter”." and stored.message["template"]

    english = _visible_text(login_as("clinician").get("/notifications").get_data(as_text=True))
    assert "A new comment on “School letter”." in english
    _spanish(db, world, "parent")
    spanish = _visible_text(login_as("parent").get("/notifications").get_data(as_text=True))
    assert "Un comentario nuevo en «School letter»." in spanish
    assert "A new comment on" not in spanish
    assert "An older English notice." in spanish


def test_chart_signals_and_bright_spots_are_spanish(db, world, login_as):
    measure = add_measure(db)
    add_figures(db, world.own, measure, [(m, 40 if i < 12 else 80, 100) for i, m in enumerate(months(2023, 24))])
    _spanish(db, world, "clinician")
    client = login_as("clinician")
    page = _visible_text(client.get(f"/outcomes/{measure.key}").get_data(as_text=True))
    assert "12 meses seguidos por debajo de la línea central" in page and "fuera de los límites de control" in page
    assert "in a row below the centre line" not in page and "outside the control limits" not in page
    spots = _visible_text(client.get("/bright-spots").get_data(as_text=True))
    assert "ha estado mejor que su nivel habitual durante los últimos 6 meses" in spots
    assert "has been better than its usual level" not in spots


def test_story_bylines_and_tags_are_spanish(db, world, login_as):
    story = narratives.tell(db, world.user("parent"), title="Our first year", body="It got easier.",
                            tags=["school"], visibility="network", byline_choice="anonymous")
    narratives.moderate(db, world.user("moderator", "network"), story.id, decision="approve")
    _spanish(db, world, "clinician")
    page = _visible_text(login_as("clinician").get(f"/stories/{story.id}").get_data(as_text=True))
    assert "Una madre o un padre de un centro de la red" in page and "colegio" in page
    assert "A parent at a network site" not in page


# --- dates ---------------------------------------------------------------------------------------

def test_session_dates_are_written_the_spanish_way(db, world, login_as):
    item = make_session(db, world, starts_in=timedelta(days=3))
    _spanish(db, world, "parent")
    client = login_as("parent")
    start = item.starts_at.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo("Europe/London"))
    spanish_when = format_datetime(start, "EEE d MMM y, HH:mm", tzinfo=start.tzinfo, locale="es")
    english_when = format_datetime(start, "EEE d MMM y, HH:mm", tzinfo=start.tzinfo, locale="en")
    assert spanish_when != english_when
    listing = client.get("/sessions/").get_data(as_text=True)
    assert spanish_when in listing and english_when not in listing
    home = client.get("/").get_data(as_text=True)
    assert format_date(item.starts_at.date(), "medium", locale="es") in home
    assert login_as("clinician").get("/sessions/").get_data(as_text=True).count(english_when) >= 1


# --- status labels -------------------------------------------------------------------------------

def test_admin_and_moderation_statuses_are_translated(db, world, login_as):
    leader = world.user("network_leader", "network")
    people.invite(db, leader, email="new.parent@example.org", full_name="New Parent", role="parent",
                  site_id=world.own.id, secret="test-secret", link_for=lambda token: f"/join/{token}")
    narratives.tell(db, world.user("parent"), title="Waiting", body="A story.", tags=[], visibility="network",
                    byline_choice="first")
    item = make_session(db, world, starts_in=timedelta(days=2))
    register_all(db, world, item)
    _spanish(db, world, "network_leader", "network")
    _spanish(db, world, "moderator", "network")

    invitations = _visible_text(login_as("network_leader").get("/admin/invitations").get_data(as_text=True))
    assert "pendiente" in invitations and not re.search(r"\bpending\b", invitations)
    manage = _visible_text(login_as("network_leader").get(f"/sessions/{item.slug}/manage").get_data(as_text=True))
    assert "inscrito" in manage and not re.search(r"\bregistered\b", manage)
    queue = _visible_text(login_as("moderator").get("/moderation/").get_data(as_text=True))
    assert "miembros de la red" in queue and not re.search(r"·\s*network\b", queue)


def test_every_status_the_domain_can_show_has_a_label():
    from app.domain_labels import STATUS_LABELS
    from content.narratives import Visibility
    from network.sessions import RegistrationStatus

    assert set(STATUS_LABELS["registration"]) == {s.value for s in RegistrationStatus}
    assert set(STATUS_LABELS["visibility"]) == {v.value for v in Visibility}
    invitation_source = (ROOT / "network" / "people.py").read_text()
    status_body = invitation_source.split("def status(self) -> str:", 1)[1].split("\n\n", 1)[0]
    assert set(re.findall(r'return "(\w+)"', status_body)) == set(STATUS_LABELS["invitation"])


# --- the page scripts ----------------------------------------------------------------------------

def test_the_room_page_gives_its_script_spanish_words(db, world, login_as):
    item = make_session(db, world)
    register_all(db, world, item)
    _spanish(db, world, "parent")
    page = login_as("parent").get(f"/sessions/{item.slug}/room").get_data(as_text=True)
    block = re.search(r'<div id="ui-strings" hidden data-strings="([^"]*)"></div>', page)
    assert block, "the room page has no ui-strings element"
    strings = json.loads(html.unescape(block.group(1)))
    assert strings["upvote"] == "Votar a favor" and strings["connected"] == "Conectado."
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)  # data, not inline script
    assert strings["here"] == "%(n)s presentes" and strings["role:parent"] == "Madre, padre o cuidador/a"


def test_every_word_the_scripts_show_comes_from_the_data_block(app):
    """Each t("key", "English") in room.js / editor.js has its key in the block, with the same English; no other
    English sentence is written into the page by the scripts."""
    from app.js_strings import ui_strings

    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        english = ui_strings()
    for name in ("room.js", "editor.js"):
        source = (ROOT / "app" / "static" / "js" / name).read_text()
        calls = re.findall(r't\("([\w:]+)", "([^"]+)"', source)
        assert calls, name
        for key, fallback in calls:
            assert english[key] == fallback, (name, key)
        without_calls = re.sub(r't\("[\w:]+", "[^"]+"', "", source)
        # a quoted string with two words or more, capitalised, is a sentence a reader would see
        assert not re.findall(r'"[A-Z][a-z]+ [a-z][^"]*"', without_calls), name


# --- a Spanish member's walk through the app -----------------------------------------------------

#: words of the interface itself (layout, navigation, page furniture, status codes): none may be English
ENGLISH_UI = ("Sign out", "Skip to main content", "Search", "Notifications", "Home", "Library", "Stories",
              "Sessions", "Outcomes", "Profile", "Language", "Change", "Save", "unread", "Mark all as read",
              "Nothing yet", "Coming up", "Bright spots", "Your profile", "Groups", "People", "Tell your story",
              "Any", "Show", "registered", "pending", "published", "Published", "Draft", "In review", "members",
              "helped", "new", "Centre line", "Control limits", "Data table", "Download", "What needs you",
              "Sites", "My care", "Who may read it", "results", "None yet")


def test_a_spanish_member_meets_no_english_interface_words(db, world, login_as):
    clinician, parent = world.user("clinician"), world.user("parent")
    resource = make_resource(db, clinician, title="Clinic guide")
    publish(db, world, resource)
    library.add_comment(db, world.user("site_lead"), resource.id, body="Useful")
    story = narratives.tell(db, parent, title="Our first year", body="It got easier.", tags=["school"],
                            visibility="network", byline_choice="first")
    narratives.moderate(db, world.user("moderator", "network"), story.id, decision="approve")
    item = make_session(db, world, starts_in=timedelta(days=5))
    sessions.register(db, clinician, item.id)
    group = groups.create(db, world.user("network_leader", "network"), name="Transition group", purpose="Plans")
    groups.add_member(db, world.user("network_leader", "network"), group, clinician.email)
    measure = add_measure(db)
    add_figures(db, world.own, measure, [(m, 40 + i, 100) for i, m in enumerate(months(2023, 24))])
    notifications.notify(db, [clinician.id], "action_item", N_("You chair the %(group)s: plan its next meeting.",
                                                               group="Transition group"), "/groups/")
    clinician.locale, clinician.in_directory = "es", True
    db.commit()

    client = login_as("clinician")
    pages = ["/", "/library/", f"/library/{resource.slug}", "/stories/", f"/stories/{story.id}", "/sessions/",
             f"/sessions/{item.slug}", "/outcomes/", f"/outcomes/{measure.key}", "/profile", "/notifications",
             "/notifications/settings", "/groups/", f"/groups/{group.slug}", "/people/", "/search?q=guide",
             "/bright-spots", "/sites/"]
    found = {}
    for path in pages:
        response = client.get(path, follow_redirects=True)
        assert response.status_code == 200, path
        text = _visible_text(response.get_data(as_text=True))
        assert "Cerrar sesión" in text, path
        english = [word for word in ENGLISH_UI if re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text)]
        if english:
            found[path] = english
    assert not found, found
