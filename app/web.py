"""Small helpers every blueprint shares: the domain actor, forms and domain errors, JSON detection."""
from __future__ import annotations

from flask import request
from flask_login import current_user

from network.access import ANONYMOUS
from network.errors import Invalid


def actor():
    """The domain actor for this request: the signed-in User, or the domain's Anonymous."""
    return current_user._get_current_object() if current_user.is_authenticated else ANONYMOUS


def wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json")


def apply_errors(form, error: Invalid) -> None:
    """Put a service's field errors on the WTForms fields (unknown fields go to the form as a whole)."""
    form.form_errors = list(getattr(form, "form_errors", []))
    for field_name, messages in error.field_errors.items():
        field = getattr(form, field_name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors or []) + list(messages)
        else:
            form.form_errors.extend(messages)
