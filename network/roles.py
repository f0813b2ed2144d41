"""Roles are data: the one list of roles and what kind each is."""
from __future__ import annotations

import enum


class Role(enum.StrEnum):
    PATIENT = "patient"
    PARENT = "parent"
    CLINICIAN = "clinician"
    SITE_LEAD = "site_lead"
    NETWORK_LEADER = "network_leader"
    MODERATOR = "moderator"

    @property
    def at_site(self) -> bool:
        return self in SITE_ROLES

    @property
    def is_family(self) -> bool:
        """Patients and parents: the people care is for, whose voice coproduction counts."""
        return self in (Role.PATIENT, Role.PARENT)

    @property
    def is_professional(self) -> bool:
        return self in (Role.CLINICIAN, Role.SITE_LEAD)


SITE_ROLES = (Role.PATIENT, Role.PARENT, Role.CLINICIAN, Role.SITE_LEAD)
NETWORK_ROLES = (Role.NETWORK_LEADER, Role.MODERATOR)


#: the order in which a person's roles are tried when they do not say which one they act in
ROLE_PRIORITY = (Role.PATIENT, Role.PARENT, Role.CLINICIAN, Role.SITE_LEAD, Role.NETWORK_LEADER, Role.MODERATOR)
