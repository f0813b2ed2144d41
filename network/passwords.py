"""Password hashing with argon2id (OWASP parameters; Werkzeug's scrypt default is below them)."""
from __future__ import annotations

import os
import sys

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from network.i18n import N_

MIN_LENGTH = 12
MAX_LENGTH = 128

_hasher = PasswordHasher()  # argon2id, t=3, m=64 MiB, p=4


#: under gevent, hashing runs in threads of its own at this niceness (on Linux niceness belongs to a
#: thread, and argon2's lane threads inherit it). A sign-in costs ~150 ms of CPU: while 200 people
#: signed in at 10 a second on 2 cores (bench/load.py), hashing at the servers' own priority took most
#: of the machine and the pages of the people already in took 3-9 s. Now pages go first and sign-ins
#: take the CPU that is left (docs/deploy.md).
HASHING_NICENESS = 10
HASHING_THREADS = 2
_pool: tuple[int, object] | None = None  # (pid, gevent ThreadPool): each process its own, made after fork


def _run(fn, *args):
    """Run one hash computation. In a gevent server (gunicorn's gevent worker patches the standard
    library) it goes to a low-priority thread: argon2 spends ~0.1 s or more in C, which would
    otherwise stall every other request and live-room socket of the process for that long (found by
    bench/load.py while 200 people signed in); argon2 releases the GIL, so the process serves on."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("threading"):
        return _hashing_pool().apply(_at_low_priority, (fn, *args))
    return fn(*args)


def _hashing_pool():
    global _pool
    if _pool is None or _pool[0] != os.getpid():
        from gevent.threadpool import ThreadPool

        _pool = (os.getpid(), ThreadPool(HASHING_THREADS))
    return _pool[1]


def _at_low_priority(fn, *args):
    """In a hashing thread: lower this thread's priority (once; only on Linux, where it is the
    thread's own and not the whole process's), then run."""
    if sys.platform == "linux" and os.getpriority(os.PRIO_PROCESS, 0) < HASHING_NICENESS:
        os.setpriority(os.PRIO_PROCESS, 0, HASHING_NICENESS)
    return fn(*args)


def hash_password(password: str) -> str:
    return _run(_hasher.hash, password)


def verify(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _run(_hasher.verify, password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_problems(password: str) -> list[str]:
    """What is wrong with a new password, in plain words (empty when it is acceptable)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(N_("Use at least %(min_length)s characters.", min_length=MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        problems.append(N_("Use at most %(max_length)s characters.", max_length=MAX_LENGTH))
    if password and len(set(password)) < 4:
        problems.append(N_("Use a less repetitive password."))
    return problems
