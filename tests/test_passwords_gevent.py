"""Password hashing under gevent (the production server): the process keeps serving while argon2 runs.

Found by the load test (bench/load.py): every sign-in stalled each other request and live-room socket
of a gevent worker for the whole argon2 computation. Runs in a subprocess, because the check needs the
standard library patched as gunicorn's gevent worker patches it, which a test must not do to pytest.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from network import passwords

ROOT = Path(__file__).resolve().parent.parent

PROBE = r"""
from gevent import monkey
monkey.patch_all()
import json, os, time
import gevent
from network import passwords

stored = passwords.hash_password("a long enough password")
ticks = []

def ticker():
    while True:
        ticks.append(time.monotonic())
        gevent.sleep(0.001)

beat = gevent.spawn(ticker)
gevent.sleep(0.01)
started = time.monotonic()
ok = passwords.verify(stored, "a long enough password")
wrong = passwords.verify(stored, "not the password at all")
ended = time.monotonic()
beat.kill()
print(json.dumps({"ok": ok, "wrong": wrong, "during": sum(1 for t in ticks if started < t < ended),
                  "seconds": ended - started, "served_at": os.getpriority(os.PRIO_PROCESS, 0),
                  "hashed_at": passwords._run(os.getpriority, os.PRIO_PROCESS, 0)}))
"""


def test_other_greenlets_run_while_a_password_is_checked():
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["ok"] is True and seen["wrong"] is False
    # each verify takes tens of milliseconds of C; a greenlet that sleeps 1 ms at a time must get turns
    assert seen["during"] >= 5, seen


def test_passwords_are_hashed_at_a_lower_priority_than_pages_are_served():
    """Found by the load test: 200 people signing in at 10 a second on 2 cores (~150 ms of argon2 each)
    took the CPU from the pages of everyone already signed in (seconds each). Hashing threads run
    niced; the serving thread keeps its priority. (Only on Linux, where niceness is a thread's own;
    elsewhere it would be the whole process's, so nothing is lowered.)"""
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["ok"] is True
    assert seen["served_at"] == os.getpriority(os.PRIO_PROCESS, 0), seen  # as it started (as pytest runs)
    lowered = max(seen["served_at"], passwords.HASHING_NICENESS) if sys.platform == "linux" else seen["served_at"]
    assert seen["hashed_at"] == lowered, seen
