from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length

from app.forms import OptionalIntSelect, choices, role_choices
from network.roles import NETWORK_ROLES, SITE_ROLES


class InviteForm(FlaskForm):
    full_name = StringField(_l("Full name"), validators=[DataRequired(_l("Enter a name.")), Length(max=120)])
    email = EmailField(_l("E-mail address"), validators=[
        DataRequired(_l("Enter an e-mail address.")),
        Email(_l("Enter an e-mail address like name@example.org.")), Length(max=254)])
    role = SelectField(_l("Role"), validators=[DataRequired(_l("Choose a role."))])
    site = OptionalIntSelect(_l("Site"))

    def offer(self, sites, *, network_roles: bool) -> "InviteForm":
        roles = SITE_ROLES + (NETWORK_ROLES if network_roles else ())
        self.role.choices = role_choices(roles)
        self.site.choices = choices(([("", _l("No site (network role)"))] if network_roles else [])
                                    + [(site.id, site.name) for site in sites])
        return self


class StewardForm(FlaskForm):
    data_steward = BooleanField(_l("Data steward (may publish the site's outcome data)"))
