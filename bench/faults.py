"""Faults end to end against real servers (gunicorn -k gevent -w 1 wsgi:app, as in production), on
private services only: a PostgreSQL cluster of our own (initdb + pg_ctl on 127.0.0.1:5441), a
redis-server of our own (127.0.0.1:6391, no persistence) and a small tmpfs. The shared PostgreSQL (5432)
and Redis (6379) are never touched. Three scenarios, each printing its figures:

1. postgres: `--clients` threads request a JSON API page and an HTML page in a loop while PostgreSQL is
   stopped (`pg_ctl stop -m fast`: every connection terminated), kept down `--down` seconds and started
   again. Prints requests during the outage by status (503 expected, with Retry-After; no 500, no
   dropped connection), the time from PostgreSQL accepting connections to the first 200 and to every
   client's 200, and the server's connections to PostgreSQL afterwards (none stuck beyond its pool).
2. redis: a live room with `--participants` real Socket.IO clients on two server processes (half on
   each) while `--senders` of them chat; Redis is killed 40% into the sending and started again after
   `--down` s. Clients are bench/live_room.py's SimulatedParticipant (sequence tracking, resend with the
   same client id, gap repair by re-joining with the last complete seq). Prints messages acknowledged,
   delivered live, delivered after every client re-joined with its last complete seq (the room's
   catch-up), and lost (acknowledged but missing somewhere after that: must be 0); the presence rows
   left (a Redis restart must not make a live process look dead); and how long until a message sent on
   A reached B again.
3. disk: a server on a file SQLite database and attachment store on an 8 MB tmpfs, filled to the last
   byte: CSV outcome uploads and attachment uploads (with their CSRF tokens, as a browser sends them)
   get 507 in plain words; rows and files are counted before and after (nothing half-written), and the
   same uploads succeed once the disk has room again, without a restart.

    .venv/bin/python bench/faults.py [--only postgres,redis,disk] [--down 3] [--clients 8]
                                     [--participants 20] [--senders 4] [--seconds 12]

Needs root (initdb runs as the postgres user through runuser; the tmpfs is mounted) and the PostgreSQL
server programs and redis-server installed. Takes about a minute.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import os
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from tests import live_support  # noqa: E402
from tests.fault_support import PrivatePostgres, PrivateRedis, SmallDisk, build, files_under, seed  # noqa: E402

SECRET = "bench-faults-secret"
PG_PORT, REDIS_PORT, FIRST_APP_PORT = 5441, 6391, 5740
CHANNEL = f"bench_faults_{os.getpid()}"


def _server(name: str, port: int, env: dict) -> live_support.ServerProcess:
    full = {"SECRET_KEY": SECRET, "SOCKETIO_ASYNC_MODE": "gevent", "SOCKETIO_CHANNEL": CHANNEL, **env}
    server = live_support.ServerProcess(name, port, full)
    server.wait_healthy(60)
    return server


def _app_for(url: str, **config):
    """An app object (not serving) on the same database, to build and seed it and to count rows."""
    import config as config_module

    from app import create_app

    return create_app(type("BenchConfig", (config_module.TestConfig,), {"DATABASE_URL": url, **config}))


def _cookie(token: str) -> str:
    return live_support.login_cookie(SECRET, token)


def _device(app, user) -> str:
    """A signed-in session cookie for `user` with a live device record, as the sign-in page makes."""
    from network.devices import DeviceSession
    from network.people import session_token

    token = session_token(user)
    with app.extensions["carecommons.db"].session_factory() as db:
        db.add(DeviceSession(user_id=user.id, key_digest=live_support.device_digest(token),
                             session_version=int(token.split(":")[1])))
        db.commit()
    return _cookie(token)


# ---------------------------------------------------------------------------------------------
# 1. PostgreSQL restarted under load


def scenario_postgres(args) -> list[str]:
    import psycopg
    import requests

    cluster = PrivatePostgres(PG_PORT).start()
    server = None
    try:
        app = _app_for(cluster.url)
        build(app)
        seeded = seed(app)
        cookie = _device(app, seeded["people"]["site_lead"])
        app.extensions["carecommons.db"].engine.dispose()
        server = _server("pg", FIRST_APP_PORT, {"DATABASE_URL": cluster.url, "DATABASE_POOL_SIZE": "5",
                                                "DATABASE_MAX_OVERFLOW": "5"})
        log: list[tuple[float, int, str, bool]] = []  # (time, status or -1, path, has Retry-After)
        stop = threading.Event()
        ok_after: dict[int, float] = {}
        back_at: list[float] = []

        def client(n: int) -> None:
            session = requests.Session()
            session.headers["Cookie"] = cookie
            paths = ["/api/v1/resources", "/outcomes/upload"]
            i = 0
            while not stop.is_set():
                path = paths[i % 2]
                i += 1
                try:
                    response = session.get(server.url + path, timeout=10)
                    status, retry = response.status_code, "Retry-After" in response.headers
                except requests.RequestException:
                    status, retry = -1, False
                now = time.monotonic()
                log.append((now, status, path, retry))
                if back_at and status == 200 and n not in ok_after:
                    ok_after[n] = now - back_at[0]
                time.sleep(0.01)

        threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(args.clients)]
        for thread in threads:
            thread.start()
        time.sleep(2)
        down_at = time.monotonic()
        cluster.stop()
        time.sleep(args.down)
        cluster.start()
        back_at.append(time.monotonic())
        deadline = time.monotonic() + 60
        while len(ok_after) < args.clients and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1)
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
        with psycopg.connect(cluster.dsn) as conn:
            held = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                                "AND pid <> pg_backend_pid()").fetchone()[0]
        before = [e for e in log if e[0] < down_at]
        during = [e for e in log if down_at <= e[0] < back_at[0]]
        after = [e for e in log if e[0] >= back_at[0]]
        first_ok = min((e[0] for e in after if e[1] == 200), default=None)

        def by_status(entries):
            counts = collections.Counter("dropped" if e[1] == -1 else e[1] for e in entries)
            return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items(), key=str)) or "none"

        no_retry = sum(1 for e in log if e[1] == 503 and not e[3])
        lines = [f"postgres: {args.clients} clients (JSON /api/v1/resources and HTML /outcomes/upload in turn), "
                 f"PostgreSQL stopped for {args.down:g} s plus its own stop/start time "
                 f"({back_at[0] - down_at:.1f} s in all)",
                 f"  before: {len(before)} requests ({by_status(before)})",
                 f"  outage: {len(during)} requests ({by_status(during)}); 503 without Retry-After: {no_retry}",
                 f"  after:  {len(after)} requests ({by_status(after)})",
                 f"  recovered: first 200 {first_ok - back_at[0]:.2f} s after PostgreSQL accepted connections; "
                 f"every client answered 200 within {max(ok_after.values()) if ok_after else float('nan'):.2f} s"
                 if first_ok is not None else "  recovered: NO 200 after PostgreSQL came back",
                 f"  server's connections to PostgreSQL afterwards: {held} (pool 5 + overflow 5)",
                 f"  500s in all: {sum(1 for e in log if e[1] == 500)}; dropped connections: "
                 f"{sum(1 for e in log if e[1] == -1)}"]
        if any(e[1] == 500 for e in log):
            lines.append(f"  server log around the 500s:\n{_errors_in(server)}")
        return lines
    finally:
        if server is not None:
            server.stop()
            server.remove_log()
        cluster.remove()


def _errors_in(server) -> str:
    text = server.log_path.read_text(errors="replace").splitlines()
    picked = [i for i, line in enumerate(text) if "ERROR" in line or "Traceback" in line]
    return "\n".join("\n".join(text[i: i + 40]) for i in picked[:1]) or "\n".join(text[-60:])


# ---------------------------------------------------------------------------------------------
# 2. Redis restarted during a live session


def scenario_redis(args) -> list[str]:
    cluster = PrivatePostgres(PG_PORT).start()
    redis = PrivateRedis(REDIS_PORT).start()
    servers: list[live_support.ServerProcess] = []
    try:
        builder = _app_for(cluster.url)
        build(builder)
        builder.extensions["carecommons.db"].engine.dispose()
        seeded = live_support.seed(cluster.url, crowd=args.participants, rooms=1)
        env = {"DATABASE_URL": cluster.url, "REDIS_URL": redis.url, "LIVE_HEARTBEAT_SECONDS": "0.5",
               "LIVE_SERVER_TTL": "3"}
        servers = [_server("A", FIRST_APP_PORT + 1, env), _server("B", FIRST_APP_PORT + 2, env)]
        a, b = servers
        # presence rows, polled from the moment Redis is killed until the clients' final re-join (a
        # re-join stores the row again, which would hide rows a sweep removed)
        watching, rows_seen = threading.Event(), []

        def poll_presence():
            import psycopg

            with psycopg.connect(cluster.dsn, autocommit=True) as conn:
                while not watching.is_set():
                    if getattr(redis, "killed", False):
                        rows_seen.append(conn.execute("SELECT count(*) FROM room_presence WHERE session_id = %s",
                                                      (seeded.rooms[0].session_id,)).fetchone()[0])
                    time.sleep(0.2)

        poller = threading.Thread(target=poll_presence, daemon=True)
        poller.start()
        result = asyncio.run(_live_room(args, seeded, a, b, redis, watching))
        poller.join(timeout=5)
        result.append(f"  presence rows from the kill until the final re-join: lowest {min(rows_seen, default='?')} "
                      f"for {args.participants} connected participants (a Redis restart must not make a live "
                      f"process look dead)")
        return result
    finally:
        for server in servers:
            server.kill9()
            server.stop()
            server.remove_log()
        redis.stop()
        cluster.remove()


async def _live_room(args, seeded, a, b, redis, watching) -> list[str]:
    import live_room

    tally = live_room.Tally(worker=0)
    room = seeded.rooms[0]
    people = []
    for i, person in enumerate(seeded.crowd[: args.participants]):
        home, other = (a, b) if i % 2 == 0 else (b, a)
        people.append(live_room.SimulatedParticipant(i, _cookie(person.token), [home.url, other.url], room.session_id,
                                                     tally, f"faults{room.session_id}"))
    for person in people:
        await person.connect(person.urls[0])
        person.joined = True
        tally.received[person.index] = person.received

    async def watch_gaps():
        while True:
            await asyncio.sleep(0.5)
            now = time.time()
            for person in people:
                if person.gap_since is not None and now - person.gap_since > 2.0:
                    person.gap_since = now
                    asyncio.get_running_loop().create_task(person.repair_gap())

    watcher = asyncio.get_running_loop().create_task(watch_gaps())
    rate = args.senders * 0.8  # under the chat limit of 10 in 10 s per person
    messages = int(args.seconds * rate)
    start = time.time() + 0.5
    sends = [people[k % args.senders].send(k, start + k / rate, 30.0) for k in range(messages)]
    sending = asyncio.gather(*sends)
    await asyncio.sleep(max(0.0, start + 0.4 * args.seconds - time.time()))
    loop = asyncio.get_running_loop()
    killed = time.time()
    redis.killed = True
    await loop.run_in_executor(None, redis.stop)
    await asyncio.sleep(args.down)
    await loop.run_in_executor(None, redis.start)
    back = time.time()
    await sending
    await asyncio.sleep(3.0)  # drain
    crossing = _crossing_after(people, args.senders, start, rate, back, tally.acked)
    watcher.cancel()
    live = sum(len(p.received) for p in people)
    watching.set()
    for person in people:  # the room's catch-up: re-join with the last complete seq
        await person.join()
    after = sum(len(p.received) for p in people)
    acked = set(tally.acked)
    lost = sum(1 for p in people for k in acked if k not in set(p.received))
    not_acked = messages - len(acked)
    lines = [f"redis: {len(people)} participants on two processes ({(len(people) + 1) // 2} on A), {args.senders} "
             f"senders, {messages} messages over {args.seconds:g} s; Redis killed {killed - start:.1f} s into "
             f"sending, started again after {back - killed:.1f} s",
             f"  acknowledged: {len(acked)} of {messages} ({not_acked} not acknowledged: "
             f"{'; '.join(tally.send_errors[:3]) or 'none'}); resent with the same client id: {tally.resent}",
             f"  deliveries expected {len(acked) * len(people)}: before the final catch-up (live, or by the clients' own gap repair) {live}, after every client's catch-up "
             f"re-join {after}; gap repairs while sending: {tally.repairs} ({tally.repaired} events)",
             f"  lost (acknowledged, missing after catch-up): {lost}; duplicates: "
             f"{sum(1 for seqs in tally.delivered_seq.values() if len(seqs) > 1)}",
             f"  broadcasts crossing processes again: {crossing}"]
    for person in people:
        person.closing = True
    await asyncio.gather(*(p.close() for p in people), return_exceptions=True)
    return lines


def _crossing_after(people, senders: int, start: float, rate: float, back: float, acked) -> str:
    """Of the messages sent after Redis was back, how many reached every participant on the other
    process before the final catch-up (live, or by a gap repair), and how soon the first did."""
    later = [k for k in sorted(acked) if start + k / rate >= back]
    crossed, first = 0, None
    for k in later:
        home = people[k % senders].urls[0]
        if all(k in p.received for p in people if p.urls[0] != home):
            crossed += 1
            first = start + k / rate - back if first is None else first
    when = f"; the first sent {first:.1f} s after Redis was back" if first is not None else ""
    return f"{crossed} of {len(later)} messages sent after Redis was back reached the other process{when}"


# ---------------------------------------------------------------------------------------------
# 3. Full disk during uploads


def _csrf(session, url: str) -> str:
    """The page's CSRF token; the server keeps it in a new session cookie, which replaces ours."""
    response = session.get(url, timeout=10)
    if "session" in response.cookies:
        session.headers["Cookie"] = f"session={response.cookies['session']}"
    page = response.text
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or \
        re.search(r'name="csrf_token" value="([^"]+)"', page)
    if not match:
        raise RuntimeError(f"no CSRF token on {url}")
    return match.group(1)


def scenario_disk(args) -> list[str]:
    import requests

    from content.library import Attachment
    from network.outcomes import Submission
    from tests.test_library_web import png_bytes

    folder = Path(tempfile.mkdtemp(prefix="cc-faults-disk-"))
    disk = SmallDisk(folder / "disk", megabytes=8).mount()
    server = None
    try:
        url = f"sqlite:///{disk.path / 'carecommons.db'}"
        attachments = disk.path / "attachments"
        app = _app_for(url, ATTACHMENTS_DIR=attachments)
        build(app)
        seeded = seed(app)
        lead_cookie = _device(app, seeded["people"]["site_lead"])
        parent_cookie = _device(app, seeded["people"]["parent"])
        with app.extensions["carecommons.db"].engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        server = _server("disk", FIRST_APP_PORT + 3, {"DATABASE_URL": url, "ATTACHMENTS_DIR": str(attachments)})
        lead, parent = requests.Session(), requests.Session()
        lead.headers["Cookie"], parent.headers["Cookie"] = lead_cookie, parent_cookie
        csv = ("site,measure,month,numerator,denominator\n"
               + "".join(f"own-site,remission,2025-{m:02d},{50 + m},100\n" for m in range(1, 13))).encode()
        slug = seeded["resource_slug"]

        def upload_csv():
            token = _csrf(lead, server.url + "/outcomes/upload")
            return lead.post(server.url + "/outcomes/upload", data={"csrf_token": token},
                             files={"file": ("figures.csv", csv, "text/csv")}, allow_redirects=False, timeout=30)

        def attach():
            token = _csrf(parent, f"{server.url}/library/{slug}")
            return parent.post(f"{server.url}/library/{slug}/attachments", data={"csrf_token": token, "label": "Chart"},
                               files={"file": ("chart.png", png_bytes(), "image/png")}, allow_redirects=False,
                               timeout=30)

        def counts():
            with app.extensions["carecommons.db"].session_factory() as db:
                from sqlalchemy import func, select

                return (db.scalar(select(func.count(Submission.id))), db.scalar(select(func.count(Attachment.id))),
                        len(files_under(attachments)))

        # the CSRF tokens' pages are read before the disk fills (reading goes on while it is full)
        disk.fill()
        full = [upload_csv() for _ in range(3)] + [attach() for _ in range(3)]
        rows_full = counts()
        disk.restore()
        again = [upload_csv(), attach()]
        rows_after = counts()
        plain = all("storage is full" in r.text and r.headers.get("Retry-After") for r in full)
        return [f"disk: SQLite database and attachment store on an {disk.megabytes} MB tmpfs, filled to the last byte",
                f"  while full: CSV uploads {[r.status_code for r in full[:3]]}, attachment uploads "
                f"{[r.status_code for r in full[3:]]}; plain words and Retry-After in every answer: {plain}",
                f"  rows and files while full (submissions, attachment rows, files on disk): {rows_full}",
                f"  after freeing the disk, same server: CSV {again[0].status_code}, attachment {again[1].status_code}; "
                f"now {rows_after}"]
    finally:
        if server is not None:
            server.stop()
            server.remove_log()
        disk.unmount()
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


SCENARIOS = {"postgres": scenario_postgres, "redis": scenario_redis, "disk": scenario_disk}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="postgres,redis,disk")
    parser.add_argument("--down", type=float, default=3.0, help="seconds a service stays down (default 3)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--participants", type=int, default=20)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=12.0)
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.ERROR)
    for name in args.only.split(","):
        problem = PrivatePostgres.problem() if name in ("postgres", "redis") else None
        problem = problem or (PrivateRedis.problem() if name == "redis" else None)
        if problem:
            print(f"== {name}: cannot run: {problem}")
            return 1
        started = time.monotonic()
        print(f"== {name}", flush=True)
        for line in SCENARIOS[name](args):
            print(line, flush=True)
        print(f"  ({time.monotonic() - started:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
