"""Imports every model module of the network package, so the metadata is complete (migrations, tests)."""
from network import (agreements, audit, bright_spots, consent, council, devices, groups, minors,  # noqa: F401
                     notifications, outbox, outcomes, people, sessions, twostep, usage)
