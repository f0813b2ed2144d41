"""What `/healthz` reports to the proxy: can this process reach its database and, when REDIS_URL is set,
Redis? Cheap on purpose (it is polled): one `SELECT 1`, one PING with a short timeout, no stack traces
in the answer (the cause goes to the log)."""
from __future__ import annotations

import logging

from sqlalchemy import text

log = logging.getLogger("carecommons.health")

#: seconds a PING may take (connect and answer) before Redis counts as down
REDIS_TIMEOUT = 0.5
OK, UNAVAILABLE = "ok", "unavailable"


def check(app, db) -> tuple[bool, dict[str, str]]:
    """(healthy, {"status", "database"[, "redis"]}) for this process."""
    parts = {"database": _database(db)}
    if app.config.get("REDIS_URL"):
        parts["redis"] = _redis(app)
    healthy = all(state == OK for state in parts.values())
    return healthy, {"status": OK if healthy else UNAVAILABLE, **parts}


def _database(db) -> str:
    try:
        db.execute(text("SELECT 1"))
        return OK
    except Exception as exc:  # any failure to answer means "not healthy"
        log.warning("health check: the database does not answer (%s: %s)", type(exc).__name__,
                    str(exc).strip().splitlines()[0] if str(exc).strip() else "")
        try:
            db.rollback()
        except Exception:  # the connection is gone; the session is closed at teardown anyway
            pass
        return UNAVAILABLE


def _redis(app) -> str:
    try:
        _redis_client(app).ping()
        return OK
    except Exception as exc:  # redis.RedisError, OSError: down, refused or too slow
        log.warning("health check: Redis does not answer (%s: %s)", type(exc).__name__, exc)
        return UNAVAILABLE


def _redis_client(app):
    """One client (and connection pool) per app and URL, made at the first check."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    url = app.config["REDIS_URL"]
    cached = app.extensions.get("carecommons.health_redis")
    if cached is None or cached[0] != url:
        client = redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT,
                                      retry=Retry(NoBackoff(), 0))  # one try: the proxy polls again soon
        cached = app.extensions["carecommons.health_redis"] = (url, client)
    return cached[1]
