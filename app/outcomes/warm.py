"""Warming a server process's chart caches before readers ask (`WARM_CHARTS`, on in production).

A new process has no chart drawn: the first readers of each outcome overview waited while its 70 small
multiples were drawn (~10 ms each), and the load test (bench/load.py) saw its first seconds' p95 in
seconds. On its first request a serving process starts one background thread (a greenlet under
gevent, yielding between charts so requests go on) that computes every active measure's charts and
draws what the overview shows a member who sees site names, in the default language: the network chart
with its data table and every site's small multiple. Before that it compiles every page template (each
process otherwise compiled each template on its first use, ~0.8 s in all, in the first readers' time).
Then it settles the heap (app/heap.py), warmed caches included. CLI commands never warm (no request).
"""
from __future__ import annotations

import logging
import threading
import time

from flask import Flask

log = logging.getLogger("carecommons.warm")


def init_app(app: Flask) -> None:
    if not app.config.get("WARM_CHARTS"):
        return
    started = threading.Lock()

    @app.before_request
    def _start_warming():
        if started.acquire(blocking=False):  # once per process; never released
            thread = threading.Thread(target=_warm_logged, args=(app,), name="warm-charts", daemon=True)
            app.extensions["carecommons.warm"] = thread
            thread.start()


def _warm_logged(app: Flask) -> None:
    started = time.monotonic()
    try:
        compiled = compile_templates(app)
        drawn = warm(app)
    except Exception:  # a database down at start: readers draw the charts as they come
        log.warning("warming the chart caches failed; charts are drawn when first asked for", exc_info=True)
        return
    from app import heap

    frozen = heap.settle()  # the warmed charts live as long as the process: out of the collector's walks
    log.info("chart caches warm: %s templates compiled, %s charts drawn in %.1f s; %s objects frozen", compiled, drawn,
             time.monotonic() - started, frozen)


def compile_templates(app: Flask, *, pause=lambda: time.sleep(0)) -> int:
    """Compile every template into the Jinja environment's cache; returns how many."""
    names = app.jinja_env.list_templates()
    for name in names:
        app.jinja_env.get_template(name)
        pause()
    return len(names)


def warm(app: Flask, *, pause=lambda: time.sleep(0)) -> int:
    """Draw the outcome overviews' charts into the caches; returns how many were drawn. `pause` runs
    between charts (under gevent, time.sleep(0) lets waiting requests go first)."""
    from app.extensions import get_db
    from app.outcomes import render
    from network import outcome_reports, outcomes, people

    drawn = 0
    with app.test_request_context("/", headers={"Accept-Language": app.config["BABEL_DEFAULT_LOCALE"]}):
        db = get_db()
        for measure in outcomes.measures(db):
            network, by_site = outcome_reports.warm(db, measure)
            if network.labels:  # as outcomes/overview.html asks for them, to a viewer who sees names
                render.overview_network(measure, network)
                drawn += 1
            for site in people.active_sites(db, among=set(by_site)):
                pause()
                if by_site[site.id].labels:
                    render.small_multiple(measure, by_site[site.id], site.name, site)
                    drawn += 1
            pause()
    return drawn
