"""Forms of library stewardship: review dates, adaptations and their merge, the glossary, translations."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.forms import choices
from content.library import LANGUAGES, MAX_SUMMARY
from content.stewardship import MAX_NOTE, MAX_PLAIN, MAX_TERM, MAX_TERM_NOTE


class ReviewDateForm(FlaskForm):
    """Dates stay strings here: the service says in plain words what is wrong with one."""

    review_by = StringField(_l("Review by (YYYY-MM-DD)"), validators=[DataRequired(_l("Give a date."))],
                            render_kw={"type": "date"})


class ConfirmReviewForm(FlaskForm):
    role = SelectField(_l("You confirm as"))
    note = TextAreaField(_l("Note (optional): what you checked"), validators=[Length(max=MAX_NOTE)])
    next_review_by = StringField(_l("Next review by (optional; 12 months from today if empty)"),
                                 validators=[Optional()], render_kw={"type": "date"})


class AdaptForm(FlaskForm):
    site = SelectField(_l("For your site"))
    role = SelectField(_l("You adapt as"))


class MergeForm(FlaskForm):
    """The two revisions the page showed; the choice for each conflict is read as conflict-<n>."""

    network_revision_id = HiddenField()
    adaptation_revision_id = HiddenField()
    summary = StringField(_l("What did you merge? (one line, optional)"), validators=[Length(max=MAX_SUMMARY)])
    role = SelectField(_l("You merge as"))


class GlossaryForm(FlaskForm):
    term = StringField(_l("Word or phrase to avoid"),
                       validators=[DataRequired(_l("Write the word or phrase to avoid.")), Length(max=MAX_TERM)])
    plain = StringField(_l("Plain alternative"), validators=[DataRequired(_l("Write the plain alternative.")),
                                                            Length(max=MAX_PLAIN)])
    language = SelectField(_l("Language"), choices=choices(LANGUAGES.items()))
    note = StringField(_l("Note (optional)"), validators=[Length(max=MAX_TERM_NOTE)])


class SyncForm(FlaskForm):
    original_revision_id = HiddenField()
