"""SQLite and concurrent writers: a request that reads, then writes, must not fail because another
request saved in between (found by the handbook journey: "Save as a new revision" failing with
"database is locked" while the editor's autosave committed)."""
from __future__ import annotations

import threading

import pytest
from flask import Flask, request
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from app.extensions import _request_reads, _request_writes
from network.db import make_engine

pytestmark = pytest.mark.pure  # its own SQLite files; nothing to repeat on PostgreSQL


def _race(tmp_path, *, writer_begins_immediately: bool) -> list[str]:
    """Request A reads, request B saves and commits, then A writes. What each one ended with."""
    engine = make_engine(f"sqlite:///{tmp_path / 'race.db'}", writes=lambda: writer_begins_immediately)
    with engine.begin() as setup:
        setup.execute(text("CREATE TABLE drafts (id INTEGER PRIMARY KEY, body TEXT)"))
        setup.execute(text("INSERT INTO drafts (id, body) VALUES (1, 'first')"))
    a_has_read, outcomes = threading.Event(), {}

    def request_a():
        try:
            with engine.begin() as conn:
                conn.execute(text("SELECT body FROM drafts WHERE id = 1")).scalar_one()
                a_has_read.set()
                b_done.wait(timeout=0.5)  # B either committed already (a reader's snapshot) or waits for A
                conn.execute(text("UPDATE drafts SET body = 'revision' WHERE id = 1"))
            outcomes["a"] = "saved"
        except OperationalError as exc:
            outcomes["a"] = str(exc.orig)
        finally:
            a_has_read.set()

    def request_b():
        a_has_read.wait(timeout=5)
        try:
            with engine.begin() as conn:
                conn.execute(text("UPDATE drafts SET body = 'autosave' WHERE id = 1"))
            outcomes["b"] = "saved"
        except OperationalError as exc:
            outcomes["b"] = str(exc.orig)
        finally:
            b_done.set()

    b_done = threading.Event()
    threads = [threading.Thread(target=request_a), threading.Thread(target=request_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=15)
    engine.dispose()
    return [outcomes.get("a"), outcomes.get("b")]


def test_a_reader_that_writes_after_another_commit_fails_without_the_write_lock(tmp_path):
    """The defect itself, so the test below is known to test something."""
    a, b = _race(tmp_path, writer_begins_immediately=False)
    assert b == "saved"
    assert a == "database is locked"


def test_a_writing_request_takes_the_write_lock_at_begin_and_both_saves_land(tmp_path):
    assert _race(tmp_path, writer_begins_immediately=True) == ["saved", "saved"]


@pytest.mark.parametrize("method, writes", [("GET", False), ("HEAD", False), ("OPTIONS", False), ("POST", True),
                                            ("PUT", True), ("PATCH", True), ("DELETE", True)])
def test_which_requests_write_and_which_only_read(method, writes):
    """A writing request begins on SQLite with the write lock; one that only reads runs in autocommit on
    PostgreSQL."""
    flask_app = Flask(__name__)
    with flask_app.test_request_context("/", method=method):
        assert _request_writes() is writes
        assert _request_reads() is (not writes)
        request.sid = "a-socket"  # a live-room event, delivered on the handshake's GET: one transaction
        assert _request_reads() is False
    assert _request_writes() is False  # a CLI command or job: SQLite's ordinary BEGIN
    assert _request_reads() is False
