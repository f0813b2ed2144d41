"""Imports every model module of the network package, so the metadata is complete (migrations, tests)."""
from network import (agreements, audit, bright_spots, council, groups, notifications, outbox, outcomes,  # noqa: F401
                     people, sessions, usage)
