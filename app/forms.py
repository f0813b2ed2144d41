"""Form pieces shared by several blueprints."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, SelectMultipleField, ValidationError, widgets


class ActionForm(FlaskForm):
    """A button that changes something: carries only the CSRF token."""


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def choices(pairs) -> list[SelectChoice]:
    """WTForms 3.3+ wants SelectChoice objects rather than (value, label) tuples."""
    return [SelectChoice(value, label) for value, label in pairs]


def role_choices(roles) -> list[SelectChoice]:
    from app.presenters import ROLE_LABELS

    return choices((role.value, ROLE_LABELS[role]) for role in roles)


class OptionalIntSelect(SelectField):
    """A select whose empty choice means None (e.g. 'no site' for a network role)."""

    def process_formdata(self, valuelist):
        if valuelist:
            self.data = int(valuelist[0]) if valuelist[0].isdigit() else None

    def pre_validate(self, form):
        values = {choice.value for choice in self.choices}
        if self.data not in values and not (self.data is None and "" in values):
            raise ValidationError(_l("Choose one of the listed options."))
