"""app.web.form_post: the one place for the form-post rule (validate, call the service; on the service's
Invalid roll back, mark the form in the reader's language, 422)."""
from __future__ import annotations

import pytest
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import StringField
from wtforms.validators import DataRequired

from app.extensions import get_db
from app.web import form_post
from network.errors import Conflict, Invalid
from network.i18n import N_
from network.people import Site


class NameForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Enter a name.")])


def _sites_named(slug: str) -> int:
    return get_db().scalar(select(func.count()).select_from(Site).where(Site.slug == slug))


def test_a_page_asked_for_is_shown_with_200_and_calls_nothing(app):
    called = []
    with app.test_request_context("/", method="GET"):
        posted = form_post(NameForm(), lambda: called.append(1))
        plain = form_post(None, lambda: called.append(1))
    assert (posted.ok, posted.status, posted.errors) == (False, 200, {})
    assert (plain.ok, plain.status) == (False, 200)
    assert called == []


def test_a_form_that_does_not_validate_is_422_and_the_service_is_not_called(app):
    called = []
    with app.test_request_context("/", method="POST", data={"name": ""}):
        form = NameForm()
        posted = form_post(form, lambda: called.append(1))
        assert form.name.errors == ["Enter a name."]
    assert (posted.ok, posted.status) == (False, 422)
    assert called == []


def test_an_accepted_post_returns_what_the_service_returned(app):
    with app.test_request_context("/", method="POST", data={"name": "Ward 9"}):
        form = NameForm()
        posted = form_post(form, lambda: form.name.data.upper())
    assert (posted.ok, posted.result, posted.status, posted.error) == (True, "WARD 9", 200, None)


def test_a_refusal_rolls_back_marks_the_form_and_answers_422(app):
    def service():
        get_db().add(Site(slug="half-made", name="Half made", city="Nowhere", code=9901))
        get_db().flush()
        raise Invalid({"name": [N_("Choose an owner from the group's members.")], "elsewhere": ["Not a field."]})

    with app.test_request_context("/", method="POST", data={"name": "Ward 9"}):
        form = NameForm()
        posted = form_post(form, service)
        assert _sites_named("half-made") == 0  # nothing half-saved
        assert form.name.errors == ["Choose an owner from the group's members."]
        assert form.form_errors == ["Not a field."]  # a message for no field goes to the form as a whole
    assert (posted.ok, posted.status) == (False, 422)
    assert isinstance(posted.error, Invalid)


def test_the_messages_are_in_the_readers_language(app):
    def service():
        raise Invalid({"owner": [N_("Choose an owner from the group's members.")]})

    with app.test_request_context("/", method="POST", data={"name": "x"}, headers={"Accept-Language": "es"}):
        form = NameForm()
        posted = form_post(form, service)
        assert form.form_errors == ["Elige como responsable a un miembro del grupo."]
        assert posted.errors == {"owner": ["Elige como responsable a un miembro del grupo."]}


def test_a_plain_html_form_gets_its_errors_as_a_dict(app):
    def service():
        get_db().add(Site(slug="half-made", name="Half made", city="Nowhere", code=9902))
        get_db().flush()
        raise Invalid({"note": ["Too long."]})

    with app.test_request_context("/", method="POST", data={"note": "x" * 10}):
        posted = form_post(None, service)
        assert _sites_named("half-made") == 0
    assert (posted.ok, posted.status, posted.errors) == (False, 422, {"note": ["Too long."]})


def test_other_domain_errors_are_left_to_the_view(app):
    def service():
        raise Conflict("Someone saved first.")

    with app.test_request_context("/", method="POST", data={"name": "x"}):
        with pytest.raises(Conflict):
            form_post(NameForm(), service)
