"""Imports every model module of the content package, so the metadata is complete (migrations, tests)."""
from content import library, narratives  # noqa: F401
