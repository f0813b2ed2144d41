from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length

from app.forms import MultiCheckboxField, choices, role_choices
from network.roles import Role


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(_l("Enter your e-mail address.")),
                                                        Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password.")),
                                                        Length(max=128)])
    remember = BooleanField(_l("Keep me signed in on this device"))


class SetPasswordForm(FlaskForm):
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Choose a password.")),
                                                        Length(max=128)],
                             description=_l("At least 12 characters. A few unrelated words work well."))
    password_again = PasswordField(_l("Password again"),
                                   validators=[DataRequired(_l("Type the password a second time."))])


class ResetRequestForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(_l("Enter your e-mail address.")),
                                                        Email(_l("Enter an e-mail address like name@example.org.")),
                                                        Length(max=254)])


class ProfileForm(FlaskForm):
    full_name = StringField(_l("Full name"), validators=[DataRequired(_l("Enter a name.")), Length(max=120)])
    name_display = RadioField(_l("How your name appears to others"),
                              choices=choices([("full", _l("Full name")), ("first", _l("First name only"))]),
                              validators=[DataRequired(_l("Choose how your name appears."))])
    pronouns = StringField(_l("Pronouns (optional)"), validators=[Length(max=40)])
    bio = TextAreaField(_l("A short bio (optional)"), validators=[Length(max=2000)])
    profile_roles = MultiCheckboxField(_l("Roles you hold (shown on your profile)"),
                                       choices=role_choices(Role))
    in_directory = BooleanField(_l("List me in the people directory, so other members can find me"))
    offers = StringField(_l("What you offer other members (optional)"), validators=[Length(max=300)],
                         description=_l("For example: happy to talk with newly diagnosed families."))
