"""Imports every model module of the network package, so the metadata is complete (migrations, tests)."""
from network import (audit, bright_spots, consent, devices, groups, notifications, outbox, outcomes, people,  # noqa: F401
                     sessions, twostep, usage)
