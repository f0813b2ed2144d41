"""Small helpers every blueprint shares: the domain actor, forms and domain errors, JSON detection."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable

from flask import request
from flask_babel import force_locale, format_date, format_decimal, gettext
from flask_login import current_user

from app.extensions import get_db
from network.access import ANONYMOUS
from network.errors import DomainError, Invalid
from network.i18n import Text, render


def actor():
    """The domain actor for this request: the signed-in User, or the domain's Anonymous."""
    return current_user._get_current_object() if current_user.is_authenticated else ANONYMOUS


def wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json")


def _locale_value(value) -> str:
    return format_date(value, "medium") if isinstance(value, date) else format_decimal(value)


def localize(text) -> str:
    """A domain sentence (network.i18n.N_) in the reader's language: template translated, then params filled,
    numbers and dates written the reader's way. A plain string is looked up as it is."""
    return render(text, gettext, _locale_value)


def translate_mail(text_json: dict, locale: str) -> str:
    """A stored sentence (Text.to_json) in `locale`, for e-mails sent outside a request (network.outbox)."""
    with force_locale(locale):
        return localize(Text.from_json(text_json))


_PLACE = re.compile(r"^(row|entry) (\d+): (.+)$")


def localize_place(where: str) -> str:
    """Where a problem is: "row 3: numerator" / "fila 3: numerator" (column and element names stay as in the file)."""
    match = _PLACE.match(str(where))
    if match is None:
        return str(where)
    kind, number, column = match.groups()
    if kind == "row":
        return gettext("row %(n)s: %(column)s", n=number, column=column)
    return gettext("entry %(n)s: %(path)s", n=number, path=column)


def localized_fields(error: DomainError) -> dict[str, list[str]]:
    """A domain error's field messages, translated (the one place field errors become the reader's language)."""
    return {where: [localize(m) for m in messages]
            for where, messages in (getattr(error, "field_errors", None) or {}).items()}


def localized_message(error: DomainError) -> str:
    """The error's summary in the reader's language (Invalid: its own summary, else its messages joined)."""
    if isinstance(error, Invalid) and not error.summary_message:
        return "; ".join(f"{localize_place(k)}: {' '.join(v)}" if k != "_" else " ".join(v)
                         for k, v in localized_fields(error).items())
    return localize(error.message)


def apply_errors(form, error: Invalid) -> None:
    """Put a service's field errors on the WTForms fields (unknown fields go to the form as a whole),
    in the reader's language."""
    form.form_errors = list(getattr(form, "form_errors", []))
    for field_name, messages in localized_fields(error).items():
        field = getattr(form, field_name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors or []) + list(messages)
        else:
            form.form_errors.extend(messages)


@dataclass
class Posted:
    """What became of a form post (see `form_post`)."""

    #: the form was sent, it validated and the service accepted it
    ok: bool = False
    #: what the service returned
    result: Any = None
    #: the service's refusal (already rolled back, and on the form when there is one)
    error: Invalid | None = None
    #: the page's status when it is shown again: 200 when nothing was sent (or it was accepted), else 422
    status: int = 200

    @property
    def errors(self) -> dict[str, list[str]]:
        """The refusal's field messages in the reader's language, for pages without a WTForm."""
        return localized_fields(self.error) if self.error is not None else {}


def form_post(form, action: Callable[[], Any]) -> Posted:
    """The form-post rule, in one place. When the request sends the form (a WTForm, or with `form=None`
    a plain HTML form posted), validate it and call `action` (the service); the service's `Invalid` rolls
    the session back and puts its messages on the form, in the reader's language. Bad input of either
    kind shows the page again with 422. The view flashes and redirects when `ok`, else renders with
    `status`. Other domain errors (Forbidden, Conflict...) pass through to the view or the error handler."""
    if form is None:
        if request.method != "POST":
            return Posted()
    elif not form.validate_on_submit():
        return Posted(status=422 if form.is_submitted() else 200)
    try:
        result = action()
    except Invalid as error:
        get_db().rollback()
        if form is not None:
            apply_errors(form, error)
        return Posted(error=error, status=422)
    return Posted(ok=True, result=result)
