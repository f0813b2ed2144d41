from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.forms import choices
from content.safeguarding import MAX_DETAILS, MAX_GUIDANCE

CONCERN_CHOICES = choices([
    ("self_harm", _l("Someone may harm themselves")),
    ("abuse", _l("Someone may be being abused or harmed by another person")),
    ("medical_emergency", _l("A medical emergency")),
    ("other", _l("Another safety worry")),
])

#: how the queue names what was flagged
OBJECT_LABELS = {"story": _l("Story"), "story_comment": _l("Comment on a story"), "room_message": _l("Live-room message"),
                 "plan_note": _l("Note on a previsit plan"), "contact_message": _l("Private message")}
CONCERN_LABELS = {"self_harm": _l("Risk of self-harm"), "abuse": _l("Abuse or harm by another person"),
                  "medical_emergency": _l("Medical emergency"), "other": _l("Other safety worry")}
STATUS_LABELS = {"new": _l("New"), "acknowledged": _l("Acknowledged"), "resolved": _l("Resolved")}


class FlagForm(FlaskForm):
    concern = RadioField(_l("What worries you?"), choices=CONCERN_CHOICES,
                         validators=[DataRequired(_l("Choose what worries you."))])
    details = TextAreaField(_l("Anything the safeguarding contacts should know (optional)"),
                            validators=[Length(max=MAX_DETAILS)])


class SettingsForm(FlaskForm):
    crisis_guidance = TextAreaField(_l("Crisis guidance (Markdown; shown to a member right after they flag a concern)"),
                                    validators=[DataRequired(_l("Write the guidance.")), Length(max=MAX_GUIDANCE)],
                                    description=_l("Say who to call in an emergency. This is not medical advice."))
    risk_phrases = TextAreaField(_l("Risk phrases, one a line"),
                                 description=_l("A new story, chat message or private message containing one of these "
                                                "(whole phrase, any case) is added to the urgent queue. "
                                                "Nothing is blocked or changed."))


class ContactForm(FlaskForm):
    email = StringField(_l("E-mail address of the member"), validators=[DataRequired(_l("Enter an e-mail address."))])


class ActionRecordForm(FlaskForm):
    action = TextAreaField(_l("What was done"), validators=[Length(max=4000)])
