"""Imports every model module of the content package, so the metadata is complete (migrations, tests)."""
from content import library, narratives, visits  # noqa: F401
from content import stewardship  # noqa: F401
from content import contact, safeguarding  # noqa: F401
