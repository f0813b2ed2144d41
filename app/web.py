"""Small helpers every blueprint shares: the domain actor, forms and domain errors, JSON detection."""
from __future__ import annotations

import re
from datetime import date

from flask import request
from flask_babel import force_locale, format_date, format_decimal, gettext
from flask_login import current_user

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
