from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.forms import choices


class CodeForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(_l("Enter the code.")), Length(max=40)],
                       description=_l("The 6-digit code your authenticator app shows now, or one of your "
                                      "recovery codes."))


class SetupCodeForm(FlaskForm):
    code = StringField(_l("Code from your app"), validators=[DataRequired(_l("Enter the code.")), Length(max=12)],
                       description=_l("The 6-digit code your authenticator app shows after adding CareCommons."))


class PolicyForm(FlaskForm):
    kind = RadioField(_l("Document"), choices=choices([("terms", _l("Terms of use")),
                                                       ("privacy", _l("Privacy notice"))]),
                      validators=[DataRequired(_l("Choose the document."))])
    title = StringField(_l("Title"), validators=[DataRequired(_l("Enter a title.")), Length(max=160)])
    summary = StringField(_l("What changed (optional)"), validators=[Length(max=500)],
                          description=_l("Shown to members when they are asked to accept the new version."))
    body = TextAreaField(_l("Text (Markdown)"), validators=[DataRequired(_l("Write the text of the document."))])
