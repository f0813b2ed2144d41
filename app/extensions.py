"""Flask extensions, created once here and bound to the app in create_app."""
from __future__ import annotations

import logging

from flask import current_app, g, has_request_context, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_socketio import SocketIO
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import Session, sessionmaker

from network.db import make_engine, make_session_factory

log = logging.getLogger("carecommons.db")
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
socketio = SocketIO()
babel = Babel()


class Database:
    """The engine and session factory of one app; a request gets one session, closed at teardown."""

    def __init__(self, url: str, *, pool_size: int = 5, max_overflow: int = 10):
        pool = {} if url.startswith("sqlite") else {"pool_size": pool_size, "max_overflow": max_overflow}
        self.engine = make_engine(url, writes=_request_writes, **pool)
        self.session_factory: sessionmaker[Session] = make_session_factory(self.engine)
        #: PostgreSQL, for requests that only read: each statement is its own transaction (autocommit), which
        #: spares every page the BEGIN and ROLLBACK round trips around its queries (2 of ~10; each one a
        #: wait behind every other request in the process under gevent). Nothing is lost by it: PostgreSQL's
        #: READ COMMITTED gives every statement its own snapshot anyway, and what a reading request writes
        #: stands alone, one statement each (a view counted, a device's last activity, an audit line).
        self.autocommit = (None if url.startswith("sqlite")
                           else self.engine.execution_options(isolation_level="AUTOCOMMIT"))

    def new_session(self, *, reading: bool) -> Session:
        """A request's session: autocommit for a reading request on PostgreSQL, else a transaction. A factory
        bound elsewhere (a test's connection) is used as it is."""
        if reading and self.autocommit is not None and self.session_factory.kw.get("bind") is self.engine:
            return self.session_factory(bind=self.autocommit)
        return self.session_factory()

    def init_app(self, app) -> None:
        app.extensions["carecommons.db"] = self
        app.teardown_appcontext(self._close)

    @staticmethod
    def _close(_exc) -> None:
        db = g.pop("db_session", None)
        if db is not None:
            try:
                db.close()
            except Exception:
                # the connection died under the request (PostgreSQL restarted): closing rolls back, which
                # fails; discard the connection instead of answering 500 after the response was made
                log.warning("closing the request's database session failed; connection discarded", exc_info=True)
                db.invalidate()


#: HTTP methods that only read; a request with any other method may write
READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _http_method() -> str | None:
    """The method of the current HTTP request; None for a live-room event (it arrives on the handshake's
    GET), a CLI command or a job."""
    if not has_request_context() or getattr(request, "sid", None) is not None:
        return None
    return request.method


def _request_writes() -> bool:
    """Whether the current HTTP request may write (SQLite then begins its transactions with the write lock).

    Live-room events are left as readers here: they write single rows."""
    method = _http_method()
    return method is not None and method not in READING_METHODS


def _request_reads() -> bool:
    """Whether the current HTTP request only reads (GET, HEAD, OPTIONS). Live-room events are not: they
    number and store messages in one transaction."""
    return _http_method() in READING_METHODS


def database() -> Database:
    return current_app.extensions["carecommons.db"]


def get_db() -> Session:
    """The session of the current request, socket event or CLI command."""
    if "db_session" not in g:
        g.db_session = database().new_session(reading=_request_reads())
    return g.db_session
