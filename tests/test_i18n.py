"""The Spanish interface: a complete catalog, placeholders kept, and pages that follow the chosen language.

The compiled catalogs (.mo) are not committed: `make run` / `make test` build them, and the session
fixture below compiles any that are missing or older than their .po, so `pytest` alone works too.
Extraction (the same command as in the report / README; babel.cfg adds the `N_` keyword for network/ and
content/, whose domain sentences are marked with network.i18n.N_):
    pybabel extract -F babel.cfg -k _l -k lazy_gettext -o app/translations/messages.pot .
    pybabel update -i app/translations/messages.pot -d app/translations
"""
from __future__ import annotations

import os
import re
import tempfile
from datetime import date
from pathlib import Path

import pytest
from babel.dates import format_date
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "app" / "translations"
SPANISH_PO = TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}  # + babel.cfg's N_
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]")


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogs():
    """Compile every .po whose .mo is missing or stale (atomically: another run may be reading it)."""
    for po_path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as fh:
            catalog = read_po(fh, locale=po_path.parent.parent.name)
        fd, tmp = tempfile.mkstemp(dir=mo_path.parent, suffix=".mo.tmp")
        with os.fdopen(fd, "wb") as out:
            write_mo(out, catalog)
        os.replace(tmp, mo_path)


@pytest.fixture(scope="module")
def spanish():
    with SPANISH_PO.open("rb") as fh:
        return read_po(fh, locale="es")


def _messages(catalog):
    return [m for m in catalog if m.id]


def _forms(message) -> list[str]:
    return list(message.string) if isinstance(message.string, (list, tuple)) else [message.string]


def _ids(message) -> list[str]:
    return list(message.id) if isinstance(message.id, (list, tuple)) else [message.id]


# --- the catalog ---------------------------------------------------------------------------------

def test_spanish_catalog_is_complete_and_not_fuzzy(spanish):
    messages = _messages(spanish)
    assert len(messages) > 900
    untranslated = [m.id for m in messages if not all(form.strip() for form in _forms(m))]
    fuzzy = [m.id for m in messages if m.fuzzy]
    assert not untranslated, f"{len(untranslated)} untranslated, e.g. {untranslated[:5]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy, e.g. {fuzzy[:5]}"
    assert not spanish.fuzzy, "the catalog header is marked fuzzy"
    assert spanish.num_plurals == 2
    assert all(len(_forms(m)) == 2 for m in messages if m.pluralizable)


def test_every_placeholder_survives_translation(spanish):
    problems = []
    for m in _messages(spanish):
        wanted = set().union(*(PLACEHOLDER.findall(i) for i in _ids(m)))
        for form in _forms(m):
            got = set(PLACEHOLDER.findall(form))
            if got != wanted:
                problems.append((m.id, sorted(wanted), sorted(got)))
            # templates always %-format (Jinja's new-style gettext): a message that formats in English must
            # format in Spanish too (no stray single %)
            values = {name: "x" for name in wanted | {"num"}}
            try:
                m.id[0] % values if isinstance(m.id, tuple) else m.id % values
            except (ValueError, TypeError, KeyError):
                continue
            try:
                form % values
            except (ValueError, TypeError, KeyError) as exc:
                problems.append((m.id, "does not format", str(exc)))
    assert not problems, problems[:10]


def _extracted() -> dict[str, set[str]]:
    """Message ids in the code, by top-level directory, extracted with babel.cfg's own mapping and options."""
    from babel.messages.frontend import parse_mapping_cfg

    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found: dict[str, set[str]] = {}
    for _file, _line, msgid, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS, comment_tags=(), strip_comment_tags=True):
        if _file.startswith("app/translations/"):
            continue
        found.setdefault(_file.split("/", 1)[0], set()).add(msgid if isinstance(msgid, str) else msgid[0])
    return found


def test_catalog_has_every_message_in_the_code(spanish):
    """A string wrapped since the last `pybabel update` fails here until it is extracted and translated."""
    extracted = _extracted()
    in_code = extracted["app"] | extracted["network"] | extracted["content"]
    in_catalog = {m.id if isinstance(m.id, str) else m.id[0] for m in _messages(spanish)}
    missing = sorted(in_code - in_catalog)
    assert not missing, (f"{len(missing)} message(s) not in the Spanish catalog, e.g. {missing[:5]}: run "
                         "pybabel extract/update (see this module's docstring) and translate them")


def test_babel_cfg_extracts_the_web_layer_and_the_domains_marked_sentences():
    """app/ with the usual keywords; network/ and content/ add `N_` (network.i18n), and nothing else is read."""
    cfg = (ROOT / "babel.cfg").read_text()
    assert "[python: app/**.py]" in cfg and "[jinja2: app/templates/**.html]" in cfg
    assert "extensions" not in cfg
    extracted = _extracted()
    assert set(extracted) == {"app", "network", "content"}, sorted(extracted)
    assert "Keep it under %(maximum)s characters." in extracted["network"]  # N_ with a placeholder
    assert "Give your story a title." in extracted["content"]
    # only N_-marked domain strings: a log line or an SQL fragment never reaches the translators
    assert not any(m.startswith(("SELECT", "EXISTS")) for m in extracted["content"] | extracted["network"])


def test_domain_modules_mark_sentences_without_flask():
    """network/ and content/ mark with network.i18n.N_, which imports nothing from Flask or Babel."""
    for folder in ("network", "content"):
        for path in (ROOT / folder).glob("*.py"):
            source = path.read_text()
            assert not re.search(r"^\s*(from|import) (flask|flask_babel|babel)\b", source, re.M), path
    i18n = (ROOT / "network" / "i18n.py").read_text()
    assert not re.search(r"^(from|import) ", i18n.replace("from __future__", "").replace(
        "from datetime import", "").replace("from typing import", ""), re.M)


def test_a_domain_sentence_is_translated_before_its_params_are_filled():
    from network.i18n import N_, Text, render

    text = N_("Keep it under %(maximum)s characters.", maximum=12000)
    assert text == "Keep it under 12,000 characters." and text.template == "Keep it under %(maximum)s characters."
    spanish = {"Keep it under %(maximum)s characters.": "Debe tener menos de %(maximum)s caracteres."}
    assert render(text, lambda s: spanish.get(s, s), lambda n: f"{n:,}".replace(",", ".")) == \
        "Debe tener menos de 12.000 caracteres."
    nested = N_("%(sentence)s. Would you share?", sentence=N_("Riverside is a bright spot"))
    again = Text.from_json(nested.to_json())
    assert again == nested and again.params["sentence"].template == "Riverside is a bright spot"


# --- pages ---------------------------------------------------------------------------------------

def test_visitor_choosing_spanish_gets_spanish_pages(client):
    assert "Sign in" in client.get("/login").get_data(as_text=True)
    response = client.post("/language", data={"language": "es", "next": "/login"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="es">' in page
    assert "Iniciar sesión" in page and "Contraseña" in page and "¿Has olvidado tu contraseña?" in page
    assert "Sign in" not in page and "Forgotten your password?" not in page
    client.post("/language", data={"language": "en", "next": "/login"})
    assert "Forgotten your password?" in client.get("/login").get_data(as_text=True)


def test_browser_language_is_the_default(client):
    page = client.get("/login", headers={"Accept-Language": "es-ES,es;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert "Iniciar sesión" in page
    page = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert "Sign in" in page


def test_signed_in_users_locale_is_honoured(db, world, login_as):
    patient = world.user("patient")
    patient.locale = "es"
    db.commit()
    page = login_as("patient").get("/").get_data(as_text=True)
    assert '<html lang="es">' in page
    assert "Cerrar sesión" in page and "Inicio" in page and "Historias" in page
    assert "Sign out" not in page

    english = login_as("clinician").get("/").get_data(as_text=True)
    assert "Sign out" in english and "Cerrar sesión" not in english


def test_choosing_a_language_is_remembered_on_the_account(db, world, login_as):
    client = login_as("parent")
    client.post("/language", data={"language": "es", "next": "/"})
    db.refresh(world.user("parent"))
    assert world.user("parent").locale == "es"
    with client.session_transaction() as session:  # a new visit: only the account remembers
        session.pop("locale", None)
    assert "Cerrar sesión" in client.get("/").get_data(as_text=True)


def test_flash_and_error_pages_are_translated(client):
    client.post("/language", data={"language": "es", "next": "/"})
    page = client.get("/profile", follow_redirects=True).get_data(as_text=True)
    assert "Inicia sesión para ver esta página." in page
    missing = client.get("/no-such-page")
    assert missing.status_code == 404
    assert "No hemos encontrado esa página" in missing.get_data(as_text=True)


def test_dates_follow_the_locale(db, world, login_as):
    """The `month` filter (Babel's format_date) on the library page: "Sep 2025" / "sept 2025"."""
    from tests.library_fixtures import make_resource, publish

    from content import library

    resource = make_resource(db, world.user("clinician"))
    publish(db, world, resource)
    library.adopt(db, world.user("site_lead"), resource.id, site_id=world.own.id, since=date(2025, 9, 1))
    english_month = format_date(date(2025, 9, 1), "MMM yyyy", locale="en")
    spanish_month = format_date(date(2025, 9, 1), "MMM yyyy", locale="es")
    assert english_month != spanish_month

    client = login_as("parent")
    assert english_month in client.get(f"/library/{resource.slug}").get_data(as_text=True)
    client.post("/language", data={"language": "es", "next": "/"})
    page = client.get(f"/library/{resource.slug}").get_data(as_text=True)
    assert spanish_month in page and "Se usa en" in page


def test_charts_speak_spanish(db, world, login_as):
    """Chart legends, month labels and the screen-reader description are translated too."""
    from tests.outcome_fixtures import add_figures, add_measure, months

    measure = add_measure(db)
    add_figures(db, world.own, measure, [(m, 40 + i % 3, 60) for i, m in enumerate(months(2024, 14))])
    client = login_as("clinician")
    assert "Centre line" in client.get(f"/outcomes/{measure.key}").get_data(as_text=True)
    client.post("/language", data={"language": "es", "next": "/"})
    page = client.get(f"/outcomes/{measure.key}").get_data(as_text=True)
    assert "Línea central" in page and "Último valor" in page and "ene 2024" in page
    assert "Centre line" not in page and "Latest value" not in page


def test_domain_labels_translated_at_render_time_are_in_the_catalog(spanish, login_as):
    """Templates call `_(text)` on notification kinds and home-page needs; app/domain_labels.py marks them."""
    from app import domain_labels
    from network.notifications import KINDS

    assert {str(label) for label in domain_labels.NOTIFICATION_KINDS} == set(KINDS.values())
    home = (ROOT / "content" / "home.py").read_text()
    assert set(re.findall(r'Need\("([^"]+)"', home)) == {str(label) for label in domain_labels.HOME_NEEDS}

    client = login_as("parent")
    client.post("/language", data={"language": "es", "next": "/"})
    page = client.get("/notifications/settings").get_data(as_text=True)
    assert "Se acerca una sesión de aprendizaje en la que te has inscrito" in page
    assert "A learning session you registered for is coming up" not in page
