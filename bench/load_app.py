"""The server entry point of the load test (`bench/load.py`): the app as shipped (`create_app()`, as
wsgi.py builds it) plus one bare route, so that the library page's throughput can be read against the
cheapest page the same server can answer, in the same run.

    GET /bench/bare  ->  200 "ok"

It runs every request hook of the app (signed-in session, idle and absolute lifetimes, consent, security
headers) and nothing else: no query of its own, no template. It exists only in this module, so the app
as shipped (wsgi:app, and the app the access matrix crawls) has no such route.

    gunicorn -k gevent -w 1 --no-control-socket -b 127.0.0.1:PORT 'bench.load_app:create()'

A factory, so that bench/load.py can import BARE_PATH without building an app of its own.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app, heap  # noqa: E402

BARE_PATH = "/bench/bare"


def create():
    """The app as wsgi.py builds it (its heap settled), plus GET BARE_PATH."""
    app = create_app()
    heap.settle()  # as wsgi.py does

    @app.get(BARE_PATH)
    def bench_bare():
        """The trivial page the library page is compared with."""
        return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}

    return app
