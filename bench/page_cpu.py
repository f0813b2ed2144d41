"""CPU and queries per page, in one process: the pages bench/load.py's readers visit, as a demo parent.

What it does: a PostgreSQL schema of its own (`bench_pages_<pid>` in 127.0.0.1:5432/test, migrated and
filled by `flask demo seed`, dropped at the end), the app as wsgi.py builds it on that schema and Redis,
Flask's test client signed in through the sign-in form as parent.riverside-childrens. Every page is
fetched once to warm the caches (a page that does not answer 200 stops the run), then `--rounds` times
(rotating over up to 10 sites, tools or stories); it prints the SQL statements of one warm request and
the process CPU per request. No server, no network: what the page itself costs.

    .venv/bin/python bench/page_cpu.py [--rounds 40]
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import live_support  # noqa: E402

SCHEMA = f"bench_pages_{os.getpid()}"
SECRET = "bench-page-cpu-" + "x" * 32
EMAIL, PASSWORD = "parent.riverside-childrens@demo.carecommons.test", "carecommons-demo"


def _links(html: str, prefix: str) -> list[str]:
    return sorted(set(re.findall(rf'href="({re.escape(prefix)}[a-z0-9-]+)"', html)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=40, help="requests per page after the warm-up (default 40)")
    args = parser.parse_args()
    problem = live_support.services_problem()
    if problem:
        print(f"page_cpu: {problem}", file=sys.stderr)
        return 2
    schema = live_support.Schema(SCHEMA)
    try:
        schema.create()
        live_support.seed_demo(schema.url, SECRET)
        os.environ.update(live_support.server_env(schema.url, SECRET))
        return measure(args.rounds)
    finally:
        schema.drop()


def measure(rounds: int) -> int:
    import logging

    from sqlalchemy import event

    from app import create_app

    app = create_app()
    logging.getLogger().setLevel(logging.WARNING)  # not a line per request
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    signed = client.post("/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token.group(1)})
    if signed.status_code != 302:
        print(f"page_cpu: signing in answered {signed.status_code}", file=sys.stderr)
        return 1
    measures = [re.sub(r"^/outcomes/", "", m) for m in _links(client.get("/outcomes/measures").text, "/outcomes/")]
    key = next((m for m in measures if m == "remission"), measures[0] if measures else "remission")
    overview = client.get(f"/outcomes/{key}").text
    sites = _links(overview, f"/outcomes/{key}/sites/")[:10]
    pages = {"/healthz": ["/healthz"], "home": ["/"], "outcome overview": [f"/outcomes/{key}"],
             "site chart": sites, "site SVG": [f"{s}.svg" for s in sites], "library list": ["/library/"],
             "library resource": [r for r in _links(client.get("/library/").text, "/library/")
                                  if r.rsplit("/", 1)[-1] not in ("new", "mine", "review")][:10],
             "stories list": ["/stories/"], "story": _links(client.get("/stories/").text, "/stories/")[:10]}
    statements: list[str] = []
    engine = app.extensions["carecommons.db"].engine
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, sql, *_a: statements.append(sql))
    print(f"{'page':<18} {'queries':>7} {'CPU ms':>7}   (demo network, PostgreSQL, warm caches, {rounds} requests)")
    for name, urls in pages.items():
        for url in urls:
            answer = client.get(url)
            if answer.status_code != 200:
                print(f"page_cpu: {url} answered {answer.status_code}", file=sys.stderr)
                return 1
        statements.clear()
        client.get(urls[0])
        queries = len(statements)
        started = time.process_time()
        for n in range(rounds):
            client.get(urls[n % len(urls)])
        print(f"{name:<18} {queries:>7} {1000 * (time.process_time() - started) / rounds:>7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
