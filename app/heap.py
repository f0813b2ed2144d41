"""Few and short garbage-collector pauses in a serving process (`gc.freeze`, a larger young generation).

A server process holds ~500,000 objects that live as long as it does: the modules, the routes and
templates, the ORM's mappings, the pronouncing dictionary of the readability panel (textstat loads it at
the first English text: ~265,000 lists) and, once warmed, the drawn charts. Python's full collection
walks all of them, and under gevent the whole process (every request in flight, every live room) waits
while it does: under the load test (`bench/load.py`, 200 members) each server ran a full collection
every ~5 s, taking 300-500 ms of wall time each.

`settle()` loads that dictionary, then freezes every object alive: frozen objects are still freed when
nothing refers to them, but no collection walks them again. It also raises the young generation's
threshold from Python's 700 to YOUNG: a page in flight under gevent keeps its objects for tens of
milliseconds, and with 700 the collector ran ~40 times a second, promoting those objects to the older
generations that full collections walk. In a 2-minute load-test run this took the collector from ~7,000
runs and ~10 s of each server's time to ~180 runs and ~2 s.

Called where a process is about to serve (wsgi.py, after building the app) and after warming the chart
caches (app/outcomes/warm.py). Never in create_app: tests build many apps in one process.
"""
from __future__ import annotations

import gc

#: the young generation's collection threshold in a serving process (allocations less deallocations)
YOUNG = 10_000


def settle() -> int:
    """Load what libraries otherwise load at first use and keep for good (textstat's dictionaries), collect
    what is garbage now, freeze every object still alive and raise the young generation's threshold;
    returns how many objects are frozen."""
    from content import readability

    readability.preload()
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG, *gc.get_threshold()[1:])
    return gc.get_freeze_count()
