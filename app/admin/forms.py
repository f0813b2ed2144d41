from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from network.people import SLUG_RE

from app.forms import OptionalIntSelect, role_choices
from network.roles import Role


class SiteForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=120)])
    slug = StringField(_l("Short name for addresses and data files"),
                       validators=[DataRequired(_l("Enter a short name.")), Length(max=40),
                                   Regexp(SLUG_RE, message=_l("Use lower-case letters, digits and hyphens."))],
                       description=_l("Lower-case letters, digits and hyphens, e.g. riverside-childrens."))
    city = StringField(_l("City (optional)"), validators=[Length(max=80)])


class SiteEditForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=120)])
    city = StringField(_l("City (optional)"), validators=[Length(max=80)])
    is_active = BooleanField(_l("Active (uncheck to deactivate the site)"))


class MembershipForm(FlaskForm):
    role = SelectField(_l("Role"), choices=role_choices(Role), validators=[DataRequired(_l("Choose a role."))])
    site = OptionalIntSelect(_l("Site"))


class CareLinkForm(FlaskForm):
    parent_id = IntegerField(_l("Parent's person number"), validators=[DataRequired(_l("Enter a number."))])
    patient_id = IntegerField(_l("Patient's person number"), validators=[DataRequired(_l("Enter a number."))])
