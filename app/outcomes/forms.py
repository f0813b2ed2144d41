from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, FloatField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.forms import choices


class UploadForm(FlaskForm):
    file = FileField(_l("CSV or FHIR file"), validators=[FileRequired(_l("Choose a file to upload."))],
                     description=_l("CSV columns: site,measure,month,numerator,denominator (month as YYYY-MM); "
                                    "or a FHIR R4 MeasureReport / Bundle in JSON. At most 10 MB."))


class TokenForm(FlaskForm):
    name = StringField(_l("What the token is for"), validators=[DataRequired(_l("Name the token.")), Length(max=80)],
                       description=_l("For example “EHR nightly export”."))


class MeasureForm(FlaskForm):
    key = StringField(_l("Key"), validators=[DataRequired(_l("Enter a key.")), Length(max=40)],
                      description=_l("Used in addresses, CSV files and FHIR, e.g. remission."))
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=120)])
    definition = TextAreaField(_l("Operational definition (Markdown)"), validators=[Length(max=20000)])
    numerator_definition = TextAreaField(_l("Numerator"), validators=[Length(max=20000)])
    denominator_definition = TextAreaField(_l("Denominator"), validators=[Length(max=20000)])
    better = SelectField(_l("Which direction is better"),
                         choices=choices([("higher", _l("Higher")), ("lower", _l("Lower"))]))
    goal = FloatField(_l("Goal (percent, or a rate for rate charts; optional)"), validators=[Optional()])
    chart_type = SelectField(_l("Chart"), choices=choices([
        ("p", _l("p-chart (proportion)")), ("pp", _l("Laney p′-chart (proportion, large denominators)")),
        ("u", _l("u-chart (rate)")), ("run", _l("Run chart"))]))
    rule_set = SelectField(_l("Rules for signals"), choices=choices([
        ("anhoej", _l("Anhøj runs rules and 3-sigma limits (qicharts2)")),
        ("mdc", _l("NHS Making Data Count"))]))
    multiplier = IntegerField(_l("Rate per (u-charts)"), default=1, validators=[NumberRange(1, 100000)])
    baseline_months = IntegerField(_l("Baseline months (optional)"), validators=[Optional()],
                                   description=_l("Centre line and limits from the first N months."))
    position = IntegerField(_l("Order"), default=0, validators=[Optional()])
    is_active = BooleanField(_l("Active"), default=True)
