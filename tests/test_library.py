"""Library services: revisions, conflicts, suggestions, comments, coproduced review, adoption, search."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from content import library, search
from content.library import Revision, StaleEdit
from network.errors import Conflict, Forbidden, Invalid, NotFound
from network.usage import UsageEvent
from tests.library_fixtures import HANDBOOK, make_resource, meta, publish


def test_create_makes_a_draft_with_its_author_as_coauthor(db, world):
    parent = world.user("parent")
    resource = make_resource(db, parent)
    assert resource.status == "draft" and resource.coauthor_ids == {parent.id}
    first = db.get(Revision, resource.current_revision_id)
    assert (first.number, first.acting_role, first.author_id) == (1, "parent", parent.id)


@pytest.mark.parametrize("overrides,field", [
    (dict(title=""), "title"), (dict(title="x" * 201), "title"), (dict(body="   "), "body"),
    (dict(body="x" * 200_001), "body"), (dict(type="novel"), "type"), (dict(audience=[]), "audience"),
    (dict(audience=["aliens"]), "audience"), (dict(language="fr"), "language"), (dict(tags=["a!"]), "tags"),
])
def test_bad_input_is_refused_and_nothing_is_written(db, world, overrides, field):
    before = db.scalar(select(func.count(library.Resource.id)))
    text = {k: overrides.pop(k) for k in ("title", "body") if k in overrides}
    with pytest.raises(Invalid) as refused:
        library.create(db, world.user("parent"), title=text.get("title", "T"), body=text.get("body", "B"),
                       meta=meta(**overrides))
    assert field in refused.value.field_errors
    db.rollback()
    assert db.scalar(select(func.count(library.Resource.id))) == before


def test_every_save_is_an_immutable_revision(db, world):
    parent, clinician = world.user("parent"), world.user("clinician")
    resource = make_resource(db, parent)
    library.add_coauthor(db, parent, resource.id, clinician.email)
    second = library.save(db, clinician, resource.id, base_revision_id=resource.current_revision_id,
                          title="Handbook for families", body=HANDBOOK + "\n## Sport\n\nYes, with care.\n",
                          summary="Added sport")
    assert (second.number, second.acting_role) == (2, "clinician")
    second.body = "rewritten"
    with pytest.raises(PermissionError):
        db.flush()
    db.rollback()
    revisions, total = library.history(db, parent, resource)
    assert total == 2 and [r.number for r in revisions] == [2, 1]


def test_stale_edit_is_a_conflict_carrying_both_texts(db, world):
    parent, clinician = world.user("parent"), world.user("clinician")
    resource = make_resource(db, parent)
    library.add_coauthor(db, parent, resource.id, clinician.email)
    base = resource.current_revision_id
    library.save(db, clinician, resource.id, base_revision_id=base, title="Handbook for families",
                 body=HANDBOOK.replace("Rest, fluids", "Rest, water"), summary="theirs")
    with pytest.raises(StaleEdit) as stale:
        library.save(db, parent, resource.id, base_revision_id=base, title="Handbook for families",
                     body=HANDBOOK.replace("Tell the teacher.", "Tell the teacher and the nurse."), summary="mine")
    assert "the nurse" in stale.value.mine_body and "water" in stale.value.theirs.body
    db.rollback()
    assert db.scalar(select(func.count(Revision.id)).where(Revision.resource_id == resource.id)) == 2


def test_restore_adds_a_revision(db, world):
    parent = world.user("parent")
    resource = make_resource(db, parent)
    library.save(db, parent, resource.id, base_revision_id=resource.current_revision_id, title="New title",
                 body="Short.", summary="Shortened")
    restored = library.restore(db, parent, resource.id, 1)
    assert restored.number == 3 and restored.body == HANDBOOK and restored.kind == "restore"


def test_only_coauthors_edit_and_drafts_are_hidden(db, world):
    resource = make_resource(db, world.user("parent"))
    with pytest.raises(NotFound):
        library.get(db, world.user("clinician", "other"), resource.id)
    with pytest.raises(NotFound):
        library.save(db, world.user("clinician"), resource.id, base_revision_id=resource.current_revision_id,
                     title="x", body="y", summary="")
    assert library.get(db, world.user("network_leader", "network"), resource.id).id == resource.id


def test_review_needs_a_family_and_a_clinical_approval(db, world):
    parent = world.user("parent")
    resource = make_resource(db, parent)
    library.submit_for_review(db, parent, resource.id)
    with pytest.raises(Forbidden):  # the only author cannot approve
        library.review(db, parent, resource.id, decision="approve")
    db.rollback()
    library.review(db, world.user("clinician"), resource.id, decision="approve")
    with pytest.raises(Conflict):  # a second approval by the same person
        library.review(db, world.user("clinician"), resource.id, decision="approve")
    db.rollback()
    with pytest.raises(Conflict):  # not yet a patient or parent
        library.publish(db, parent, resource.id)
    db.rollback()
    library.review(db, world.user("patient", "other"), resource.id, decision="approve")
    library.publish(db, parent, resource.id)
    assert resource.status == "published" and resource.published_revision_id == resource.current_revision_id
    badge = library.coproduction(db, resource)
    assert badge["coproduced"] and badge["reviewers"] == ["clinician", "patient"]


def test_reviewing_needs_a_reviewer_role(db, world):
    resource = make_resource(db, world.user("parent"))
    library.submit_for_review(db, world.user("parent"), resource.id)
    with pytest.raises(Forbidden):
        library.review(db, world.user("moderator", "network"), resource.id, decision="approve")
    with pytest.raises(Invalid) as no_comment:
        library.review(db, world.user("clinician"), resource.id, decision="request_changes", comment="")
    assert "comment" in no_comment.value.field_errors


def test_request_changes_sends_it_back(db, world):
    resource = make_resource(db, world.user("parent"))
    library.submit_for_review(db, world.user("parent"), resource.id)
    library.review(db, world.user("clinician"), resource.id, decision="request_changes", comment="Add a sport section")
    assert resource.status == "draft" and resource.review_revision_id is None


def test_the_authors_read_the_request_for_changes_until_they_send_it_again(db, world):
    parent = world.user("parent")
    resource = make_resource(db, parent)
    assert library.changes_asked(db, resource) is None
    library.submit_for_review(db, parent, resource.id)
    library.review(db, world.user("clinician"), resource.id, decision="request_changes", comment="Add a sport section")
    asked = library.changes_asked(db, resource)
    assert asked.comment == "Add a sport section" and asked.acting_role == "clinician"
    library.save(db, parent, resource.id, base_revision_id=resource.current_revision_id, title=resource.title,
                 body=HANDBOOK + "\n## Sport\n\nTell the coach.\n", summary="Sport")
    assert library.changes_asked(db, resource).comment == "Add a sport section"  # still there while revising
    library.submit_for_review(db, parent, resource.id)
    assert library.changes_asked(db, resource) is None  # back in review: the review panel shows the decisions
    library.review(db, world.user("clinician"), resource.id, decision="approve")
    library.review(db, world.user("patient", "other"), resource.id, decision="approve")
    library.publish(db, parent, resource.id)
    assert library.changes_asked(db, resource) is None


def test_new_revision_of_published_resource_is_reviewed_while_readers_keep_the_published_one(db, world):
    parent = world.user("parent")
    resource = make_resource(db, parent)
    publish(db, world, resource)
    published = resource.published_revision_id
    library.save(db, parent, resource.id, base_revision_id=resource.current_revision_id, title="Handbook v2",
                 body=HANDBOOK + "\nMore.\n", summary="More")
    library.submit_for_review(db, parent, resource.id)
    reader = world.user("patient", "other")
    assert library.reader_revision(db, reader, resource).id == published
    assert resource.status == "in_review" and resource.is_readable


def test_suggestions_accept_and_decline(db, world):
    parent = world.user("parent")
    resource = make_resource(db, parent)
    publish(db, world, resource)
    outsider = world.user("clinician", "other")
    with pytest.raises(Forbidden):
        library.suggest(db, parent, resource.id, base_revision_id=resource.current_revision_id, title="t",
                        body="b", summary="")
    suggestion = library.suggest(db, outsider, resource.id, base_revision_id=resource.current_revision_id,
                                 title="Handbook for families", body=HANDBOOK.replace("a plan", "a written plan"),
                                 summary="Be specific")
    # meanwhile a co-author edits another part: the suggestion is merged with it
    library.save(db, parent, resource.id, base_revision_id=resource.current_revision_id, title="Handbook for families",
                 body=HANDBOOK.replace("Tell the teacher.", "Tell the teacher early."), summary="Early")
    library.decide_suggestion(db, parent, suggestion.id, accept=True, comment="Thanks!")
    newest = db.get(Revision, resource.current_revision_id)
    assert "a written plan" in newest.body and "teacher early" in newest.body
    assert newest.author_id == outsider.id and newest.kind == "suggestion"
    with pytest.raises(Conflict):
        library.decide_suggestion(db, parent, suggestion.id, accept=False)
    db.rollback()
    second = library.suggest(db, outsider, resource.id, base_revision_id=resource.current_revision_id,
                             title="Handbook for families", body="Something else entirely.", summary="Rewrite")
    library.decide_suggestion(db, parent, second.id, accept=False, comment="Too much")
    assert second.status == "declined" and second.decision_comment == "Too much"


def test_suggestion_overlapping_a_newer_save_asks_for_a_merge(db, world):
    parent = world.user("parent")
    resource = make_resource(db, parent)
    publish(db, world, resource)
    base = resource.current_revision_id
    suggestion = library.suggest(db, world.user("clinician", "other"), resource.id, base_revision_id=base,
                                 title="Handbook for families", body=HANDBOOK.replace("Rest, fluids", "Sleep, fluids"),
                                 summary="Sleep")
    library.save(db, parent, resource.id, base_revision_id=base, title="Handbook for families",
                 body=HANDBOOK.replace("Rest, fluids", "Rest, water"), summary="Water")
    with pytest.raises(library.SuggestionConflict) as conflict:
        library.decide_suggestion(db, parent, suggestion.id, accept=True)
    assert conflict.value.merge.has_conflicts
    db.rollback()
    library.decide_suggestion(db, parent, suggestion.id, accept=True,
                              merged_body=HANDBOOK.replace("Rest, fluids", "Sleep, rest, water"))
    assert "Sleep, rest, water" in db.get(Revision, resource.current_revision_id).body


def test_comments_anchored_and_resolved(db, world):
    parent = world.user("parent")
    resource = make_resource(db, parent)
    publish(db, world, resource)
    reader = world.user("patient", "other")
    with pytest.raises(Invalid):
        library.add_comment(db, reader, resource.id, body="Hi", anchor="h-nowhere", anchors={"h-at-school"})
    db.rollback()
    comment = library.add_comment(db, reader, resource.id, body="What about exams?", anchor="h-at-school",
                                  anchors={"h-at-school"})
    library.resolve_comment(db, parent, comment.id)
    assert comment.resolved_at is not None


def test_adoption_by_site_leads_for_their_site(db, world):
    resource = make_resource(db, world.user("parent"))
    lead = world.user("site_lead")
    with pytest.raises(Invalid):  # not published yet
        library.adopt(db, lead, resource.id, site_id=world.own.id, since=date(2025, 9, 1))
    db.rollback()
    publish(db, world, resource)
    adoption = library.adopt(db, lead, resource.id, site_id=world.own.id, since=date(2025, 9, 1))
    assert [a.site_id for a in library.adoptions_of(db, resource)] == [world.own.id]
    assert adoption.since == date(2025, 9, 1)
    with pytest.raises(NotFound):
        library.adopt(db, lead, resource.id, site_id=world.other.id, since=date(2025, 9, 1))
    with pytest.raises(Forbidden):
        library.adopt(db, world.user("clinician"), resource.id, site_id=world.own.id, since=date(2025, 9, 1))
    with pytest.raises(Invalid):
        library.adopt(db, lead, resource.id, site_id=world.own.id, since=date(2999, 1, 1))
    db.rollback()
    assert db.scalar(select(func.count(UsageEvent.id)).where(UsageEvent.kind == "adoption")) == 1


def test_translation_is_a_linked_resource(db, world):
    parent = world.user("parent")
    original = make_resource(db, parent)
    publish(db, world, original)
    spanish = library.create(db, parent, title="Guía para familias", body="## En casa\n\nDescanso.\n",
                             meta=meta(language="es"), translation_of_id=original.id)
    assert [t.id for t in library.translations_of(db, parent, original)] == [spanish.id]
    with pytest.raises(Invalid):
        library.create(db, parent, title="Same language", body="x", meta=meta(), translation_of_id=original.id)


def test_search_finds_published_text_with_snippets_and_filters(db, world):
    parent = world.user("parent")
    school = make_resource(db, parent, title="School accommodations",
                           body="Ask for bathroom access and rest breaks during exams.", tags=["school"])
    publish(db, world, school)
    draft = make_resource(db, parent, title="Secret draft about bathrooms", body="bathroom bathroom")
    hits = search.search(db, parent, "bathroom")
    assert [h.resource_id for h in hits] == [school.id]
    assert "<mark>" in hits[0].snippet and "bathroom" in hits[0].snippet.lower()
    assert search.search(db, parent, "bathroom", type_="decision_aid") == []
    assert [h.resource_id for h in search.search(db, parent, "bath", audience="parents")] == [school.id]
    assert search.search(db, parent, "bathroom", audience="clinicians") == []
    assert search.search(db, parent, 'bathroom"*')  # FTS5 syntax in the query is taken as words, not syntax
    assert search.search(db, parent, 'NEAR( OR "') == [] and search.search(db, parent, "(((") == []
    assert draft.id not in [h.resource_id for h in search.search(db, parent, "secret")]
    library.adopt(db, world.user("site_lead"), school.id, site_id=world.own.id, since=date(2025, 1, 1))
    assert search.search(db, parent, "bathroom", adopted_site_ids=[world.own.id])
    assert search.search(db, parent, "bathroom", adopted_site_ids=[world.other.id]) == []
    library.archive(db, parent, school.id)
    assert search.search(db, parent, "bathroom") == []


def test_snippets_are_escaped(db, world):
    parent = world.user("parent")
    resource = make_resource(db, parent, title="Escapes", body="Use <script>alert(1)</script> never; bathroom.")
    publish(db, world, resource)
    snippet = str(search.search(db, parent, "bathroom")[0].snippet)
    assert "<script>" not in snippet


def test_views_are_recorded_by_role(db, world):
    resource = make_resource(db, world.user("parent"))
    library.record_view(db, world.user("parent"), resource)
    event = db.scalars(select(UsageEvent)).one()
    assert (event.kind, event.actor_role, event.object_id) == ("view", "parent", resource.id)


def test_a_resource_by_its_slug_comes_with_its_coauthors_and_their_roles_in_one_query(db, world, count_queries):
    """Found by the load test: the resource page read the resource, its co-authors, their accounts and their
    roles in four queries; and every revision read brought its author's account, shown or not."""
    resource = make_resource(db, world.user("parent"))
    library.add_coauthor(db, world.user("parent"), resource.id, world.user("clinician").email)
    publish(db, world, resource)
    db.expunge_all()
    with count_queries() as counter:
        found = library.by_slug(db, world.user("parent"), resource.slug)
        roles = {c.user.email: [m.role for m in c.user.memberships] for c in found.coauthors}
    assert counter.count == 1
    assert roles == {world.user("parent").email: ["parent"], world.user("clinician").email: ["clinician"]}
    with count_queries() as counter:
        shown = library.reader_revision(db, world.user("parent"), found)
    assert counter.count == 1 and shown.id == found.published_revision_id
    assert shown.author.id == world.user("parent").id  # still there when asked


def test_resources_waiting_for_a_review_by_others_are_counted_without_ones_own(db, world):
    resource = make_resource(db, world.user("parent"))
    library.submit_for_review(db, world.user("parent"), resource.id)
    assert library.awaiting_review_by_others_count(db, world.user("clinician")) == 1
    assert library.awaiting_review_by_others_count(db, world.user("parent")) == 0  # a co-author of it
    assert [r.id for r in library.awaiting_review(db, world.user("parent"))] == [resource.id]


def test_reading_lists_load_titles_not_people(db, world, count_queries):
    """Found by the load test: the library list and the home page loaded every co-author's and author's
    account (and roles) to show titles."""
    for n in range(3):
        publish(db, world, make_resource(db, world.user("parent"), title=f"Tool {n}"))
    db.expunge_all()
    parent = world.user("parent")
    with count_queries() as counter:
        listed = library.readable(db, parent)
        assert sorted(r.published_revision.title for r in listed) == ["Tool 0", "Tool 1", "Tool 2"]
    assert counter.count == 2  # the resources and their published revisions
    with count_queries() as counter:
        assert len(library.mine(db, parent)) == 3
    assert counter.count == 1
    assert {c.user_id for c in listed[0].coauthors} == {parent.id}  # still there when asked
