"""Load test: simulated members using the whole site at once (Locust, headless, on loopback).

What it starts: a PostgreSQL schema of its own (`bench_load_<pid>`, in 127.0.0.1:5432/test, migrated,
filled by `flask demo seed`: the demo network of 70 sites, and dropped at the end), one live learning
session happening now, and `--servers` (2) server processes as README "Running in production" runs
them (`gunicorn -k gevent -w 1`, PostgreSQL, Redis on 127.0.0.1:6379 with a Socket.IO channel and key
prefix of its own), serving `bench/load_app.py` (the app as shipped plus one bare route, see below).
Each simulated person stays on one server process (sticky sessions, as behind the proxy).

The mix (Locust user classes; weights of the `--users`; every user waits 1-5 s between actions):
  reader   12  home, outcome overview, a site's chart page and its SVG, the library list and resource
               pages, the stories list and stories (following the links the pages show them)
  writer    3  creates a library draft of their own, then edits it (edit form, autosave, now and then
               a saved revision), comments on published tools, tells stories
  steward   2  site leads and data-steward clinicians: the upload page, their site's CSV, and a CSV
               upload of the last three months of two measures with the figures as stored (an
               upsert of the same months: "unchanged", so the database does not grow)
  live      3  registers for the live session (web), opens its room page, connects a python-socketio
               client (websocket, gevent) with its sign-in cookie, joins, chats; fan-out latency is
               measured on every chat message a participant receives
The members start once every server has logged that its chart caches are warm (WARM_CHARTS, begun by
the first /healthz; the time it took is printed), as a process is taken into the proxy's rotation
(docs/deploy.md).
Everyone signs in through the sign-in form as a demo member (password `carecommons-demo`) who needs no
second step and has accepted the current terms (chosen with network.twostep and network.consent), so
every page is a real 200. Pages are fetched without following redirects: a page that answers anything
but 200, or a form post that does not redirect where it should, is an error. All simulated people
come from 127.0.0.1, so the servers run with LOGIN_RATE_LIMIT raised (one address would otherwise be
refused after 10 sign-ins a minute), and with `--keep-alive 10` (gunicorn's default of 2 s is shorter
than the think time: a connection closed by the server just as the user reuses it is reset; in
production the proxy holds the browsers' connections).

Relative throughput: after the mix, in the same server run, `--phase-users` users with no think time
hammer the library list alone, then the bare route alone (`GET /bench/bare`: "ok" after every request
hook of the app, no query of its own), in `--rounds` alternating rounds of `--phase-seconds` each; it
prints requests a second of each and the ratio.

Target: p95 <= 300 ms for every page and 0 errors. Prints a table (p50/p95/p99 per named request
group, counts, errors), saves it as JSON under bench/results/ (git-ignored), and exits 1 when there
were errors.

    .venv/bin/python bench/load.py [--users 200] [--minutes 5] [--servers 2]      (make load)
    .venv/bin/python bench/load.py --users 50 --minutes 1                         (a short trial)
"""
from gevent import monkey  # noqa: I001  (first: Locust and the socket clients run on gevent)

monkey.patch_all()

import argparse  # noqa: E402
import csv  # noqa: E402
import io  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import datetime, timedelta, timezone  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import gevent  # noqa: E402
import locust  # noqa: E402
from locust import FastHttpUser, between, constant, task  # noqa: E402
from locust.env import Environment  # noqa: E402

from bench.live_room import Meter, _background_load, _percentile, _raise_fd_limit  # noqa: E402
from bench.load_app import BARE_PATH  # noqa: E402
from tests import live_support  # noqa: E402

SECRET = "bench-load-secret"
SCHEMA = f"bench_load_{os.getpid()}"  # the database is shared with other people's tests and benchmarks
PASSWORD = "carecommons-demo"
TARGET_P95_MS = 300.0
RESULTS = ROOT / "bench" / "results"
LIVE_NS = live_support.NAMESPACE

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
BASE_REVISION = re.compile(r'name="base_revision_id"[^>]*value="(\d+)"|value="(\d+)"[^>]*name="base_revision_id"')
LIBRARY_LINK = re.compile(r'href="/library/([a-z0-9][a-z0-9-]*)"')
STORY_LINK = re.compile(r'href="/stories/(\d+)"')
NOT_RESOURCES = {"new", "preview"}


# ---------------------------------------------------------------------------------------------
# What the run knows about the seeded network (filled in by prepare(), read by the simulated users)

@dataclass
class Plan:
    readers: list[str] = field(default_factory=list)
    writers: list[str] = field(default_factory=list)
    #: (e-mail, short name of a site they submit figures for)
    stewards: list[tuple[str, str]] = field(default_factory=list)
    live: list[str] = field(default_factory=list)
    measures: list[str] = field(default_factory=list)
    live_slug: str = ""
    live_session_id: int = 0
    urls: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)


PLAN = Plan()
_take = defaultdict(itertools.count)  # per pool: the next person to hand out


def _next(pool_name: str, pool: list):
    return pool[next(_take[pool_name]) % len(pool)]


def prepare(database_url: str) -> Plan:
    """Who signs in as what, and a live session happening now (made through the session service)."""
    from sqlalchemy import select

    import content.models  # noqa: F401  (complete metadata for the relationships)
    import network.models  # noqa: F401
    from network import access, consent, outcomes, people, sessions, twostep
    from network.db import make_engine, make_session_factory
    from network.demo import DEMO_DOMAIN
    from network.roles import Role

    plan = Plan()
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as db:
            users = list(db.scalars(select(people.User).where(people.User.email.like(f"%@{DEMO_DOMAIN}"))
                                    .order_by(people.User.id)))
            sites = people.active_sites(db)
            skipped = Counter()
            for user in users:
                if not user.memberships or not user.is_active:
                    skipped["no active membership"] += 1
                    continue
                if twostep.is_enabled(db, user) or twostep.must_set_up(db, user):
                    skipped["two-step sign-in"] += 1
                    continue
                if consent.outstanding(db, user) or consent.waiting_for_parent(db, user):
                    skipped["terms not accepted"] += 1
                    continue
                roles = user.roles
                if Role.NETWORK_LEADER in roles or Role.MODERATOR in roles:
                    skipped["leader or moderator"] += 1
                    continue
                plan.readers.append(user.email)
                if access.can(user, "library.create") and access.can(user, "story.tell"):
                    plan.writers.append(user.email)
                steward_of = [s for s in sites if access.can(user, "outcomes.submit", s)]
                if steward_of:
                    plan.stewards.append((user.email, steward_of[0].slug))
                if roles & {Role.PARENT, Role.PATIENT, Role.CLINICIAN}:
                    plan.live.append(user.email)
            plan.skipped = dict(skipped)
            plan.measures = [m.key for m in outcomes.measures(db)]
            leader = db.scalar(select(people.User).where(people.User.email == f"leader@{DEMO_DOMAIN}"))
            start = (datetime.now(timezone.utc) - timedelta(minutes=5)).replace(tzinfo=None, microsecond=0)
            live = sessions.create_session(db, leader, sessions.SessionFields(
                title="Load test: live learning session", description="Happening now, for the load test.",
                starts_local=start, minutes=240, timezone="UTC"))
            plan.live_slug, plan.live_session_id = live.slug, live.id
    finally:
        engine.dispose()
    # spread every kind of person over the pool, so that the first users spawned are not all of one site
    for pool in (plan.readers, plan.writers, plan.stewards, plan.live):
        random.Random(2026).shuffle(pool)
    return plan


# ---------------------------------------------------------------------------------------------
# Recording: every request (and every live message delivered), tagged with the phase of the run

@dataclass
class Record:
    phase: str = "mix"
    #: when `phase` began, and the phase before it: a request belongs to the phase it was sent in
    since: float = 0.0
    before: str = ""
    times: dict = field(default_factory=lambda: defaultdict(list))          # (phase, name) -> [(at, ms)]
    errors: Counter = field(default_factory=Counter)                        # (phase, name, what) -> n
    fanout_ms: list = field(default_factory=list)
    signed_in: int = 0


RECORD = Record()


def on_request(request_type, name, response_time, response_length, exception=None, **_kw):
    now = time.time()
    phase = RECORD.phase if now - response_time / 1000 >= RECORD.since else RECORD.before
    if exception is not None:
        what = str(exception) if "CatchResponseError" in type(exception).__name__ else \
            f"{type(exception).__name__}: {exception}"
        RECORD.errors[(phase, name, what[:300])] += 1
    RECORD.times[(phase, name)].append((now, response_time))


def enter_phase(phase: str) -> None:
    RECORD.phase, RECORD.before, RECORD.since = phase, RECORD.phase, time.time()


locust.events.request.add_listener(on_request)


def fire(environment, name: str, started: float, exception: Exception | None = None) -> None:
    """Report a Socket.IO call as a request of its own."""
    environment.events.request.fire(request_type="WS", name=name, response_time=(time.perf_counter() - started) * 1000,
                                    response_length=0, exception=exception, context={})


# ---------------------------------------------------------------------------------------------
# The simulated people

class Member(FastHttpUser):
    """Signs in through the form, then stays on one server process. Pages must answer 200 as they
    are, without following a redirect; forms must redirect where they should. FastHttpUser
    (geventhttpclient): the load generator shares the servers' two cores, and Locust's requests-based
    HttpUser took ~19% of a core at 200 users (measured in the run of 2026-11-26 11:05)."""

    abstract = True
    host = "http://127.0.0.1"
    wait_time = between(1, 5)
    pool = "readers"

    def person(self) -> str:
        return _next(self.pool, getattr(PLAN, self.pool))

    def on_start(self):
        self.client.base_url = PLAN.urls[next(_take["server"]) % len(PLAN.urls)]
        self.email = self.person()
        self.sign_in()

    def sign_in(self):
        page = self.page("/login", "auth: sign-in page")
        with self.client.post("/login", name="auth: sign in", allow_redirects=False, catch_response=True,
                              data={"email": self.email, "password": PASSWORD, "csrf_token": self.csrf(page)}) as r:
            # the demo members chosen need no second step and have accepted the terms: home, nothing else
            if r.status_code != 302 or urlsplit(r.headers.get("Location", "")).path != "/":
                r.failure(f"{self.email}: sign-in answered {r.status_code} -> {r.headers.get('Location')}")
        RECORD.signed_in += 1

    def page(self, path: str, name: str, *, contains: str | None = None):
        with self.client.get(path, name=name, allow_redirects=False, catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"{_status(r)} for {path}")
            elif contains is not None and contains not in r.text:
                r.failure(f"{path}: no {contains!r} in the page")
        return r

    def post(self, path: str, name: str, data: dict, *, expect: int = 302, to: str | None = None, files=None,
             headers=None):
        with self.client.post(path, name=name, data=data, files=files, headers=headers, allow_redirects=False,
                              catch_response=True) as r:
            location = r.headers.get("Location", "")
            if r.status_code != expect:
                r.failure(f"{_status(r)} for {path}: {(r.text or '')[:200]!r}")
            elif to is not None and to not in location:
                r.failure(f"{path} redirected to {location}, not {to}")
        return r

    @staticmethod
    def csrf(response) -> str:
        match = CSRF.search(response.text or "")
        return (match.group(1) or match.group(2)) if match else ""


class Reader(Member):
    weight = 12

    def on_start(self):
        super().on_start()
        self.site_refs: dict[str, list[str]] = {}
        self.resources: list[str] = []
        self.stories: list[str] = []

    @task(3)
    def home(self):
        self.page("/", "home")

    @task(3)
    def outcomes(self):
        key = random.choice(PLAN.measures)
        r = self.page(f"/outcomes/{key}", "outcomes: overview")
        refs = re.findall(rf'href="/outcomes/{re.escape(key)}/sites/([^"/?#.]+)"', r.text or "")
        if refs:
            self.site_refs[key] = sorted(set(refs))

    @task(3)
    def site_chart(self):
        if not self.site_refs:
            return self.outcomes()
        key = random.choice(list(self.site_refs))
        ref = random.choice(self.site_refs[key])
        self.page(f"/outcomes/{key}/sites/{ref}", "outcomes: site chart")
        self.page(f"/outcomes/{key}/sites/{ref}.svg", "outcomes: site SVG", contains="<svg")

    @task(4)
    def library_list(self):
        r = self.page("/library/", "library: list")
        self.resources = sorted(set(LIBRARY_LINK.findall(r.text or "")) - NOT_RESOURCES) or self.resources

    @task(4)
    def library_resource(self):
        if not self.resources:
            return self.library_list()
        self.page(f"/library/{random.choice(self.resources)}", "library: resource")

    @task(2)
    def stories_list(self):
        r = self.page("/stories/", "stories: list")
        self.stories = sorted(set(STORY_LINK.findall(r.text or ""))) or self.stories

    @task(2)
    def story(self):
        if not self.stories:
            return self.stories_list()
        self.page(f"/stories/{random.choice(self.stories)}", "stories: story")


class Writer(Member):
    weight = 3
    pool = "writers"

    def on_start(self):
        super().on_start()
        self.role = None
        form = self.page("/library/new", "library: new form")
        self.role = _first_option(form.text or "", "role")
        tag = uuid.uuid4().hex[:8]
        r = self.post("/library/new", "library: create draft", {
            "csrf_token": self.csrf(form), "title": f"Load test draft {tag}", "body": _body(tag, 0),
            "summary": "First draft", "role": self.role, "type": "handbook", "audience": "parents",
            "language": "en", "tags": "load test"}, to="/library/")
        self.slug = r.headers.get("Location", "").rstrip("/").rsplit("/", 1)[-1]
        self.edits = 0
        self.published: list[str] = []

    @task(4)
    def edit_draft(self):
        form = self.page(f"/library/{self.slug}/edit", "library: edit form")
        match = BASE_REVISION.search(form.text or "")
        base = (match.group(1) or match.group(2)) if match else ""
        token = self.csrf(form)
        self.edits += 1
        fields = {"csrf_token": token, "base_revision_id": base, "title": f"Load test draft {self.slug}",
                  "body": _body(self.slug, self.edits)}
        self.post(f"/library/{self.slug}/autosave", "library: autosave", fields, expect=200,
                  headers={"X-CSRFToken": token})
        if self.edits % 4 == 0:
            self.post(f"/library/{self.slug}/edit", "library: save revision",
                      {**fields, "summary": f"Edit {self.edits}", "role": self.role}, to=f"/library/{self.slug}")

    @task(2)
    def comment(self):
        if not self.published:
            r = self.page("/library/", "library: list")
            self.published = sorted(set(LIBRARY_LINK.findall(r.text or "")) - NOT_RESOURCES - {self.slug})
            if not self.published:
                return
        slug = random.choice(self.published)
        page = self.page(f"/library/{slug}", "library: resource")
        self.post(f"/library/{slug}/comments", "library: comment", {
            "csrf_token": self.csrf(page), "body": "We tried this at our clinic; the checklist helped.",
            "anchor": "", "role": self.role}, to=f"/library/{slug}")

    @task(1)
    def tell_story(self):
        form = self.page("/stories/new", "stories: new form")
        self.post("/stories/new", "stories: tell", {
            "csrf_token": self.csrf(form), "title": "What helped us before the visit",
            "body": "We wrote our questions down the evening before.\n\nIt made the visit calmer.",
            "tags": "school", "byline": "first", "visibility": "network",
            "role": _first_option(form.text or "", "role")}, to="/stories/mine")


class Steward(Member):
    weight = 2
    pool = "stewards"

    def on_start(self):
        self.client.base_url = PLAN.urls[next(_take["server"]) % len(PLAN.urls)]
        self.email, self.site = self.person()
        self.sign_in()

    @task(2)
    def site_page(self):
        self.page(f"/outcomes/sites/{self.site}", "outcomes: site page")

    @task(1)
    def upload(self):
        form = self.page("/outcomes/upload", "outcomes: upload form")
        lines = ["site,measure,month,numerator,denominator"]
        for key in random.sample(PLAN.measures, min(2, len(PLAN.measures))):
            r = self.page(f"/outcomes/{key}/sites/{self.site}.csv", "outcomes: site CSV")
            stored = [row for row in csv.DictReader(io.StringIO(r.text or "")) if row.get("numerator")]
            lines += [f"{self.site},{key},{row['month']},{row['numerator']},{row['denominator']}"
                      for row in stored[-3:]]
        if len(lines) == 1:
            return
        self.post("/outcomes/upload", "outcomes: upload CSV", {"csrf_token": self.csrf(form)},
                  files={"file": ("figures.csv", "\n".join(lines).encode(), "text/csv")}, to="/outcomes/upload")


class LiveParticipant(Member):
    weight = 3
    pool = "live"

    def on_start(self):
        super().on_start()
        self.sio = None
        slug = PLAN.live_slug
        page = self.page(f"/sessions/{slug}", "sessions: page")
        self.post(f"/sessions/{slug}/register", "sessions: register", {"csrf_token": self.csrf(page)},
                  to=f"/sessions/{slug}")
        self.page(f"/sessions/{slug}/room", "sessions: room page")
        self.connect()

    def connect(self):
        import socketio

        sio = socketio.Client(reconnection=False)
        sio.on("event", self.on_event, namespace=LIVE_NS)
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.client.cookiejar)
        started = time.perf_counter()
        try:
            sio.connect(self.client.base_url, headers={"Cookie": cookie}, transports=["websocket"],
                        namespaces=[LIVE_NS], wait_timeout=20)
        except Exception as exc:
            fire(self.environment, "live: connect", started, exc)
            return
        fire(self.environment, "live: connect", started)
        started = time.perf_counter()
        try:
            ack = sio.call("join", {"session_id": PLAN.live_session_id, "last_seq": 0}, namespace=LIVE_NS, timeout=20)
            problem = RuntimeError(f"join refused: {ack['error']}") if "error" in ack else None
        except Exception as exc:
            problem = exc
        fire(self.environment, "live: join", started, problem)
        if problem is None:
            self.sio = sio
        else:
            sio.disconnect()

    def on_event(self, event):
        if event.get("kind") != "chat":
            return
        match = re.search(r"sent (\d+\.\d+)$", event.get("body") or "")
        if match:
            RECORD.fanout_ms.append((time.time() - float(match.group(1))) * 1000)

    @task
    def chat(self):
        if self.sio is None:
            return
        started = time.perf_counter()
        try:
            ack = self.sio.call("chat", {"session_id": PLAN.live_session_id, "client_id": uuid.uuid4().hex,
                                         "body": f"Hello from the load test, sent {time.time():.3f}"},
                                namespace=LIVE_NS, timeout=20)
            problem = RuntimeError(f"chat refused: {ack['error']}") if "error" in ack else None
        except Exception as exc:
            problem = exc
        fire(self.environment, "live: chat (ack)", started, problem)

    def on_stop(self):
        if self.sio is not None:
            self.sio.disconnect()
            self.sio = None


class LibraryHammer(Member):
    """Relative throughput: the library list with no think time."""

    wait_time = constant(0)

    @task
    def hammer(self):
        self.page("/library/", "throughput: library list")


class BareHammer(Member):
    """Relative throughput: the bare route with no think time."""

    wait_time = constant(0)

    @task
    def hammer(self):
        self.page(BARE_PATH, "throughput: bare route", contains="ok")


def wait_warm(servers, timeout: float = 180.0) -> float:
    """Wait until every server has logged that its chart caches are warm (WARM_CHARTS: the warm-up began
    with the first /healthz); returns the seconds waited. The run measures members on warm servers; how
    long warming takes is printed."""
    started = time.monotonic()
    waiting = list(servers)
    while waiting:
        waiting = [s for s in waiting if "chart caches warm" not in s.log_path.read_text(errors="replace")]
        if waiting and time.monotonic() - started > timeout:
            raise RuntimeError(f"chart caches not warm after {timeout:.0f} s on {', '.join(s.name for s in waiting)}")
        time.sleep(0.2)
    return time.monotonic() - started


def _status(response) -> str:
    """The status and where it redirects, or (status 0) the exception that stood in for an answer."""
    if response.status_code == 0:
        return f"no answer ({type(response.error).__name__}: {response.error})"
    location = response.headers.get("Location")
    return f"{response.status_code}" + (f" -> {location}" if location else "")


def _first_option(html: str, select_name: str) -> str:
    match = re.search(rf'<select[^>]*name="{select_name}"[^>]*>\s*<option[^>]*value="([^"]*)"', html)
    return match.group(1) if match else ""


def _body(tag: str, n: int) -> str:
    return (f"# Before the visit\n\nWrite down three questions ({tag}, edit {n}).\n\n"
            "## At the visit\n\n- Bring the plan.\n- Ask about school.\n")


# ---------------------------------------------------------------------------------------------
# Running

def run_users(classes: list, users: int, spawn_rate: float, seconds: float, phase: str) -> tuple[float, float]:
    """Start `users` of `classes` (by weight). Until every one has signed in, what they do is recorded as
    "<phase>:ramp"; then `seconds` as `phase` (a request counts in the part it was sent in, so one sent
    during the sign-ins that ends after them is the ramp's). Returns (start, end) of the measured part."""
    # stop_timeout: at the end each user finishes what it is doing (a request cut off by the stop is no error)
    env = Environment(user_classes=classes, events=locust.events, stop_timeout=60)
    runner = env.create_local_runner()
    RECORD.signed_in = 0
    enter_phase(f"{phase}:ramp")
    runner.start(users, spawn_rate=spawn_rate)
    deadline = time.monotonic() + 60 + 3 * users / spawn_rate
    while RECORD.signed_in < users and time.monotonic() < deadline:
        gevent.sleep(0.2)
    enter_phase(phase)
    started = RECORD.since
    gevent.sleep(seconds)
    ended = time.time()
    runner.quit()
    return started, ended


def throughput(phase_users: int, seconds: float, rounds: int) -> dict:
    """Alternating rounds: the library list alone, then the bare route alone, on the same servers."""
    counts = {"library": 0, "bare": 0}
    measured = {"library": 0.0, "bare": 0.0}
    for n in range(rounds):
        for label, cls, name in (("library", LibraryHammer, "throughput: library list"),
                                 ("bare", BareHammer, "throughput: bare route")):
            phase = f"throughput-{label}-{n}"
            start, end = run_users([cls], phase_users, phase_users, seconds, phase)
            done = [at for at, _ms in RECORD.times[(phase, name)] if start <= at <= end]
            counts[label] += len(done)
            measured[label] += end - start
    rates = {label: counts[label] / max(1e-9, measured[label]) for label in counts}
    return {"library_rps": rates["library"], "bare_rps": rates["bare"],
            "ratio": rates["library"] / rates["bare"] if rates["bare"] else float("nan"),
            "requests": counts, "seconds": measured}


def summarise(wanted) -> list[dict]:
    """Per request group, over the phases `wanted(phase)` accepts: count, errors, percentiles."""
    rows = []
    for name in sorted({name for (phase, name) in RECORD.times if wanted(phase)}):
        times = [ms for (phase, n), values in RECORD.times.items() if n == name and wanted(phase) for _at, ms in values]
        errors = sum(c for (phase, n, _w), c in RECORD.errors.items() if n == name and wanted(phase))
        rows.append({"name": name, "requests": len(times), "errors": errors,
                     "p50_ms": _percentile(times, 0.50), "p95_ms": _percentile(times, 0.95),
                     "p99_ms": _percentile(times, 0.99), "max_ms": max(times) if times else float("nan")})
    return rows


def print_table(rows: list[dict]) -> None:
    width = max(len(r["name"]) for r in rows) if rows else 10
    print(f"{'request group':<{width}}  {'count':>7}  {'errors':>6}  {'p50 ms':>7}  {'p95 ms':>7}  {'p99 ms':>7}  "
          f"{'max ms':>7}")
    for r in rows:
        flag = "  > target" if r["p95_ms"] > TARGET_P95_MS else ""
        print(f"{r['name']:<{width}}  {r['requests']:>7}  {r['errors']:>6}  {r['p50_ms']:>7.0f}  {r['p95_ms']:>7.0f}  "
              f"{r['p99_ms']:>7.0f}  {r['max_ms']:>7.0f}{flag}")


def print_windows(start: float, end: float) -> None:
    """All requests of the mix by time since everyone was signed in: shows the warm-up (cold chart caches,
    templates compiled on first use in each process) apart from the steady state."""
    width = max(10.0, (end - start) / 10)
    cells = []
    for n in range(int(-(-(end - start) // width))):
        low, high = start + n * width, start + (n + 1) * width
        times = [ms for (phase, _name), values in RECORD.times.items() if phase == "mix"
                 for at, ms in values if low <= at < high]
        if times:
            cells.append(f"{n * width:.0f}-{(n + 1) * width:.0f} s: {len(times)} req, p50 "
                         f"{_percentile(times, 0.5):.0f} / p95 {_percentile(times, 0.95):.0f} ms")
    print("over time (all groups): " + "; ".join(cells))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200, help="simulated people in the mix (default 200)")
    parser.add_argument("--minutes", type=float, default=5.0, help="length of the mix (default 5)")
    parser.add_argument("--spawn-rate", type=float, default=10.0, help="users started a second (default 10)")
    parser.add_argument("--servers", type=int, default=2, help="gunicorn -k gevent -w 1 processes (default 2)")
    parser.add_argument("--phase-users", type=int, default=20,
                        help="users hammering one route in the throughput rounds (default 20)")
    parser.add_argument("--phase-seconds", type=float, default=15.0, help="length of one throughput round (default 15)")
    parser.add_argument("--rounds", type=int, default=2, help="library/bare round pairs (default 2)")
    parser.add_argument("--keep-logs", action="store_true", help="keep the servers' logs and print where")
    args = parser.parse_args()

    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    problem = live_support.services_problem()
    if problem:
        print(f"load: {problem}", file=sys.stderr)
        return 2
    fds = _raise_fd_limit()
    started = time.monotonic()
    schema = live_support.Schema(SCHEMA)
    servers = []
    try:
        schema.create()
        seed_seconds = live_support.seed_demo(schema.url, SECRET)
        global PLAN
        PLAN = prepare(schema.url)
        print(f"load: schema {SCHEMA} migrated and seeded with the demo network in {seed_seconds:.0f} s; "
              f"people: {len(PLAN.readers)} readers, {len(PLAN.writers)} writers, {len(PLAN.stewards)} stewards, "
              f"{len(PLAN.live)} live participants (left out: "
              + ", ".join(f"{n} {why}" for why, n in sorted(PLAN.skipped.items())) + ")", flush=True)
        background = _background_load()
        servers = live_support.start_servers(
            tuple(f"S{n + 1}" for n in range(args.servers)), schema.url, SECRET, app_module="bench.load_app:create()",
            worker_connections=max(1000, 4 * args.users),
            extra_env={"SOCKETIO_CHANNEL": SCHEMA, "LOGIN_RATE_LIMIT": "100000 per minute",
                       # the pool sized to the requests in flight (docs/deploy.md): at the defaults (10 + 20)
                       # connections past 10 were opened and closed for every request under this load
                       "DATABASE_POOL_SIZE": "25", "DATABASE_MAX_OVERFLOW": "15",
                       # as in production (ProductionConfig): charts drawn in the background after the first request
                       "WARM_CHARTS": "1",
                       # longer than the longest think time: with gunicorn's 2 s default a user who reuses
                       # its idle connection just as the server closes it gets a reset, not an answer
                       "GUNICORN_CMD_ARGS": "--keep-alive 10"})
        PLAN.urls = [s.url for s in servers]
        warm_seconds = wait_warm(servers)
        print(f"load: {args.servers} server(s) (gunicorn -k gevent -w 1 'bench.load_app:create()') on "
              f"{', '.join(PLAN.urls)}; machine {100 * background:.0f}% busy before the run ({os.cpu_count()} cores); "
              f"file descriptors {fds}", flush=True)
        print(f"load: chart caches warm on every server {warm_seconds:.0f} s after it answered /healthz "
              f"(as a process joins the proxy's rotation once warm: docs/deploy.md)", flush=True)
        print(f"load: mix of {args.users} users for {args.minutes:g} min (think time 1-5 s), spawning "
              f"{args.spawn_rate:g}/s ...", flush=True)
        meter = Meter({s.name: s.worker_pid for s in servers})
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        ramp_start = time.time()
        mix_start, mix_end = run_users([Reader, Writer, Steward, LiveParticipant], args.users, args.spawn_rate,
                                       args.minutes * 60, "mix")
        mix_cpu = meter.read()
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        client_cpu = (cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime) / max(1e-9, mix_cpu["wall"])
        print(f"load: relative throughput: {args.rounds} x (library list, bare route), {args.phase_users} users, "
              f"no think time, {args.phase_seconds:g} s each ...", flush=True)
        ratio = throughput(args.phase_users, args.phase_seconds, args.rounds)
        tails = {s.name: s.log_tail(15) for s in servers}
    finally:
        for server in servers:
            server.stop()
            if args.keep_logs:
                print(f"    server {server.name} log: {server.log_path}")
            else:
                server.remove_log()
        schema.drop()

    rows = summarise(lambda phase: phase == "mix")
    ramp_rows = summarise(lambda phase: phase == "mix:ramp")
    total = sum(r["requests"] for r in rows)
    errors = sum(RECORD.errors.values())
    print()
    print(f"Signing in: {args.users} users started at {args.spawn_rate:g}/s, all signed in after "
          f"{mix_start - ramp_start:.0f} s; what they did meanwhile:")
    print_table(ramp_rows)
    print()
    print(f"Mix, once everyone was signed in: {args.users} users, {args.minutes:g} min, {total} requests "
          f"({total / max(1e-9, mix_end - mix_start):.1f}/s); server CPU (from the first sign-in) "
          + " ".join(f"{n}={100 * v:.0f}%" for n, v in mix_cpu["servers"].items())
          + f", load generator {100 * client_cpu:.0f}% of a core, machine {100 * mix_cpu['machine']:.0f}% busy")
    print_table(rows)
    fan = RECORD.fanout_ms
    if fan:
        print(f"live chat fan-out (send -> arrival at each participant): {len(fan)} deliveries, "
              f"p50 {_percentile(fan, 0.5):.0f} ms, p95 {_percentile(fan, 0.95):.0f} ms, "
              f"p99 {_percentile(fan, 0.99):.0f} ms")
    print_windows(mix_start, mix_end)
    slow = [r["name"] for r in rows if r["p95_ms"] > TARGET_P95_MS]
    print(f"target (p95 <= {TARGET_P95_MS:.0f} ms, 0 errors): "
          + ("met" if not slow and not errors else
             "NOT met" + (f" — p95 over target: {', '.join(slow)}" if slow else "") + (f" — {errors} errors" if errors else "")))
    print()
    print(f"Relative throughput (same servers, same run; {args.phase_users} users without think time, "
          f"{args.rounds} alternating rounds of {args.phase_seconds:g} s each):")
    print(f"  library list  {ratio['library_rps']:7.1f} req/s  ({ratio['requests']['library']} requests)")
    print(f"  bare route    {ratio['bare_rps']:7.1f} req/s  ({ratio['requests']['bare']} requests)")
    print(f"  library / bare = {ratio['ratio']:.3f}")
    throughput_rows = summarise(lambda phase: phase.startswith("throughput") and not phase.endswith(":ramp"))
    print_table(throughput_rows)
    if errors:
        print(f"\nErrors ({errors}):")
        for (phase, name, what), count in sorted(RECORD.errors.items(), key=lambda x: -x[1])[:40]:
            print(f"  {count:>5} x {name} [{phase}]: {what}")
        for name, tail in tails.items():
            print(f"  server {name}, last lines of its log:\n    " + tail.replace("\n", "\n    "))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"load-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps({
        "users": args.users, "minutes": args.minutes, "servers": args.servers, "machine_busy_before": background,
        "mix": rows, "ramp": ramp_rows, "ramp_seconds": mix_start - ramp_start, "errors": [{"phase": p, "name": n, "what": w, "count": c} for (p, n, w), c in RECORD.errors.items()],
        "fanout_ms": {"count": len(fan), "p50": _percentile(fan, 0.5), "p95": _percentile(fan, 0.95),
                      "p99": _percentile(fan, 0.99)},
        "throughput": ratio, "throughput_groups": throughput_rows, "cpu": mix_cpu,
        # every request of the mix: seconds since everyone was signed in, group, milliseconds (for tails over time)
        "samples": sorted([round(at - mix_start, 3), name, round(ms, 1)] for (phase, name), values in RECORD.times.items()
                          if phase == "mix" for at, ms in values)}, indent=1, default=str))
    print(f"\nsaved {out.relative_to(ROOT)}; total {time.monotonic() - started:.0f} s; schema {SCHEMA} dropped")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
