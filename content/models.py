"""Imports every model module of the content package, so the metadata is complete (migrations, tests)."""
from content import contact, library, narratives, pdsa, safeguarding, stewardship, visits  # noqa: F401
