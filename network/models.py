"""Imports every model module of the network package, so the metadata is complete (migrations, tests)."""
from network import audit, bright_spots, groups, notifications, outbox, outcomes, people, sessions, usage  # noqa: F401
from network import minors  # noqa: F401
