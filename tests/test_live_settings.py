"""Live-room settings: the database pool per process, the Socket.IO channel, and the chat rate limit
shared through Redis across server processes (in-process without Redis)."""
from __future__ import annotations

import uuid

import pytest

import config
from network.errors import Invalid
from network.sessions import RateLimiter, SharedRateLimiter
from tests.live_support import REDIS_URL


def test_the_database_pool_is_a_setting():
    from app import create_app

    class PoolConfig(config.TestConfig):
        DATABASE_URL = "postgresql+psycopg://127.0.0.1:5432/test"  # the engine connects lazily: nothing opens
        DATABASE_POOL_SIZE = 7
        DATABASE_MAX_OVERFLOW = 3

    engine = create_app(PoolConfig).extensions["carecommons.db"].engine
    assert engine.pool.size() == 7 and engine.pool._max_overflow == 3
    engine.dispose()


def test_pool_settings_come_from_the_environment(monkeypatch):
    import importlib

    monkeypatch.setenv("DATABASE_POOL_SIZE", "25")
    monkeypatch.setenv("DATABASE_MAX_OVERFLOW", "0")
    monkeypatch.setenv("SOCKETIO_CHANNEL", "carecommons-staging")
    try:
        fresh = importlib.reload(config)
        assert (fresh.Config.DATABASE_POOL_SIZE, fresh.Config.DATABASE_MAX_OVERFLOW) == (25, 0)
        assert fresh.Config.SOCKETIO_CHANNEL == "carecommons-staging"
    finally:
        monkeypatch.undo()
        importlib.reload(config)
    assert config.Config.SOCKETIO_CHANNEL == "carecommons"


def test_with_redis_the_chat_limit_is_shared_under_the_channel(redis_client):
    """(The channel itself is checked on real servers in tests/test_two_processes.py: an app built here
    with a message queue would leave Flask-SocketIO's module-wide server bound to Redis.)"""
    from types import SimpleNamespace

    from app import live

    channel = f"carecommons-test-{uuid.uuid4().hex[:8]}"
    limits = live.rate_limits(SimpleNamespace(config={"REDIS_URL": REDIS_URL, "SOCKETIO_CHANNEL": channel}))
    assert isinstance(limits[live.CHAT], SharedRateLimiter) and limits[live.CHAT].prefix == f"{channel}:rate:chat"
    assert limits[live.CHAT].count == 10 and limits[live.ACTION].count == 30


def test_without_redis_the_limit_counts_in_the_process(app):
    from app import live

    assert type(app.extensions["carecommons.live_limits"][live.CHAT]) is RateLimiter


def test_two_processes_share_one_count(redis_client):
    """Two limiters (as two server processes would hold) on one Redis: 10 in the window between them."""
    prefix = f"carecommons-test-{uuid.uuid4().hex[:8]}:rate:chat"
    on_a, on_b = (SharedRateLimiter(redis_client, prefix, count=10, seconds=60) for _ in range(2))
    for i in range(10):
        (on_a if i % 2 else on_b).check(user_id=7)
    with pytest.raises(Invalid) as refused:
        on_a.check(user_id=7)
    assert "rate" in refused.value.field_errors
    on_b.check(user_id=8)  # another person has a count of their own
    keys = list(redis_client.scan_iter(f"{prefix}:*"))
    assert keys and all(0 < redis_client.ttl(k) <= 61 for k in keys)  # counters expire


def test_an_unreachable_redis_falls_back_to_counting_here():
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, socket_timeout=0.2,
                         retry=Retry(NoBackoff(), 0))
    limiter = SharedRateLimiter(client, "nowhere", count=2, seconds=60)
    limiter.check(1)
    limiter.check(1)
    with pytest.raises(Invalid):
        limiter.check(1)
