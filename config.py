"""Configuration from the environment (12-factor). The embedded default needs no setting at all."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
INSTANCE = HERE / "instance"


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _origins(value: str | None) -> list[str] | None:
    """SOCKETIO_ALLOWED_ORIGINS: comma-separated origins, or unset for the same origin only (None). Never
    an empty list: python-engineio reads [] as "do not check the Origin at all"."""
    origins = [o.strip().rstrip("/") for o in (value or "").split(",") if o.strip()]
    return origins or None


def normalise_database_url(url: str) -> str:
    """Accept the usual postgres:// and postgresql:// forms and use psycopg 3 for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Config:
    SECRET_KEY = _env("SECRET_KEY", "dev-only-secret-change-me")
    DATABASE_URL = normalise_database_url(_env("DATABASE_URL", f"sqlite:///{INSTANCE / 'carecommons.db'}"))
    REDIS_URL = _env("REDIS_URL")
    #: the connection pool per process (PostgreSQL): under gevent every socket event holds a connection
    #: while it runs, and SQLAlchemy's default 5 + 10 ran out in the live-room benchmark
    DATABASE_POOL_SIZE = int(_env("DATABASE_POOL_SIZE", "10"))
    DATABASE_MAX_OVERFLOW = int(_env("DATABASE_MAX_OVERFLOW", "20"))
    NETWORK_NAME = _env("NETWORK_NAME", "CareCommons IBD Network")

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    #: sign out after this long without a request, and after this long in any case (ASVS 5.0 V7)
    SESSION_IDLE_MINUTES = int(_env("SESSION_IDLE_MINUTES", "60"))
    SESSION_ABSOLUTE_HOURS = int(_env("SESSION_ABSOLUTE_HOURS", "12"))

    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    MAX_CONTENT_LENGTH = 12 * 1024 * 1024

    RATELIMIT_STORAGE_URI = _env("REDIS_URL", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    #: Redis away (restarting): count sign-in attempts in this process meanwhile, rather than refusing
    #: every sign-in with a 500; Flask-Limiter goes back to Redis once it answers again
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    LOGIN_RATE_LIMIT = _env("LOGIN_RATE_LIMIT", "10 per minute;50 per hour")

    #: where links in e-mails sent by jobs point (requests use their own host)
    BASE_URL = _env("BASE_URL", "http://127.0.0.1:5000")
    MAIL_SERVER = _env("MAIL_SERVER")
    MAIL_PORT = int(_env("MAIL_PORT", "587"))
    MAIL_USERNAME = _env("MAIL_USERNAME", "")
    MAIL_PASSWORD = _env("MAIL_PASSWORD", "")
    MAIL_SENDER = _env("MAIL_SENDER", "CareCommons <no-reply@carecommons.invalid>")

    SOCKETIO_ASYNC_MODE = _env("SOCKETIO_ASYNC_MODE", "threading")
    #: browser origins allowed to open a live-room socket; unset: the page's own origin only
    SOCKETIO_ALLOWED_ORIGINS = _origins(_env("SOCKETIO_ALLOWED_ORIGINS"))
    #: the Redis pub/sub channel (and key prefix) of this deployment: two deployments on one Redis must differ
    SOCKETIO_CHANNEL = _env("SOCKETIO_CHANNEL", "carecommons")
    #: every server process renews a Redis key this often; when it has not for LIVE_SERVER_TTL seconds the
    #: process is taken for dead and the others remove its presence rows
    LIVE_HEARTBEAT_SECONDS = float(_env("LIVE_HEARTBEAT_SECONDS", "5"))
    LIVE_SERVER_TTL = float(_env("LIVE_SERVER_TTL", "15"))
    #: a live room's presence list is broadcast at most this often (seconds); joins in between coalesce
    PRESENCE_INTERVAL = float(_env("PRESENCE_INTERVAL", "1.0"))
    #: uploaded files live here, outside the static folder, under server-made names
    ATTACHMENTS_DIR = Path(_env("ATTACHMENTS_DIR", str(INSTANCE / "attachments")))
    #: where `flask backup` writes its archives unless given a path; PG_BIN_DIR: pg_dump/pg_restore of the
    #: server's version (unset: the ones on PATH)
    BACKUP_DIR = Path(_env("BACKUP_DIR", str(INSTANCE / "backups")))
    PG_BIN_DIR = _env("PG_BIN_DIR")
    #: how many reverse proxies in front of the app set X-Forwarded-For/-Proto/-Host (werkzeug's ProxyFix);
    #: 0 trusts none of those headers (the app is reached directly)
    PROXY_FIX_HOPS = int(_env("PROXY_FIX_HOPS", "0"))
    #: one line per request in `text` or `json`
    LOG_FORMAT = _env("LOG_FORMAT", "text")
    #: draw the outcome overviews' charts in the background after a process's first request
    #: (app/outcomes/warm.py); on in production
    WARM_CHARTS = _env("WARM_CHARTS", "0") == "1"
    #: readability panel: the highest school grade each audience's tools should read at (None: no target),
    #: and how many words make a sentence long
    READABILITY_TARGETS = {"patients": 8, "parents": 8, "teens": 7, "clinicians": None}
    READABILITY_LONG_SENTENCE_WORDS = 25
    BABEL_DEFAULT_LOCALE = "en"
    LANGUAGES = ("en", "es")
    HSTS = False
    TESTING = False


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"
    DATABASE_URL = normalise_database_url(_env("TEST_DATABASE_URL", "sqlite://"))
    REDIS_URL = None
    RATELIMIT_STORAGE_URI = "memory://"
    WTF_CSRF_ENABLED = False  # tests that check CSRF switch it back on
    PRESENCE_INTERVAL = 0.0  # broadcast at once: no background thread outlives a test
    ATTACHMENTS_DIR = Path(tempfile.gettempdir()) / "carecommons-test-attachments"
    SERVER_NAME = None


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    HSTS = True
    SOCKETIO_ASYNC_MODE = _env("SOCKETIO_ASYNC_MODE", "gevent")
    WARM_CHARTS = _env("WARM_CHARTS", "1") == "1"

    def __init__(self) -> None:
        missing = [name for name in ("SECRET_KEY", "DATABASE_URL") if not _env(name)]
        if missing:
            raise RuntimeError(f"ProductionConfig refuses to start without {', '.join(missing)} in the environment")
        self.SECRET_KEY = _env("SECRET_KEY")
        self.DATABASE_URL = normalise_database_url(_env("DATABASE_URL"))


def from_environment():
    """`CARECOMMONS_ENV=production` selects the production config; anything else the embedded one."""
    if _env("CARECOMMONS_ENV") == "production":
        return ProductionConfig()
    return Config
