from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.forms import MultiCheckboxField, choices
from content.narratives import MAX_BODY, MAX_TITLE, TAGS

VISIBILITY_CHOICES = choices([("public", _l("Anyone on the web")), ("network", _l("Members of the network")),
                              ("site", _l("Members of my site only"))])
BYLINE_CHOICES = choices([("full", _l("My full name")), ("first", _l("My first name only")),
                          ("anonymous", _l("Anonymous (“a parent at a network site”)"))])


class StoryForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(_l("Give your story a title.")), Length(max=MAX_TITLE)])
    body = TextAreaField(_l("Your story (Markdown)"), validators=[Length(max=MAX_BODY)])
    tags = MultiCheckboxField(_l("Tags"), choices=choices((str(t), _l(t)) for t in TAGS))
    byline = RadioField(_l("How you appear"), choices=BYLINE_CHOICES, default="first")
    visibility = RadioField(_l("Who may read it"), choices=VISIBILITY_CHOICES, default="network")
    role = SelectField(_l("You tell it as"))


class EditStoryForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(_l("Give your story a title.")), Length(max=MAX_TITLE)])
    body = TextAreaField(_l("Your story (Markdown)"), validators=[Length(max=MAX_BODY)])
    tags = MultiCheckboxField(_l("Tags"), choices=choices((str(t), _l(t)) for t in TAGS))


class NarrowForm(FlaskForm):
    visibility = SelectField(_l("Who may read it"), choices=VISIBILITY_CHOICES)
    byline = SelectField(_l("How you appear"), choices=BYLINE_CHOICES)


class CommentForm(FlaskForm):
    body = TextAreaField(_l("Your comment"), validators=[DataRequired(_l("Write a comment first.")), Length(max=4000)])


class ReportForm(FlaskForm):
    reason = TextAreaField(_l("What is wrong?"), validators=[DataRequired(_l("Say what is wrong.")), Length(max=1000)])


class ModerationForm(FlaskForm):
    decision = RadioField(_l("Decision"), choices=choices([("approve", _l("Approve")),
                                                           ("request_changes", _l("Ask the author for changes")),
                                                           ("decline", _l("Decline"))]))
    note = TextAreaField(_l("Note for the author (needed to ask for changes or decline)"), validators=[Length(max=1000)])
