"""Short garbage-collector pauses in a serving process (`gc.freeze`).

A server process holds ~250,000 objects that live as long as it does: the modules, the routes and
templates, the ORM's mappings, and, once warmed, the drawn charts. Python's full (oldest-generation)
collection walks all of them, and under gevent the whole process (every request in flight, every live
room) waits while it does: under the load test (`bench/load.py`, 200 members) each server ran a full
collection every ~5 s, taking 300-500 ms of wall time each. A quarter of a million of those objects were
the pronouncing dictionary textstat loads at the first English readability panel: it is loaded first. Freezing moves the objects alive at that
moment out of the collector's reach; they are still freed when nothing refers to them, and what is made
afterwards is collected as before. A full collection then walks tens of thousands of objects, not
hundreds of thousands.

Called where a process is about to serve (wsgi.py, after building the app) and after warming the chart
caches (app/outcomes/warm.py). Never in create_app: tests build many apps in one process.
"""
from __future__ import annotations

import gc


def freeze() -> int:
    """Load what libraries otherwise load at first use and keep for good (textstat's dictionaries), collect
    what is garbage now, then freeze every object still alive; returns how many are frozen."""
    from content import readability

    readability.preload()
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
