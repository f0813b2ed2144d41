"""THE access policy. Every check in the project is `can(actor, action, target)` or `require(...)`.

A rule answers with a Decision, so one table decides both *whether* and *how* a refusal shows:
another site's object is HIDDEN (404, its existence is not confirmed), a role that may not is
FORBIDDEN (403), and an anonymous visitor is asked to SIGN_IN (302 to the sign-in page, 401 for the
API). Rules read the actor's active memberships only, so an ended membership loses access at once.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Callable

from network.errors import Forbidden, NotFound, Unauthenticated
from network.roles import SITE_ROLES, Role
from network.i18n import N_


class Decision(enum.Enum):
    ALLOW = "allow"
    HIDDEN = "hidden"
    FORBIDDEN = "forbidden"
    SIGN_IN = "sign_in"


@dataclass(frozen=True)
class Anonymous:
    """The domain's visitor who has not signed in (the web layer converts Flask-Login's)."""

    id: None = None
    is_authenticated: bool = False
    is_anonymous: bool = True
    memberships: tuple = ()
    roles: frozenset = frozenset()

    def has_role(self, role: Role, site_id: int | None = None) -> bool:
        return False

    def site_ids(self, *roles: Role) -> set[int]:
        return set()


ANONYMOUS = Anonymous()


@dataclass(frozen=True)
class Rule:
    action: str
    who: str  # the README's words for who may do it
    decide: Callable[[Any, Any], Decision]


RULES: dict[str, Rule] = {}


def rule(action: str, who: str):
    def register(fn: Callable[[Any, Any], Decision]):
        RULES[action] = Rule(action, who, fn)
        return fn
    return register


def decide(actor, action: str, target: Any = None) -> Decision:
    if action not in RULES:
        raise KeyError(f"no access rule for {action!r}")
    return RULES[action].decide(actor or ANONYMOUS, target)


def can(actor, action: str, target: Any = None) -> bool:
    return decide(actor, action, target) is Decision.ALLOW


def require(actor, action: str, target: Any = None) -> None:
    decision = decide(actor, action, target)
    if decision is Decision.ALLOW:
        return
    if decision is Decision.SIGN_IN:
        raise Unauthenticated(N_("Sign in to continue."))
    if decision is Decision.HIDDEN:
        raise NotFound(N_("Not found."))
    raise Forbidden(N_("Your role does not allow this."))


# ---------------------------------------------------------------------------------------------
# Facts about an actor, used by the rules below

def signed_in(actor) -> bool:
    return bool(getattr(actor, "is_authenticated", False))


def is_leader(actor) -> bool:
    return signed_in(actor) and actor.has_role(Role.NETWORK_LEADER)


def is_moderator(actor) -> bool:
    return signed_in(actor) and actor.has_role(Role.MODERATOR)


def leads_site(actor, site_id: int | None) -> bool:
    return site_id is not None and signed_in(actor) and actor.has_role(Role.SITE_LEAD, site_id)


def member_of_site(actor, site_id: int | None) -> bool:
    return site_id is not None and site_id in actor.site_ids()


def _members_only(actor, allowed: bool) -> Decision:
    if not signed_in(actor):
        return Decision.SIGN_IN
    return Decision.ALLOW if allowed else Decision.FORBIDDEN


def _site_scoped(actor, site_id: int | None, allowed_here: bool) -> Decision:
    """Leaders anywhere; otherwise a site's own people decide, and other sites do not see it."""
    if not signed_in(actor):
        return Decision.SIGN_IN
    if is_leader(actor) or allowed_here:
        return Decision.ALLOW
    return Decision.FORBIDDEN if member_of_site(actor, site_id) else Decision.HIDDEN


# ---------------------------------------------------------------------------------------------
# The rules. Keep this table and the README's "Who may do what" table in step (a test checks).

@rule("network.view", "every signed-in member")
def _network_view(actor, _target) -> Decision:
    return _members_only(actor, True)


@rule("site.view", "every signed-in member (the network shares openly)")
def _site_view(actor, _site) -> Decision:
    return _members_only(actor, True)


@rule("site.view_team", "the site's own members; network leaders")
def _site_view_team(actor, site) -> Decision:
    return _site_scoped(actor, site.id, member_of_site(actor, site.id))


@rule("site.manage", "network leaders (create, rename, deactivate sites)")
def _site_manage(actor, _target) -> Decision:
    return _members_only(actor, is_leader(actor))


@rule("membership.manage", "network leaders; a site lead for their own site")
def _membership_manage(actor, site) -> Decision:
    return _site_scoped(actor, site.id, leads_site(actor, site.id))


@rule("membership.grant", "network leaders, any role; a site lead, site roles at their own site")
def _membership_grant(actor, grant) -> Decision:
    if grant.site is None:  # a network role
        return _members_only(actor, is_leader(actor))
    return _site_scoped(actor, grant.site.id, leads_site(actor, grant.site.id) and grant.role in SITE_ROLES)


@rule("people.manage", "network leaders (people list, activation)")
def _people_manage(actor, _target) -> Decision:
    return _members_only(actor, is_leader(actor))


@rule("audit.read", "network leaders")
def _audit_read(actor, _target) -> Decision:
    return _members_only(actor, is_leader(actor))


@rule("profile.edit", "the person themselves")
def _profile_edit(actor, user) -> Decision:
    return _members_only(actor, signed_in(actor) and actor.id == user.id)


@rule("carelink.manage", "network leaders; a site lead where the patient is a patient")
def _carelink_manage(actor, patient) -> Decision:
    patient_sites = patient.site_ids(Role.PATIENT)
    return _members_only(actor, is_leader(actor) or any(leads_site(actor, s) for s in patient_sites))


# ---------------------------------------------------------------------------------------------
# Outcome sharing

def submits_for(actor, site_id: int) -> bool:
    """Site leads, clinicians holding the data-steward right there, and the site's API tokens."""
    if getattr(actor, "acting_role", None) == "api_token":
        return actor.site_id == site_id
    return signed_in(actor) and any(
        m.site_id == site_id and (m.role == Role.SITE_LEAD or (m.role == Role.CLINICIAN and m.data_steward))
        for m in actor.memberships)


@rule("outcomes.view", "every signed-in member: every site's charts, counts and comparisons")
def _outcomes_view(actor, _target) -> Decision:
    if getattr(actor, "acting_role", None) == "api_token":
        return Decision.ALLOW
    return _members_only(actor, True)


@rule("outcomes.view_public", "everyone, signed in or not: network aggregates and anonymised, suppressed comparisons")
def _outcomes_public(_actor, _target) -> Decision:
    return Decision.ALLOW


@rule("outcomes.submit", "a site lead, or a clinician with the data-steward right, for their own site; the site's API token")
def _outcomes_submit(actor, site) -> Decision:
    if site is None:  # "may this person submit for some site?"
        allowed = signed_in(actor) and any(submits_for(actor, m.site_id) for m in actor.memberships if m.site_id)
        return _members_only(actor, allowed)
    if submits_for(actor, site.id):
        return Decision.ALLOW
    if not signed_in(actor):
        return Decision.SIGN_IN
    if getattr(actor, "acting_role", None) == "api_token":
        return Decision.FORBIDDEN
    return Decision.FORBIDDEN if member_of_site(actor, site.id) or is_leader(actor) else Decision.HIDDEN


@rule("outcomes.manage_tokens", "network leaders; a site lead for their own site")
def _outcomes_tokens(actor, site) -> Decision:
    return _site_scoped(actor, site.id, leads_site(actor, site.id))


@rule("measure.manage", "network leaders (define and edit measures)")
def _measure_manage(actor, _target) -> Decision:
    return _members_only(actor, is_leader(actor))


# ---------------------------------------------------------------------------------------------
# The tool library. Targets are resources (duck-typed: status, is_readable, coauthor_ids).

def coauthors(actor, resource) -> bool:
    return signed_in(actor) and actor.id in resource.coauthor_ids and bool(actor.memberships)


def _in_review(resource) -> bool:
    return resource.status == "in_review"


@rule("library.browse", "every signed-in member")
def _library_browse(actor, _target) -> Decision:
    return _members_only(actor, True)


@rule("library.create", "every signed-in member (they become its first co-author)")
def _library_create(actor, _target) -> Decision:
    return _members_only(actor, bool(actor.memberships) if signed_in(actor) else False)


@rule("library.view", "published or in-review resources: every member; drafts: co-authors and network leaders")
def _library_view(actor, resource) -> Decision:
    if not signed_in(actor):
        return Decision.SIGN_IN
    if resource.is_readable or _in_review(resource) or coauthors(actor, resource) or is_leader(actor):
        return Decision.ALLOW
    return Decision.HIDDEN


@rule("library.view_working", "co-authors and network leaders; every member while it is in review")
def _library_view_working(actor, resource) -> Decision:
    if not signed_in(actor):
        return Decision.SIGN_IN
    allowed = coauthors(actor, resource) or is_leader(actor) or _in_review(resource)
    return Decision.ALLOW if allowed else (Decision.FORBIDDEN if resource.is_readable else Decision.HIDDEN)


@rule("library.view_history", "as library.view_working (history shows unpublished revisions)")
def _library_view_history(actor, resource) -> Decision:
    return _library_view_working(actor, resource)


@rule("library.edit", "co-authors (not once archived)")
def _library_edit(actor, resource) -> Decision:
    if not signed_in(actor):
        return Decision.SIGN_IN
    if resource.status == "archived":
        return Decision.FORBIDDEN
    if coauthors(actor, resource):
        return Decision.ALLOW
    return Decision.FORBIDDEN if _library_view(actor, resource) is Decision.ALLOW else Decision.HIDDEN


@rule("library.manage_coauthors", "co-authors")
def _library_manage_coauthors(actor, resource) -> Decision:
    return _library_edit(actor, resource)


@rule("library.suggest", "members who can read it and are not co-authors")
def _library_suggest(actor, resource) -> Decision:
    seen = _library_view(actor, resource)
    if seen is not Decision.ALLOW:
        return seen
    return Decision.FORBIDDEN if coauthors(actor, resource) or resource.status == "archived" else Decision.ALLOW


@rule("library.decide_suggestion", "co-authors")
def _library_decide(actor, resource) -> Decision:
    return _library_edit(actor, resource)


@rule("library.comment", "members who can read it")
def _library_comment(actor, resource) -> Decision:
    return _library_view(actor, resource)


@rule("library.review", "patients, parents, clinicians and site leads who can read it (approval rules in the service)")
def _library_review(actor, resource) -> Decision:
    seen = _library_view(actor, resource)
    if seen is not Decision.ALLOW:
        return seen
    reviewer = any(actor.has_role(role) for role in (Role.PATIENT, Role.PARENT, Role.CLINICIAN, Role.SITE_LEAD))
    return Decision.ALLOW if reviewer else Decision.FORBIDDEN


@rule("library.publish", "co-authors and network leaders, once a patient or parent and a clinician approved")
def _library_publish(actor, resource) -> Decision:
    if signed_in(actor) and is_leader(actor):
        return Decision.ALLOW
    return _library_edit(actor, resource)


@rule("library.archive", "co-authors and network leaders")
def _library_archive(actor, resource) -> Decision:
    return _library_publish(actor, resource)


@rule("library.adopt", "a site lead, for their own site")
def _library_adopt(actor, site) -> Decision:
    if not signed_in(actor):
        return Decision.SIGN_IN
    if leads_site(actor, site.id):
        return Decision.ALLOW
    return Decision.FORBIDDEN if member_of_site(actor, site.id) or is_leader(actor) else Decision.HIDDEN


# ---------------------------------------------------------------------------------------------
# Personal narratives. Targets are stories (duck-typed: status, visibility, site_id, author_id).

@rule("story.read", "published: by its visibility (public: anyone; network: members; site: that site's members); "
                    "unpublished: its author and moderators")
def _story_read(actor, story) -> Decision:
    if story.status == "published":
        if story.visibility == "public":
            return Decision.ALLOW
        if not signed_in(actor):
            return Decision.SIGN_IN
        if story.visibility == "network" or is_moderator(actor) or is_leader(actor):
            return Decision.ALLOW
        return Decision.ALLOW if member_of_site(actor, story.site_id) else Decision.HIDDEN
    if not signed_in(actor):
        return Decision.SIGN_IN
    return Decision.ALLOW if actor.id == story.author_id or is_moderator(actor) else Decision.HIDDEN


@rule("story.tell", "every signed-in member")
def _story_tell(actor, _target) -> Decision:
    return _members_only(actor, bool(actor.memberships) if signed_in(actor) else False)


@rule("story.edit", "the author (edit, narrow who reads it, withdraw, delete)")
def _story_edit(actor, story) -> Decision:
    if not signed_in(actor):
        return Decision.SIGN_IN
    if actor.id == story.author_id:
        return Decision.ALLOW
    return Decision.FORBIDDEN if _story_read(actor, story) is Decision.ALLOW else Decision.HIDDEN


@rule("story.respond", "signed-in members who can read it ('this helped me', comments)")
def _story_respond(actor, story) -> Decision:
    if not signed_in(actor):
        return Decision.SIGN_IN
    return _story_read(actor, story)


@rule("story.moderate", "moderators")
def _story_moderate(actor, _target) -> Decision:
    return _members_only(actor, is_moderator(actor))


@rule("story.feature", "network leaders")
def _story_feature(actor, _target) -> Decision:
    return _members_only(actor, is_leader(actor))


# ---------------------------------------------------------------------------------------------
# Learning sessions. Targets: sessions (facilitator_ids, room_is_open) and room entries (registered).

def facilitates(actor, session) -> bool:
    return signed_in(actor) and (actor.id in session.facilitator_ids or is_leader(actor))


@rule("session.browse", "every signed-in member")
def _session_browse(actor, _target) -> Decision:
    return _members_only(actor, True)


@rule("session.view", "every signed-in member (details, agenda, transcript)")
def _session_view(actor, _session) -> Decision:
    return _members_only(actor, True)


@rule("session.create", "network leaders")
def _session_create(actor, _target) -> Decision:
    return _members_only(actor, is_leader(actor))


@rule("session.manage", "network leaders and the session's facilitators (details, agenda, facilitators)")
def _session_manage(actor, session) -> Decision:
    return _members_only(actor, facilitates(actor, session))


@rule("session.register", "every member with a role in the network")
def _session_register(actor, _session) -> Decision:
    return _members_only(actor, bool(actor.memberships) if signed_in(actor) else False)


@rule("session.join", "registered members while the room is open; facilitators and leaders always")
def _session_join(actor, entry) -> Decision:
    if not signed_in(actor):
        return Decision.SIGN_IN
    if facilitates(actor, entry.session):
        return Decision.ALLOW
    return Decision.ALLOW if entry.registered and entry.session.room_is_open() else Decision.FORBIDDEN


@rule("session.facilitate", "network leaders and the session's facilitators (agenda, polls, pins, mute, breakouts)")
def _session_facilitate(actor, session) -> Decision:
    return _members_only(actor, facilitates(actor, session))


# ---------------------------------------------------------------------------------------------
# A patient's own data: previsit plans and tracking. Targets: PatientScope (patient_id, site_ids,
# parent_ids — only parents who may still act for the patient —, tracking_shared). Network leaders
# see aggregates only.

def _family(actor, data_scope) -> bool:
    return signed_in(actor) and (actor.id == data_scope.patient_id or parent_acts_for(actor, data_scope))


def _care_team(actor, site_ids) -> bool:
    return signed_in(actor) and any(actor.has_role(Role.CLINICIAN, s) or actor.has_role(Role.SITE_LEAD, s)
                                    for s in site_ids)


@rule("patient_data.edit", "the patient and their linked parents (parents: until 18, unless the patient renews)")
def _patient_data_edit(actor, data_scope) -> Decision:
    if not signed_in(actor):
        return Decision.SIGN_IN
    if _family(actor, data_scope):
        return Decision.ALLOW
    return Decision.FORBIDDEN if _care_team(actor, data_scope.site_ids) else Decision.HIDDEN


@rule("patient_data.view", "the family; clinicians and site leads at the patient's site (each look audited)")
def _patient_data_view(actor, data_scope) -> Decision:
    if not signed_in(actor):
        return Decision.SIGN_IN
    return Decision.ALLOW if _family(actor, data_scope) or _care_team(actor, data_scope.site_ids) else Decision.HIDDEN


@rule("tracking.view", "the family; the patient's care team only while the family shares it (audited)")
def _tracking_view(actor, data_scope) -> Decision:
    if not signed_in(actor):
        return Decision.SIGN_IN
    allowed = _family(actor, data_scope) or (data_scope.tracking_shared and _care_team(actor, data_scope.site_ids))
    return Decision.ALLOW if allowed else Decision.HIDDEN


@rule("plan.annotate", "clinicians and site leads at the visit's site (notes on a plan)")
def _plan_annotate(actor, data_scope) -> Decision:
    if not signed_in(actor):
        return Decision.SIGN_IN
    if _care_team(actor, data_scope.site_ids):
        return Decision.ALLOW
    return Decision.FORBIDDEN if _family(actor, data_scope) else Decision.HIDDEN


@rule("plan.worklist", "clinicians and site leads of that site")
def _plan_worklist(actor, site) -> Decision:
    if not signed_in(actor):
        return Decision.SIGN_IN
    if _care_team(actor, [site.id]):
        return Decision.ALLOW
    return Decision.FORBIDDEN if member_of_site(actor, site.id) or is_leader(actor) else Decision.HIDDEN


# ---------------------------------------------------------------------------------------------
# Library stewardship: review-due dates, site adaptations, the plain-language glossary and
# translations kept in step. Adaptation targets are duck-typed: site_id.

def site_team(actor, site_id: int | None) -> bool:
    """A site's clinicians and site lead: the people who adapt its tools (its patients and parents read them)."""
    return site_id is not None and signed_in(actor) and any(
        m.site_id == site_id and m.role in (Role.CLINICIAN, Role.SITE_LEAD) for m in actor.memberships)


def _team_decides(actor, site_id: int | None) -> Decision:
    """The site's team may; its other members and network leaders are refused; other sites do not see it."""
    if not signed_in(actor):
        return Decision.SIGN_IN
    if site_team(actor, site_id):
        return Decision.ALLOW
    return Decision.FORBIDDEN if member_of_site(actor, site_id) or is_leader(actor) else Decision.HIDDEN


@rule("library.confirm_review", "co-authors (confirm that a published resource is still current)")
def _library_confirm_review(actor, resource) -> Decision:
    return _library_edit(actor, resource)


@rule("library.set_review_date", "co-authors (choose a published resource's review-by date)")
def _library_set_review_date(actor, resource) -> Decision:
    return _library_edit(actor, resource)


@rule("library.overdue", "network leaders and site leads (the list of tools overdue for review)")
def _library_overdue(actor, _target) -> Decision:
    return _members_only(actor, is_leader(actor) or (signed_in(actor) and actor.has_role(Role.SITE_LEAD)))


@rule("library.adapt", "a site's clinicians and site lead, for their own site")
def _library_adapt(actor, site) -> Decision:
    return _team_decides(actor, site.id)


@rule("library.view_adaptation", "the site's members; network leaders")
def _library_view_adaptation(actor, adaptation) -> Decision:
    return _site_scoped(actor, adaptation.site_id, member_of_site(actor, adaptation.site_id))


@rule("library.edit_adaptation", "the site's clinicians and site lead (edit, merge network changes, offer a change back)")
def _library_edit_adaptation(actor, adaptation) -> Decision:
    return _team_decides(actor, adaptation.site_id)


@rule("library.sync_translation", "co-authors of the translation (mark it up to date with the original)")
def _library_sync_translation(actor, translation) -> Decision:
    return _library_edit(actor, translation)


@rule("glossary.view", "every signed-in member")
def _glossary_view(actor, _target) -> Decision:
    return _members_only(actor, True)


@rule("glossary.edit", "network leaders and moderators (the network's plain-language glossary)")
def _glossary_edit(actor, _target) -> Decision:
    return _members_only(actor, is_leader(actor) or is_moderator(actor))


# ---------------------------------------------------------------------------------------------
# The front door: notifications, groups, the people directory, search

@rule("notifications.own", "the person themselves")
def _notifications_own(actor, _target) -> Decision:
    return _members_only(actor, True)


@rule("group.view", "every signed-in member")
def _group_view(actor, _target) -> Decision:
    return _members_only(actor, True)


@rule("group.manage", "network leaders (create groups, add members, link resources and sessions)")
def _group_manage(actor, _target) -> Decision:
    return _members_only(actor, is_leader(actor))


@rule("directory.view", "every signed-in member (only people who opted in are listed)")
def _directory_view(actor, _target) -> Decision:
    return _members_only(actor, True)


@rule("search.everything", "every signed-in member; each result kind filtered by its own rules")
def _search_everything(actor, _target) -> Decision:
    return _members_only(actor, True)


@rule("bright_spot.feature", "network leaders")
def _bright_spot_feature(actor, _target) -> Decision:
    return _members_only(actor, is_leader(actor))


# ---------------------------------------------------------------------------------------------
# The data-use agreement and blinding. `outcomes.site_names` takes the viewer's agreement standing
# (network/agreements.py: version, accepted), worked out once per request.

@rule("agreement.read", "every signed-in member (the current and earlier versions)")
def _agreement_read(actor, _target) -> Decision:
    return _members_only(actor, True)


@rule("agreement.accept", "every signed-in person (for themselves; the current version only)")
def _agreement_accept(actor, _target) -> Decision:
    if getattr(actor, "acting_role", None) == "api_token":
        return Decision.FORBIDDEN
    return _members_only(actor, True)


@rule("agreement.publish", "network leaders (a new version asks everyone again)")
def _agreement_publish(actor, _target) -> Decision:
    return _members_only(actor, is_leader(actor))


@rule("agreement.acceptances", "network leaders (who has accepted, counts by role)")
def _agreement_acceptances(actor, _target) -> Decision:
    return _members_only(actor, is_leader(actor))


@rule("outcomes.site_names", "members who accepted the current data-use agreement (or while none is published); "
                             "others see other sites as codes and their own by name")
def _outcomes_site_names(actor, standing) -> Decision:
    seen = _outcomes_view(actor, None)
    if seen is not Decision.ALLOW:
        return seen
    return Decision.ALLOW if standing is not None and standing.satisfied else Decision.FORBIDDEN


# ---------------------------------------------------------------------------------------------
# Tests of change (PDSA cycles). Targets: a site (record) or a cycle (duck-typed: site_id).

def _records_cycles_for(actor, site_id: int) -> bool:
    if getattr(actor, "acting_role", None) == "api_token":
        return actor.site_id == site_id
    return site_team(actor, site_id)


@rule("pdsa.view", "every signed-in member (sites named as the data-use agreement allows); site API tokens")
def _pdsa_view(actor, _target) -> Decision:
    if getattr(actor, "acting_role", None) == "api_token":
        return Decision.ALLOW
    return _members_only(actor, True)


@rule("pdsa.record", "a site's clinicians and site lead, for their own site; the site's API token")
def _pdsa_record(actor, site) -> Decision:
    if _records_cycles_for(actor, site.id):
        return Decision.ALLOW
    if getattr(actor, "acting_role", None) == "api_token":
        return Decision.HIDDEN
    return _team_decides(actor, site.id)


@rule("pdsa.edit", "the cycle's site team (clinicians and site lead); that site's API token")
def _pdsa_edit(actor, cycle) -> Decision:
    if _records_cycles_for(actor, cycle.site_id):
        return Decision.ALLOW
    if getattr(actor, "acting_role", None) == "api_token":
        return Decision.HIDDEN
    return _team_decides(actor, cycle.site_id)


# ---------------------------------------------------------------------------------------------
# Network health and the Patient Advisory Council's workspace (a group's decision log). Groups are
# duck-typed: members (each with user_id, title); decisions: group, published; action items: owner_id,
# decision.

def in_group(actor, group) -> bool:
    return signed_in(actor) and any(m.user_id == actor.id for m in group.members)


def chairs_group(actor, group) -> bool:
    return signed_in(actor) and any(m.user_id == actor.id and m.title == "chair" for m in group.members)


@rule("health.view", "network leaders and site leads (the network-health dashboard, small cells suppressed)")
def _health_view(actor, _target) -> Decision:
    if getattr(actor, "acting_role", None) == "api_token":  # a site's submitter, not a leader
        return Decision.FORBIDDEN
    return _members_only(actor, is_leader(actor) or (signed_in(actor) and actor.has_role(Role.SITE_LEAD)))


@rule("health.view_public", "everyone, signed in or not: the aggregate network-health summary, suppressed")
def _health_view_public(_actor, _target) -> Decision:
    return Decision.ALLOW


@rule("council.read_all", "the group's members and network leaders (the whole decision log)")
def _council_read_all(actor, group) -> Decision:
    return _members_only(actor, is_leader(actor) or in_group(actor, group))


@rule("council.read", "a published decision: every signed-in member; otherwise the group's members and network leaders")
def _council_read(actor, decision) -> Decision:
    if not signed_in(actor):
        return Decision.SIGN_IN
    if decision.published or is_leader(actor) or in_group(actor, decision.group):
        return Decision.ALLOW
    return Decision.HIDDEN


@rule("council.take_part", "the group's members (propose, discuss)")
def _council_take_part(actor, group) -> Decision:
    return _members_only(actor, in_group(actor, group))


@rule("council.vote", "the group's members, once, while the vote is open (checked in the service)")
def _council_vote(actor, group) -> Decision:
    return _members_only(actor, in_group(actor, group))


@rule("council.manage", "the group's chair and network leaders (close a vote, record a consensus, action items, "
                        "show a decision to the network)")
def _council_manage(actor, group) -> Decision:
    return _members_only(actor, is_leader(actor) or chairs_group(actor, group))


@rule("council.complete_action", "the action item's owner, the group's chair and network leaders")
def _council_complete_action(actor, item) -> Decision:
    return _members_only(actor, is_leader(actor) or (signed_in(actor) and item.owner_id == actor.id)
                         or chairs_group(actor, item.decision.group))


@rule("council.my_actions", "every signed-in member (their own action items)")
def _council_my_actions(actor, _target) -> Decision:
    return _members_only(actor, True)


# ---------------------------------------------------------------------------------------------
# Minors and the move to adult care; my data (export, close account). Targets: PatientScope
# (adult_on, renewed_parent_ids), CareLink (patient_id), DataSubject (user_id, guardian_ids).

def parent_acts_for(actor, data_scope) -> bool:
    """A linked parent acts for the patient until the patient turns 18 (read from the clock, so access
    ends that day whether or not a job ran), and after that only if the patient renewed them."""
    from network import minors

    if not signed_in(actor) or actor.id not in data_scope.parent_ids:
        return False
    return minors.parent_may_act(actor.id, getattr(data_scope, "adult_on", None),
                                 getattr(data_scope, "renewed_parent_ids", frozenset()))


@rule("adult_care.view", "every signed-in member (patients: what changes at 18; parents: their children's dates)")
def _adult_care_view(actor, _target) -> Decision:
    return _members_only(actor, True)


@rule("adult_care.decide", "the patient themselves, from 18: renew or end each linked parent's access")
def _adult_care_decide(actor, link) -> Decision:
    if not signed_in(actor):
        return Decision.SIGN_IN
    if actor.id == link.patient_id:
        return Decision.ALLOW
    return Decision.FORBIDDEN if actor.id == link.parent_id else Decision.HIDDEN


@rule("mydata.export", "the person themselves; a linked parent for a child under 13")
def _mydata_export(actor, subject) -> Decision:
    if not signed_in(actor):
        return Decision.SIGN_IN
    return Decision.ALLOW if actor.id == subject.user_id or actor.id in subject.guardian_ids else Decision.HIDDEN


@rule("account.close", "the person themselves (with their password)")
def _account_close(actor, user) -> Decision:
    return _members_only(actor, signed_in(actor) and actor.id == user.id)


# ---------------------------------------------------------------------------------------------
# Safeguarding and contact between members. A flag's target is checked by the flagged thing's own
# rule (story.read, session.view, patient_data.view, contact.view) in the service, so a flag on
# something one cannot see is a 404 that changes nothing. Contact targets are duck-typed facts.

def is_safeguarding_contact(actor) -> bool:
    """Designated by network leaders: a capability flag on any of the person's active memberships."""
    return signed_in(actor) and any(getattr(m, "safeguarding_contact", False) for m in actor.memberships)


@rule("safety.flag", "every signed-in member, on what they can see (a story, comment, chat message, plan note, private message)")
def _safety_flag(actor, _target) -> Decision:
    return _members_only(actor, True)


@rule("safety.guidance", "every signed-in member (the network's crisis guidance)")
def _safety_guidance(actor, _target) -> Decision:
    return _members_only(actor, True)


@rule("safety.handle", "moderators and safeguarding contacts (the urgent queue: acknowledge, record actions, resolve)")
def _safety_handle(actor, _target) -> Decision:
    return _members_only(actor, is_moderator(actor) or is_safeguarding_contact(actor))


@rule("safety.settings", "network leaders (crisis guidance, risk phrases, safeguarding contacts)")
def _safety_settings(actor, _target) -> Decision:
    return _members_only(actor, is_leader(actor))


@rule("contact.use", "every member with a role in the network (connections page, block and unblock)")
def _contact_use(actor, _target) -> Decision:
    return _members_only(actor, bool(actor.memberships) if signed_in(actor) else False)


@rule("contact.request", "members, to someone listed in the directory who has not blocked them and whom they have not blocked")
def _contact_request(actor, target) -> Decision:
    if not signed_in(actor):
        return Decision.SIGN_IN
    if not actor.memberships or target.recipient_id == actor.id:
        return Decision.FORBIDDEN
    return Decision.FORBIDDEN if not target.opted_in or target.blocked else Decision.ALLOW


@rule("contact.answer", "the person asked (accept or decline), once any needed parent approval is given")
def _contact_answer(actor, connection) -> Decision:
    if not signed_in(actor):
        return Decision.SIGN_IN
    if actor.id == connection.recipient_id and connection.status != "awaiting_parent":
        return Decision.ALLOW
    return Decision.FORBIDDEN if actor.id == connection.requester_id else Decision.HIDDEN


@rule("contact.approve", "a linked parent of the teen asked, when an adult from outside the teen's site asks to connect")
def _contact_approve(actor, connection) -> Decision:
    if not signed_in(actor):
        return Decision.SIGN_IN
    return Decision.ALLOW if actor.id in connection.approver_ids else Decision.HIDDEN


@rule("contact.thread", "the two members of an accepted connection (read, write, report); nobody else")
def _contact_thread(actor, connection) -> Decision:
    if not signed_in(actor):
        return Decision.SIGN_IN
    members = actor.id in (connection.requester_id, connection.recipient_id)
    return Decision.ALLOW if members and connection.status == "accepted" else Decision.HIDDEN


# ---------------------------------------------------------------------------------------------
# Two-step sign-in, signed-in devices, and consent to the terms of use and privacy notice

#: roles that must sign in with a second step; everyone else is offered it
TWO_STEP_ROLES = frozenset({Role.NETWORK_LEADER, Role.MODERATOR, Role.SITE_LEAD, Role.CLINICIAN})


@rule("twostep.setup", "the person themselves (set up two-step sign-in, new recovery codes)")
def _twostep_setup(actor, _target) -> Decision:
    return _members_only(actor, True)


@rule("twostep.disable", "the person themselves, unless one of their roles requires two-step sign-in "
                         "(network leaders, moderators, site leads, clinicians)")
def _twostep_disable(actor, _target) -> Decision:
    return _members_only(actor, signed_in(actor) and not (set(actor.roles) & TWO_STEP_ROLES))


@rule("twostep.reset", "network leaders (for a member who lost their phone and recovery codes)")
def _twostep_reset(actor, _target) -> Decision:
    return _members_only(actor, is_leader(actor))


@rule("devices.own", "the person themselves (see their signed-in devices, sign out one or all others)")
def _devices_own(actor, _target) -> Decision:
    return _members_only(actor, True)


@rule("policy.read", "everyone, signed in or not (the terms of use and privacy notice)")
def _policy_read(_actor, _target) -> Decision:
    return Decision.ALLOW


@rule("policy.accept", "every signed-in member of 13 or over, for themselves")
def _policy_accept(actor, _target) -> Decision:
    from network.consent import is_under_13

    return _members_only(actor, signed_in(actor) and not is_under_13(actor))


@rule("policy.accept_for_child", "a parent linked to the child, for a child under 13")
def _policy_accept_for_child(actor, scope) -> Decision:
    if not signed_in(actor):
        return Decision.SIGN_IN
    if actor.id not in scope.parent_ids:
        return Decision.HIDDEN
    return Decision.ALLOW if scope.under_13 else Decision.FORBIDDEN


@rule("policy.publish", "network leaders (publish a new version of the terms or privacy notice)")
def _policy_publish(actor, _target) -> Decision:
    return _members_only(actor, is_leader(actor))
