"""Fillable previsit-planning templates: a small Markdown extension for form fields.

A line of its own that starts with `?[kind]` is a field; everything else is ordinary Markdown:

    ?[text] What matters most to you at this visit? {#matters}
    ?[choice] How have things been since the last visit? | Better | The same | Worse
    ?[multi] Which of these bother you? | Pain | Tiredness | Toilet trips | Sleep
    ?[scale] How much energy have you had (0–10)? {#energy}
    ?[date] When did the last flare start?
    ?[yesno] Has school or work been affected?

Kinds: text (free text), choice (one of the options), multi (any of the options), scale (0–10),
date (YYYY-MM-DD), yesno. `{#key}` names the answer; without it the key is made from the label.
Readers of the library see a field as a line describing it; families fill it in as a form.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from network.errors import Invalid
from network.i18n import N_

KINDS = ("text", "choice", "multi", "scale", "date", "yesno")
FIELD_RE = re.compile(r"^\?\[(?P<kind>[a-z]+)\]\s+(?P<rest>.+?)\s*$")
KEY_RE = re.compile(r"\{#(?P<key>[a-z0-9_-]{1,40})\}\s*$")
MAX_TEXT = 2_000


@dataclass
class Field:
    key: str
    kind: str
    label: str
    options: list[str] = field(default_factory=list)


def _key_from(label: str) -> str:
    ascii_label = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", ascii_label).strip("_")[:40] or "answer"


def parse(text: str) -> list[Field]:
    """The template's fields, in order. Malformed field lines are reported, not skipped."""
    fields: list[Field] = []
    errors: list[str] = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        match = FIELD_RE.match(line.strip())
        if not match:
            continue
        kind, rest = match.group("kind"), match.group("rest")
        key_match = KEY_RE.search(rest)
        key = key_match.group("key") if key_match else None
        rest = KEY_RE.sub("", rest).strip()
        label, *options = [part.strip() for part in rest.split("|")]
        options = [o for o in options if o]
        if kind not in KINDS:
            errors.append(N_("line %(number)s: unknown field kind “%(kind)s” (use %(kinds)s)", number=number, kind=kind, kinds=', '.join(KINDS)))
            continue
        if kind in ("choice", "multi") and len(options) < 2:
            errors.append(N_("line %(number)s: a %(kind)s field needs at least two options after “|”", number=number, kind=kind))
            continue
        key = key or _key_from(label)
        if any(f.key == key for f in fields):
            key = f"{key}_{number}"
        fields.append(Field(key, kind, label, options))
    if errors:
        raise Invalid({"template": errors})
    return fields


def display_markdown(text: str) -> str:
    """The template for reading: each field line becomes a line that says what it asks."""
    hints = {"text": "free text", "choice": "choose one", "multi": "choose any", "scale": "0 to 10",
             "date": "a date", "yesno": "yes or no"}
    out = []
    for line in (text or "").splitlines():
        match = FIELD_RE.match(line.strip())
        if match and match.group("kind") in KINDS:
            rest = KEY_RE.sub("", match.group("rest")).strip()
            label, *options = [p.strip() for p in rest.split("|")]
            extra = f": {', '.join(o for o in options if o)}" if options else ""
            out.append(f"- ✎ **{label}** *({hints[match.group('kind')]}{extra})*")
        else:
            out.append(line)
    return "\n".join(out)


def clean_answers(fields: list[Field], raw: dict, *, today: date | None = None) -> dict:
    """Check every answer against its field; returns the clean answers or raises Invalid per field.
    Empty answers are allowed (a plan can be saved half done)."""
    errors: dict[str, list[str]] = {}
    clean: dict = {}
    for f in fields:
        value = raw.get(f.key)
        if value in (None, "", []):
            continue
        if f.kind == "text":
            if not isinstance(value, str) or len(value) > MAX_TEXT:
                errors[f.key] = [N_("Use at most %(max_text)s characters.", max_text=MAX_TEXT)]
            else:
                clean[f.key] = value.strip()
        elif f.kind == "choice":
            if value not in f.options:
                errors[f.key] = [N_("Choose one of the options.")]
            else:
                clean[f.key] = value
        elif f.kind == "multi":
            values = value if isinstance(value, list) else [value]
            if any(v not in f.options for v in values):
                errors[f.key] = [N_("Choose from the options.")]
            else:
                clean[f.key] = values
        elif f.kind == "scale":
            number = _int(value)
            if number is None or not 0 <= number <= 10:
                errors[f.key] = [N_("Give a whole number from 0 to 10.")]
            else:
                clean[f.key] = number
        elif f.kind == "date":
            try:
                parsed = date.fromisoformat(str(value))
            except ValueError:
                errors[f.key] = [N_("Give a date as YYYY-MM-DD.")]
            else:
                if today and parsed > today:
                    errors[f.key] = [N_("This date is in the future.")]
                else:
                    clean[f.key] = parsed.isoformat()
        elif f.kind == "yesno":
            if value not in ("yes", "no"):
                errors[f.key] = [N_("Answer yes or no.")]
            else:
                clean[f.key] = value
    unknown = set(raw) - {f.key for f in fields}
    if unknown:
        errors["_"] = [N_("Unknown field(s): %(unknown)s.", unknown=', '.join(sorted(unknown)))]
    if errors:
        raise Invalid(errors)
    return clean


def _int(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if re.fullmatch(r"-?\d{1,3}", text) else None
