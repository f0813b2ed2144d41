"""The co-authored tool library at network scale: 10,000 resources, 100,000 revisions.

Builds the library on SQLite (a file database) and, when it answers, PostgreSQL on 127.0.0.1:5432/test
(schema `bench_library`), then prints each figure with its target:
  1. search: content.search.search() over 200 varied queries (1-3 vocabulary words, some typed as
     prefixes), each in its own session as in a request, p50 / p95                 [target p50 <= 50 ms]
     and the search page /library/?q=... over 50 of those queries (server time through the Flask
     test client), p50 / p95                         [no target of its own: the service's is applied]
  2. the resource page /library/<slug> over 30 published resources, p50 / p95      [target <= 50 ms]
  3. the history page of the resource with 500 revisions (page 1 and page 5), p50 / p95, and the
     number of SQL statements each page runs                                        [target <= 100 ms]
  4. the diff of two 100 KB revisions: content.diff.inline_html and side_by_side (best / median of 10),
     and the compare page /library/<slug>/compare?a=1&b=2 (inline and side by side)  [target <= 100 ms]

The data: realistic Markdown bodies of about 2 KB (headings, paragraphs, lists) drawn from a seeded,
Zipf-weighted vocabulary of health, school and medicine words; about 10 revisions per resource, one
resource with 500 and one whose two revisions are 100 KB each; titles, tags and audiences; most resources
published at their newest revision (some in review, some drafts, a few archived). Rows are inserted with
SQLAlchemy Core executemany; the search index is the app's own table (content.search.create_schema),
filled with the INSERT that content.search.index_resource runs, which is checked against
index_resource itself on a sample resource. The build time is printed but is not a target.
Page timings are taken after one warm-up request per page (template compilation).

    .venv/bin/python bench/bench_library.py [--database sqlite|postgresql|both]
"""
from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from itertools import accumulate
from pathlib import Path
from urllib.parse import quote

import numpy as np
from sqlalchemy import bindparam, event, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import config  # noqa: E402
from app import create_app  # noqa: E402
from content import models as content_models  # noqa: E402,F401
from content import diff, search  # noqa: E402
from content.library import AUDIENCES, CoAuthor, Resource, ResourceType, Revision, Status  # noqa: E402
from content.markdown import plain_text  # noqa: E402
from network import models as network_models  # noqa: E402,F401
from network import passwords  # noqa: E402
from network.db import Base, make_engine, make_session_factory  # noqa: E402
from network.people import Membership, Site, User, session_token  # noqa: E402

logging.getLogger("alembic").setLevel(logging.WARNING)   # the app imports alembic, whose set-up chatter is noise here

PG_URL = "postgresql+psycopg://127.0.0.1:5432/test"
PG_SCHEMA = "bench_library"
SEED = 20250917

RESOURCES = 10_000
REVISIONS = 100_000
LONG_HISTORY_ID, LONG_HISTORY_REVISIONS = 1, 500     # the resource with a long history
LARGE_ID, LARGE_SIZE = 2, 100_000                    # the resource whose two revisions are 100 KB each
SITES, AUTHORS = 12, 60
LEAD_ID, READER_ID = 1, 2                            # a network leader (co-author of both special resources); a parent
CHUNK = 500                                          # resources per insert batch

SEARCH_QUERIES, SEARCH_PAGES, RESOURCE_PAGES, HISTORY_PAGES, DIFF_RUNS = 200, 50, 30, 20, 10
SEARCH_TARGET_MS, PAGE_TARGET_MS, HISTORY_TARGET_MS, DIFF_TARGET_MS = 50.0, 50.0, 100.0, 100.0

START = datetime(2023, 1, 9, 8, 0, tzinfo=timezone.utc)

# ---------------------------------------------------------------------------------------------
# Vocabulary: the words resources are written in (content words are Zipf-weighted, so some are in
# nearly every resource and some in a few, as in real text; queries draw from them uniformly)

CONTENT_WORDS = """
    asthma inhaler spacer peak flow wheeze cough breath breathing allergy allergic eczema emollient cream
    diabetes insulin glucose sugar meter pump ketones hypo hyper carbohydrate snack epilepsy seizure rescue
    buccal midazolam crohn colitis ibd bowel gut flare stool diarrhoea constipation cramps abdominal
    infliximab adalimumab azathioprine mesalazine steroid prednisolone budesonide methotrexate biologic
    injection infusion immunosuppressant vaccine vaccination fever temperature paracetamol ibuprofen dose
    dosing tablet capsule liquid syrup prescription pharmacy pharmacist medicine medicines medication side
    effects nausea vomiting fatigue tiredness anaemia iron vitamin calcium bone growth weight height puberty
    nutrition diet fibre fluids hydration water lunch breakfast appetite enteral feed formula tube
    school teacher classroom nurse headteacher plan care healthcare individual attendance absence exam
    exams homework timetable lesson lessons toilet pass trip trips sport sports swimming playground
    friends bullying college university transition adult adolescent teen teenager young people child
    children parent parents family families carer sibling siblings home bedtime sleep routine morning
    evening clinic appointment consultant doctor paediatrician gastroenterologist dietitian psychologist
    specialist team hospital ward admission discharge emergency ambulance urgent helpline phone call
    symptoms symptom pain tummy headache rash swelling bleeding blood test tests results scan colonoscopy
    endoscopy biopsy ultrasound mri calprotectin remission relapse monitoring review diary record chart
    goals goal questions decision choices options risks benefits consent confidential privacy support
    wellbeing anxiety worry stress mood mental emotional coping confidence independence self management
    checklist letter form forms passport emergency contact travel holiday insurance benefits money
    disability equality adjustment adjustments exam access arrangements uniform sunscreen hand washing
    infection infections immune chickenpox measles shingles flu covid isolation hygiene
""".split()

FUNCTION_WORDS = ("the", "a", "and", "to", "of", "with", "for", "in", "at", "your", "their", "if", "when",
                  "before", "after", "during", "can", "should", "may", "will", "is", "are", "on", "or")

HEADINGS = ("What it is", "At school", "At home", "Medicines", "When to call the team", "Warning signs",
            "Daily care", "Food and drink", "Sport and trips", "Exams", "Questions to ask", "Who to contact",
            "Growing up", "Travel", "Feelings and worries", "Tests and results", "Your rights",
            "Checklist before the visit", "Emergency plan", "Sleep", "Infections", "Side effects")

TOPICS = ("Asthma", "Type 1 diabetes", "Epilepsy", "Crohn's disease", "Ulcerative colitis", "Eczema",
          "Food allergy", "Coeliac disease", "IBD", "Anaemia", "Fever", "Constipation", "Growth and puberty",
          "Biologic infusions", "Steroid courses", "Moving to adult care", "Starting secondary school",
          "Enteral feeding", "Colonoscopy", "Vaccinations on immunosuppressants")

FORMS = ("at school", "at home", "a handbook for families", "a guide for teens", "for teachers",
         "before the clinic visit", "the first weeks", "questions and answers", "a care plan",
         "what parents ask", "a decision aid", "when things change", "a checklist")

TAGS = ("school", "medicines", "diet", "sport", "transition", "emergency", "newly diagnosed", "exams",
        "travel", "mental health", "infusions", "biologics", "steroids", "vaccines", "sleep", "growth",
        "teens", "parents", "clinic", "nursing", "self management", "flare", "remission", "pain")

SUMMARIES = ("Fixed a typo", "Clarified the dose", "Added the school section", "Reworded for teens",
             "Updated the helpline number", "Added questions from the parents' group", "Shortened the intro",
             "Checked by the clinical team", "Added a checklist", "Merged changes", "Edited")


_WEIGHTS = [1.0 / (rank + 2) ** 0.9 for rank in range(len(CONTENT_WORDS))]
_ORDERED = random.Random(SEED).sample(CONTENT_WORDS, len(CONTENT_WORDS))   # which words are common: seeded
_CUMULATIVE = list(accumulate(_WEIGHTS))


def words(rng: random.Random, n: int) -> list[str]:
    return rng.choices(_ORDERED, cum_weights=_CUMULATIVE, k=n)


def sentence(rng: random.Random) -> str:
    out = []
    for word in words(rng, rng.randint(6, 14)):
        if rng.random() < 0.45:
            out.append(rng.choice(FUNCTION_WORDS))
        out.append(word)
    k = rng.randrange(len(out))
    roll = rng.random()
    if roll < 0.06:
        out[k] = f"**{out[k]}**"
    elif roll < 0.09:
        out[k] = f"[{out[k]}](/library/{out[k]})"
    out[0] = out[0].capitalize()
    return " ".join(out) + rng.choice("....?!")


def block(rng: random.Random) -> list[str]:
    roll = rng.random()
    if roll < 0.45:
        return [" ".join(sentence(rng) for _ in range(rng.randint(2, 4)))]
    if roll < 0.75:
        return [f"- {sentence(rng)}" for _ in range(rng.randint(3, 6))]
    if roll < 0.88:
        return [f"{n}. {sentence(rng)}" for n in range(1, rng.randint(3, 6))]
    if roll < 0.94:
        return [f"> **Tip:** {sentence(rng)}"]
    return [f"- [ ] {sentence(rng)}" for _ in range(rng.randint(2, 4))]


def body_lines(rng: random.Random, size: int) -> list[str]:
    """A Markdown resource of about `size` characters, as lines (blank lines separate blocks)."""
    lines = [" ".join(sentence(rng) for _ in range(2)), ""]
    length = len(lines[0])
    while length < size:
        heading = f"## {rng.choice(HEADINGS)}"
        lines += [heading, ""]
        length += len(heading)
        for _ in range(rng.randint(1, 3)):
            new = block(rng)
            lines += new + [""]
            length += sum(len(line) + 1 for line in new) + 1
    return lines


def revise(rng: random.Random, lines: list[str], edits: int) -> list[str]:
    """The next revision: a few lines rewritten, added or removed (headings kept)."""
    lines = list(lines)
    for _ in range(edits):
        k = rng.randrange(len(lines))
        if not lines[k] or lines[k].startswith("## "):
            continue
        roll = rng.random()
        if roll < 0.6:
            prefix = lines[k][:2] if lines[k][:2] in ("- ", "> ") else ""
            lines[k] = prefix + sentence(rng)
        elif roll < 0.85:
            lines.insert(k + 1, f"- {sentence(rng)}")
        elif len(lines) > 8:
            del lines[k]
    return lines


def title(rng: random.Random) -> str:
    return f"{rng.choice(TOPICS)}: {rng.choice(FORMS)}"


def queries(n: int) -> list[str]:
    """Search boxes as people type them: 1-3 words, a quarter of them cut short mid-word."""
    rng = random.Random(SEED + 1)
    out = []
    for _ in range(n):
        picked = rng.sample(CONTENT_WORDS, rng.choice((1, 1, 2, 2, 2, 3)))
        if rng.random() < 0.25 and len(picked[-1]) > 4:
            picked[-1] = picked[-1][:rng.randint(3, len(picked[-1]) - 1)]
        out.append(" ".join(picked))
    return out


# ---------------------------------------------------------------------------------------------
# The data set, generated deterministically in batches (so both databases get the same rows)

@dataclass
class Batch:
    resources: list[dict] = field(default_factory=list)
    revisions: list[dict] = field(default_factory=list)
    coauthors: list[dict] = field(default_factory=list)
    pointers: list[dict] = field(default_factory=list)
    #: (resource id, published title, tags, published Markdown, language) for each readable resource
    readable: list[tuple] = field(default_factory=list)


def revision_counts() -> list[int]:
    """Revisions per resource: 500 for one, 2 for the 100 KB one, about 10 for the rest; 100,000 in all."""
    rng = random.Random(SEED + 2)
    counts = [rng.randint(4, 16) for _ in range(RESOURCES)]
    counts[LONG_HISTORY_ID - 1], counts[LARGE_ID - 1] = LONG_HISTORY_REVISIONS, 2
    ordinary = [i for i in range(RESOURCES) if i + 1 not in (LONG_HISTORY_ID, LARGE_ID)]
    while (excess := sum(counts) - REVISIONS) != 0:
        i = rng.choice(ordinary)
        step = 1 if excess < 0 else -1
        if 1 <= counts[i] + step <= 20:
            counts[i] += step
    return counts


def author_roles() -> dict[int, str]:
    """User id -> the role they write in (ids 3.. are authors at the sites)."""
    roles = ("patient", "parent", "parent", "clinician", "clinician", "site_lead")
    return {LEAD_ID: "network_leader", READER_ID: "parent",
            **{3 + k: roles[k % len(roles)] for k in range(AUTHORS)}}


def batches():
    counts = revision_counts()
    roles = author_roles()
    authors = list(range(3, 3 + AUTHORS))
    types = [t.value for t in ResourceType]
    revision_id = 0
    for first in range(0, RESOURCES, CHUNK):
        batch = Batch()
        for index in range(first, min(first + CHUNK, RESOURCES)):
            resource_id = index + 1
            rng = random.Random(SEED * 1_000_003 + resource_id)
            special = resource_id in (LONG_HISTORY_ID, LARGE_ID)
            name = title(rng)
            if resource_id == LONG_HISTORY_ID:
                name = "IBD at school: a handbook for families (long history)"
            elif resource_id == LARGE_ID:
                name = "Living with Crohn's disease: the complete family handbook"
            team = [LEAD_ID] if special else []
            team += rng.sample(authors, rng.randint(1, 3))
            created = START + timedelta(minutes=37 * index)
            lines = body_lines(rng, LARGE_SIZE if resource_id == LARGE_ID else rng.randint(1300, 2200))
            ids, bodies, when = [], [], created
            for number in range(1, counts[index] + 1):
                if number > 1:
                    edits = max(1, len(lines) // 20) if resource_id == LARGE_ID else rng.randint(1, 3)
                    lines = revise(rng, lines, edits)
                revision_id += 1
                author = rng.choice(team)
                body = "\n".join(lines) + "\n"
                batch.revisions.append({
                    "id": revision_id, "resource_id": resource_id, "number": number, "title": name, "body": body,
                    "summary": "First draft" if number == 1 else rng.choice(SUMMARIES), "author_id": author,
                    "acting_role": roles[author] if author != LEAD_ID else "site_lead", "kind": "edit",
                    "parent_id": ids[-1] if ids else None, "created_at": when})
                ids.append(revision_id)
                bodies.append(body)
                when += timedelta(hours=rng.randint(1, 240))
            roll = 0.0 if special else rng.random()
            status, published, review = Status.PUBLISHED.value, len(ids) - 1, None
            if 0.93 <= roll < 0.96:
                status, review = Status.IN_REVIEW.value, len(ids) - 1
                published = len(ids) - 2 if len(ids) > 1 else None
            elif 0.96 <= roll < 0.98:
                status, published = Status.DRAFT.value, None
            elif roll >= 0.98:
                status = Status.ARCHIVED.value
            tags = sorted(set(rng.sample(TAGS, rng.randint(1, 4))))
            audience = sorted(set(rng.sample(AUDIENCES, rng.randint(1, 2))))
            batch.resources.append({
                "id": resource_id, "slug": f"{slugify(name)}-{resource_id}", "title": name,
                "type": rng.choice(types), "audience": audience, "language": "en", "tags": tags,
                "status": status, "current_revision_id": None, "published_revision_id": None,
                "review_revision_id": None, "translation_of_id": None, "created_by_id": team[0],
                "created_at": created, "updated_at": when, "published_at": when if published is not None else None})
            batch.pointers.append({
                "rid": resource_id, "current": ids[-1], "published": ids[published] if published is not None else None,
                "review": ids[review] if review is not None else None})
            batch.coauthors += [{"resource_id": resource_id, "user_id": user, "added_by_id": team[0],
                                 "created_at": created} for user in dict.fromkeys(team)]
            if published is not None and status != Status.ARCHIVED.value:
                batch.readable.append((resource_id, name, " ".join(tags), bodies[published], "en"))
        yield batch


def slugify(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-").replace("--", "-")[:80]


_PLAIN_TEXT: dict[int, str] = {}


def _plain(item: tuple[int, str]) -> tuple[int, str]:
    return item[0], plain_text(item[1])


def plain_texts(readable: list[tuple]) -> dict[int, str]:
    """plain_text() of every published body, as index_resource stores it (computed once, on every core)."""
    missing = [(r[0], r[3]) for r in readable if r[0] not in _PLAIN_TEXT]
    if missing:
        with multiprocessing.get_context("fork").Pool(os.cpu_count() or 1) as pool:
            _PLAIN_TEXT.update(pool.imap_unordered(_plain, missing, chunksize=100))
    return _PLAIN_TEXT


# ---------------------------------------------------------------------------------------------
# Building a database

SQLITE_INDEX_SQL = "INSERT INTO search_resources (rowid, title, tags, body) VALUES (:id, :title, :tags, :body)"
POSTGRES_INDEX_SQL = (
    "INSERT INTO search_resources (resource_id, title, tags, body, config, document) VALUES "
    "(:id, :title, :tags, :body, CAST(:config AS regconfig), "
    " setweight(to_tsvector(CAST(:config AS regconfig), :title), 'A') || "
    " setweight(to_tsvector(CAST(:config AS regconfig), :tags), 'B') || "
    " to_tsvector(CAST(:config AS regconfig), :body))")


def build(url: str):
    engine = make_engine(url)
    if url.startswith("postgresql"):
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
        engine.dispose()
        engine = make_engine(url, connect_args={"options": f"-csearch_path={PG_SCHEMA}"})
    postgres = engine.dialect.name == "postgresql"
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        search.create_schema(conn)

    started = time.perf_counter()
    roles = author_roles()
    now = START
    with engine.begin() as conn:
        conn.execute(Site.__table__.insert(), [{"id": i, "slug": f"site-{i:02d}", "name": f"Children's Hospital {i:02d}",
                                                "city": "", "code": i, "is_active": True, "created_at": now}
                                               for i in range(1, SITES + 1)])
        password = passwords.hash_password("bench-password-123")
        conn.execute(User.__table__.insert(), [{
            "id": user_id, "email": f"user{user_id}@bench.test", "full_name": f"Bench Person {user_id}",
            "password_hash": password if user_id in (LEAD_ID, READER_ID) else None, "name_display": "full",
            "pronouns": "", "bio": "", "profile_roles": [], "is_active": True, "session_version": 1,
            "created_at": now} for user_id in roles])
        memberships = [{"user_id": LEAD_ID, "site_id": None, "role": "network_leader"},
                       {"user_id": LEAD_ID, "site_id": 1, "role": "site_lead"}]
        memberships += [{"user_id": user_id, "site_id": 1 + user_id % SITES, "role": role}
                        for user_id, role in roles.items() if user_id != LEAD_ID]
        conn.execute(Membership.__table__.insert(), [dict(m, id=k + 1, data_steward=False, created_at=now)
                                                     for k, m in enumerate(memberships)])

        pointers = Resource.__table__.update().where(Resource.__table__.c.id == bindparam("rid")).values(
            current_revision_id=bindparam("current"), published_revision_id=bindparam("published"),
            review_revision_id=bindparam("review"))
        readable: list[tuple] = []
        coauthor_id = 0
        totals = [0, 0, 0]
        for batch in batches():
            conn.execute(Resource.__table__.insert(), batch.resources)
            conn.execute(Revision.__table__.insert(), batch.revisions)
            for row in batch.coauthors:
                coauthor_id += 1
                row["id"] = coauthor_id
            conn.execute(CoAuthor.__table__.insert(), batch.coauthors)
            conn.execute(pointers, batch.pointers)
            readable += batch.readable
            totals[0] += len(batch.resources)
            totals[1] += len(batch.revisions)
            totals[2] += sum(len(r["body"]) for r in batch.revisions)
        if postgres:
            for table in ("sites", "users", "memberships", "resources", "revisions", "coauthors"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
    rows_time = time.perf_counter() - started

    started = time.perf_counter()
    texts = plain_texts(readable)
    index_rows = [{"id": rid, "title": name, "tags": tags, "body": texts[rid], "config": search.PG_CONFIG[lang]}
                  for rid, name, tags, _body, lang in readable]
    with engine.begin() as conn:
        sql = POSTGRES_INDEX_SQL if postgres else SQLITE_INDEX_SQL
        for k in range(0, len(index_rows), 1000):
            conn.execute(text(sql), index_rows[k:k + 1000])
    if postgres:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    index_time = time.perf_counter() - started
    check_index_is_the_apps(engine, next(r[0] for r in readable if r[0] > LARGE_ID))
    print(f"build: {totals[0]:,} resources, {totals[1]:,} revisions ({totals[2] / 1e6:.0f} MB of Markdown, "
          f"mean {totals[2] / totals[1] / 1000:.1f} KB) in {rows_time:.1f} s; search index of {len(index_rows):,} "
          f"published resources in {index_time:.1f} s{' (then VACUUM ANALYZE, as autovacuum would)' if postgres else ''}"
          "  [build time: not a target]")
    return engine


def check_index_is_the_apps(engine, resource_id: int) -> None:
    """The bulk-filled index row of a resource equals what content.search.index_resource writes."""
    postgres = engine.dialect.name == "postgresql"
    key = "resource_id" if postgres else "rowid"
    columns = "title, tags, body, config::text, document::text" if postgres else "title, tags, body"
    row_sql = text(f"SELECT {columns} FROM search_resources WHERE {key} = :id")
    with make_session_factory(engine)() as db:
        resource = db.get(Resource, resource_id)
        before = db.execute(row_sql, {"id": resource.id}).one()
        search.index_resource(db, resource)
        after = db.execute(row_sql, {"id": resource.id}).one()
    assert tuple(before) == tuple(after), "the bulk-filled search row differs from index_resource's"


# ---------------------------------------------------------------------------------------------
# Measuring

def app_for(engine):
    class BenchConfig(config.TestConfig):
        DATABASE_URL = "sqlite://"

    app = create_app(BenchConfig)
    db_ext = app.extensions["carecommons.db"]
    db_ext.engine = engine
    db_ext.session_factory = make_session_factory(engine)
    return app


def signed_in_client(app, user_id: int):
    client = app.test_client()
    with app.extensions["carecommons.db"].session_factory() as db:
        user = db.get(User, user_id)
        with client.session_transaction() as session:
            session["_user_id"] = session_token(user)
            session["login_at"] = session["seen_at"] = time.time()
    return client


def timed_get(client, path: str) -> float:
    start = time.perf_counter()
    response = client.get(path)
    elapsed = (time.perf_counter() - start) * 1000
    assert response.status_code == 200, (path, response.status_code)
    return elapsed


def statement_count(engine, client, path: str) -> int:
    count = [0]

    def on(*_args):
        count[0] += 1

    event.listen(engine, "before_cursor_execute", on)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", on)
    return count[0]


def p50_p95(times: list[float]) -> tuple[float, float]:
    return statistics.median(times), float(np.percentile(times, 95))


class Report:
    """Summary lines, each with its target and whether it was met."""

    def __init__(self, label: str):
        self.label = label
        self.lines: list[str] = []

    def add(self, name: str, figures: str, target: str, met: bool | None) -> None:
        verdict = "" if met is None else ("  ok" if met else "  MISSED")
        line = f"{name} {figures} [target {target}]{verdict}"
        self.lines.append(line)
        print(line)

    def percentiles(self, name: str, times: list[float], target_ms: float, extra: str = "",
                    target_note: str = "") -> None:
        p50, p95 = p50_p95(times)
        verdict = p50 <= target_ms
        note = "" if p95 <= target_ms or not verdict else f" (p95 over {target_ms:.0f} ms)"
        self.add(name, f"p50 {p50:.1f} ms, p95 {p95:.1f} ms over {len(times)}{extra}{note}",
                 f"p50 <= {target_ms:.0f} ms{target_note}", verdict)


def run(label: str, url: str) -> Report:
    print(f"\n== {label}: {RESOURCES:,} resources, {REVISIONS:,} revisions "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores when it starts)")
    engine = build(url)
    report = Report(label)
    app = app_for(engine)
    reader, lead = signed_in_client(app, READER_ID), signed_in_client(app, LEAD_ID)
    session_factory = app.extensions["carecommons.db"].session_factory
    typed = queries(SEARCH_QUERIES)

    # 1. search, the service and the page
    with session_factory() as db:
        viewer = db.get(User, READER_ID)   # memberships load eagerly, so it stays usable once detached
    # Each search gets its own session and transaction, as in a request. (One long transaction would
    # flatter PostgreSQL: psycopg prepares a statement after 5 runs but forgets it on every rollback,
    # so the app, which ends each request with one, never runs the search prepared.)
    times, hits = [], []
    for k, q in enumerate(typed[:5] + typed):
        with session_factory() as db:
            start = time.perf_counter()
            found = search.search(db, viewer, q)
            elapsed = (time.perf_counter() - start) * 1000
        if k >= 5:   # the first five warm up
            times.append(elapsed)
            hits.append(len(found))
    slowest = sorted(zip(times, typed), reverse=True)[:3]
    with engine.connect() as conn:
        key = "resource_id" if engine.dialect.name == "postgresql" else "rowid"
        sample = [(q, conn.execute(text(
            f"SELECT count(*) FROM search_resources s WHERE {key} IN ("
            + select_matches(engine.dialect.name) + ")"), match_params(engine.dialect.name, q)).scalar())
            for _t, q in slowest]
    report.percentiles("search (service)", times, SEARCH_TARGET_MS,
                       f" queries; {sum(h == 0 for h in hits)} found nothing, mean {statistics.mean(hits):.1f} hits")
    print("    slowest: " + "; ".join(f"{q!r} {t:.0f} ms ({n:,} matching resources)"
                                      for (t, q), (_q, n) in zip(slowest, sample)))
    timed_get(reader, "/library/?q=" + quote(typed[-1]))
    times = [timed_get(reader, "/library/?q=" + quote(q)) for q in typed[:SEARCH_PAGES]]
    report.percentiles("search page /library/?q=", times, SEARCH_TARGET_MS, " requests",
                       target_note=", the service's target applied to the page")

    # 2. the resource page
    with session_factory() as db:
        readable = list(db.scalars(select(Resource.slug).where(Resource.status == Status.PUBLISHED.value,
                                                               Resource.id > LARGE_ID).order_by(Resource.id)))
    pages = random.Random(SEED + 3).sample(readable, RESOURCE_PAGES + 1)
    timed_get(reader, f"/library/{pages[0]}")
    times = [timed_get(reader, f"/library/{slug}") for slug in pages[1:]]
    queries_show = statement_count(engine, reader, f"/library/{pages[1]}")
    report.percentiles("resource page /library/<slug>", times, PAGE_TARGET_MS,
                       f" requests, {queries_show} SQL statements")

    # 3. the history of the resource with 500 revisions
    with session_factory() as db:
        long_slug = db.get(Resource, LONG_HISTORY_ID).slug
        large_slug = db.get(Resource, LARGE_ID).slug
    for page in (1, 5):
        path = f"/library/{long_slug}/history" + ("" if page == 1 else f"?page={page}")
        timed_get(lead, path)
        times = [timed_get(lead, path) for _ in range(HISTORY_PAGES)]
        count = statement_count(engine, lead, path)
        report.percentiles(f"history page {page} (500 revisions)", times, HISTORY_TARGET_MS,
                           f" requests, {count} SQL statements")

    # 4. diffs of two 100 KB revisions
    with session_factory() as db:
        old, new = db.scalars(select(Revision.body).where(Revision.resource_id == LARGE_ID)
                              .order_by(Revision.number)).all()
    added, removed = diff.stats(old, new)
    print(f"    100 KB revisions: {len(old):,} and {len(new):,} characters, {added} words added, {removed} removed")
    for name, function in (("diff inline_html", diff.inline_html), ("diff side_by_side", diff.side_by_side)):
        runs = []
        for _ in range(DIFF_RUNS):
            start = time.perf_counter()
            function(old, new)
            runs.append((time.perf_counter() - start) * 1000)
        median = statistics.median(runs)
        report.add(f"{name} (100 KB)", f"best {min(runs):.1f} ms, median {median:.1f} ms of {DIFF_RUNS}",
                   f"<= {DIFF_TARGET_MS:.0f} ms", median <= DIFF_TARGET_MS)
    for view in ("inline", "side"):
        path = f"/library/{large_slug}/compare?a=1&b=2" + ("&view=side" if view == "side" else "")
        timed_get(lead, path)
        times = [timed_get(lead, path) for _ in range(DIFF_RUNS)]
        report.percentiles(f"compare page ({view}, 100 KB)", times, DIFF_TARGET_MS,
                           f" requests, {statement_count(engine, lead, path)} SQL statements")
    engine.dispose()
    return report


def select_matches(dialect: str) -> str:
    """The ids the search query matches (before LIMIT), to show how much each slow query had to rank."""
    if dialect == "sqlite":
        return "SELECT rowid FROM search_resources WHERE search_resources MATCH :match"
    return ("SELECT resource_id FROM search_resources WHERE document @@ (to_tsquery('english', :q) || "
            "to_tsquery('spanish', :q) || to_tsquery('simple', :q))")


def match_params(dialect: str, query: str) -> dict:
    return {"match": search._fts5_query(query)} if dialect == "sqlite" else {"q": search._tsquery(query)}


def postgres_problem() -> str | None:
    try:
        import psycopg

        psycopg.connect("host=127.0.0.1 port=5432 dbname=test connect_timeout=3").close()
    except Exception as exc:  # report and carry on: the SQLite figures stand on their own
        return f"{type(exc).__name__}: {exc}".strip()
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    started = time.perf_counter()
    reports = []
    if args.database in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            reports.append(run("SQLite (file)", f"sqlite:///{os.path.join(tmp, 'bench.db')}"))
    if args.database in ("postgresql", "both"):
        problem = postgres_problem()
        if problem:
            print(f"\n== PostgreSQL not reachable at 127.0.0.1:5432 ({problem}); skipped")
        else:
            reports.append(run("PostgreSQL", PG_URL))
    print("\n== Summary")
    for report in reports:
        print(f"-- {report.label}")
        for line in report.lines:
            print("  " + line)
    print(f"(whole run {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
