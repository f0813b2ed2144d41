from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import EmailField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.forms import MultiCheckboxField, choices
from content.library import AUDIENCES, LANGUAGES, MAX_BODY, MAX_SUMMARY, MAX_TITLE, ResourceType

TYPE_LABELS = {
    ResourceType.HANDBOOK: _l("Handbook"), ResourceType.PREVISIT_TEMPLATE: _l("Previsit-planning template"),
    ResourceType.DECISION_AID: _l("Shared decision-making tool"), ResourceType.BINDER_SECTION: _l("Parent binder section"),
    ResourceType.TRANSITION: _l("Transition material"), ResourceType.NEWLY_DIAGNOSED: _l("Newly-diagnosed guide"),
    ResourceType.POPULATION_ALGORITHM: _l("Population-management algorithm"), ResourceType.OTHER: _l("Other"),
}
AUDIENCE_LABELS = {"patients": _l("Patients"), "parents": _l("Parents"), "teens": _l("Teens"),
                   "clinicians": _l("Clinicians")}


class MetaFields:
    type = SelectField(_l("Type"), choices=choices((t.value, label) for t, label in TYPE_LABELS.items()))
    audience = MultiCheckboxField(_l("Who it is for"), choices=choices(AUDIENCE_LABELS.items()))
    language = SelectField(_l("Language"), choices=choices(LANGUAGES.items()))
    tags = StringField(_l("Tags (optional, separated by commas)"), validators=[Length(max=500)])


class EditorForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(_l("Give the resource a title.")), Length(max=MAX_TITLE)])
    body = TextAreaField(_l("Text (Markdown)"), validators=[Length(max=MAX_BODY)],
                         description=_l("Headings with ##, lists with -, checklists with - [ ], tables with |, "
                                        "footnotes with [^1]."))
    summary = StringField(_l("What did you change? (one line)"), validators=[Length(max=MAX_SUMMARY)])
    role = SelectField(_l("You write as"))
    base_revision_id = HiddenField()


class NewResourceForm(EditorForm, MetaFields):
    translation_of = HiddenField()


class MetaForm(FlaskForm, MetaFields):
    pass


class CommentForm(FlaskForm):
    body = TextAreaField(_l("Comment"), validators=[DataRequired(_l("Write a comment first.")), Length(max=10000)])
    anchor = SelectField(_l("About"), validators=[Optional()])
    role = SelectField(_l("You comment as"))


class CoauthorForm(FlaskForm):
    email = EmailField(_l("Co-author's e-mail address"), validators=[DataRequired(_l("Enter an e-mail address."))])


class ReviewForm(FlaskForm):
    decision = SelectField(_l("Your review"), choices=choices([("approve", _l("Approve for publication")),
                                                               ("request_changes", _l("Ask for changes"))]))
    comment = TextAreaField(_l("Comment (needed when you ask for changes)"), validators=[Length(max=10000)])
    role = SelectField(_l("You review as"))


class DecisionForm(FlaskForm):
    comment = TextAreaField(_l("Comment for the person who suggested it"), validators=[Length(max=10000)])
    merged_body = TextAreaField(_l("Merged text"), validators=[Length(max=MAX_BODY)])


class AdoptForm(FlaskForm):
    site = SelectField(_l("Site"))
    since = StringField(_l("In use since (YYYY-MM)"), validators=[DataRequired(_l("Give the month, e.g. 2025-09."))])


class AttachmentForm(FlaskForm):
    file = FileField(_l("File (PDF, PNG or JPEG, up to 10 MB)"), validators=[FileRequired(_l("Choose a file."))])
    label = StringField(_l("Label"), validators=[Length(max=200)])
