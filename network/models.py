"""Imports every model module of the network package, so the metadata is complete (migrations, tests)."""
from network import agreements, audit, bright_spots, groups, notifications, outbox, outcomes, people, sessions, usage  # noqa: F401
