"""The one clock for the dates that rules depend on: birthdays, the move to adult care, notices.

Rules and jobs ask `clock.today()` instead of reading the system date, so a test can move time in
one place: `with clock.frozen(date(...))` in-process, or — for a live server in a subprocess — a file
named by the test (see tests/live_server.py, the only caller of `follow_file`): while the file holds
an ISO date, that is today. Production never sets either, so today is the UTC date.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path

_fixed: date | None = None
_file: Path | None = None


def system_today() -> date:
    return datetime.now(timezone.utc).date()


def today() -> date:
    if _fixed is not None:
        return _fixed
    if _file is not None:
        try:
            text = _file.read_text().strip()
        except OSError:
            text = ""
        if text:
            return date.fromisoformat(text)
    return system_today()


@contextmanager
def frozen(day: date):
    """Within the block, today is `day` (tests)."""
    global _fixed
    previous, _fixed = _fixed, day
    try:
        yield day
    finally:
        _fixed = previous


def follow_file(path: str | Path | None) -> None:
    """Read today from this file while it holds a date (a browser test's live server only)."""
    global _file
    _file = Path(path) if path else None
