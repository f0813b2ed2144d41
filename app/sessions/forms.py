from __future__ import annotations

from zoneinfo import available_timezones

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, EmailField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.forms import choices

TIMEZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/"))) + ["UTC"]


class SessionForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(_l("Give the session a title.")), Length(max=160)])
    description = TextAreaField(_l("Description (Markdown)"), validators=[Length(max=20000)])
    starts_local = DateTimeLocalField(_l("Starts"), format="%Y-%m-%dT%H:%M",
                                      validators=[DataRequired(_l("Give the start date and time."))])
    minutes = IntegerField(_l("Length in minutes"), default=90, validators=[NumberRange(10, 720)])
    timezone = SelectField(_l("Time zone of the start time"), choices=choices((z, z) for z in TIMEZONES),
                           default="Europe/London")
    capacity = IntegerField(_l("Places (optional)"), validators=[Optional(), NumberRange(1, 100000)])
    video_url = StringField(_l("Video link (optional, https://)"), validators=[Length(max=500)])


class ModuleForm(FlaskForm):
    title = StringField(_l("Module title"), validators=[DataRequired(_l("Give the module a title.")), Length(max=160)])
    minutes = IntegerField(_l("Minutes"), default=15, validators=[NumberRange(1, 600)])
    description = TextAreaField(_l("What it covers"), validators=[Length(max=5000)])
    presenters = StringField(_l("Co-presenters' e-mail addresses, with role (e.g. ann@x.org:parent, bo@y.org:clinician)"),
                             validators=[Length(max=1000)])
    resources = StringField(_l("Library resources used (their short names, separated by commas)"),
                            validators=[Length(max=1000)])


class FacilitatorForm(FlaskForm):
    email = EmailField(_l("Facilitator's e-mail address"), validators=[DataRequired(_l("Enter an e-mail address."))])


class RegisterForm(FlaskForm):
    role = SelectField(_l("You take part as"))
