"""Imports every model module of the network package, so the metadata is complete (migrations, tests)."""
from network import (agreements, audit, bright_spots, council, groups, minors, notifications, outbox,  # noqa: F401
                     outcomes, people, sessions, usage)
