"""Domain sentences the web layer translates when it shows them (network/ and content/ never import Flask).

A service writes `N_("Keep it under %(maximum)s characters.", maximum=500)`. That is:

* a marker: `pybabel extract -k N_` (see babel.cfg and the README) puts the template in the catalog;
* a `Text`, a `str` whose value is the English sentence (so logs, e-mails, the API's English and every
  `in` / `==` check keep working), carrying the untranslated `template` and its `params`.

The web layer (app/web.py `localize`) looks the *template* up in the reader's catalog and only then fills in
the params, formatting numbers for the reader's locale. A Text can be stored as JSON (`to_json` /
`from_json`), so a notification is written once and read in each reader's language.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Callable


def _english(value: Any) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):  # grouped from five digits on ("7000", "10,000"), as the sentences always were
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, date) and not isinstance(value, datetime):
        return f"{value:%d %b %Y}"
    return str(value)


class Text(str):
    """An English sentence that remembers its template and params (for translation at display time)."""

    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, **params: Any) -> "Text":
        value = template % {k: _english(v) for k, v in params.items()} if params else template
        self = super().__new__(cls, value)
        self.template = template
        self.params = params
        return self

    def __reduce__(self):
        return (_rebuild, (self.template, self.params))

    def to_json(self) -> dict:
        return {"template": self.template,
                "params": {k: (v.to_json() if isinstance(v, Text) else v if isinstance(v, (int, float))
                               else {"date": v.isoformat()} if isinstance(v, date) and not isinstance(v, datetime)
                               else str(v)) for k, v in self.params.items()}}

    @classmethod
    def from_json(cls, data: dict) -> "Text":
        params = {k: (date.fromisoformat(v["date"]) if isinstance(v, dict) and "date" in v
                      else cls.from_json(v) if isinstance(v, dict) else v) for k, v in (data.get("params") or {}).items()}
        return cls(data["template"], **params)


def _rebuild(template: str, params: dict) -> Text:
    return Text(template, **params)


def N_(template: str, **params: Any) -> Text:
    """Mark a domain sentence for the catalog; `%(name)s` placeholders are filled after translation."""
    return Text(template, **params)


def render(text: Any, translate: Callable[[str], str], number: Callable[[Any], str] = _english) -> str:
    """`text` in another language: the template through `translate`, then its params (nested Texts too);
    `number` writes numbers and dates for the reader's locale."""
    if text is None:
        return ""
    if not isinstance(text, str):
        return str(text)
    template = getattr(text, "template", str(text))
    params = getattr(text, "params", {})
    translated = translate(template) if template else template
    if not params:
        return translated
    values = {k: (render(v, translate, number) if isinstance(v, Text)
                  else number(v) if isinstance(v, (int, float, date)) and not isinstance(v, (bool, datetime))
                  else str(v))
              for k, v in params.items()}
    try:
        return translated % values
    except (KeyError, ValueError, TypeError):  # a broken translation must not hide the message
        return template % values


#: day and month names for sentences written outside a request (e-mails); the web layer has Babel's own
WEEKDAYS = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"),
            N_("Sunday"))
MONTHS = (N_("January"), N_("February"), N_("March"), N_("April"), N_("May"), N_("June"), N_("July"),
          N_("August"), N_("September"), N_("October"), N_("November"), N_("December"))


def long_date(value: date) -> Text:
    """"05 March 2027" (English as `%d %B %Y` writes it), translatable."""
    return N_("%(day)s %(month)s %(year)s", day=f"{value:%d}", month=MONTHS[value.month - 1], year=str(value.year))


def day_and_time(value: datetime) -> Text:
    """"Friday 05 March at 14:30" (English as `%A %d %B at %H:%M` writes it), translatable."""
    return N_("%(weekday)s %(day)s %(month)s at %(time)s", weekday=WEEKDAYS[value.weekday()], day=f"{value:%d}",
              month=MONTHS[value.month - 1], time=f"{value:%H:%M}")
