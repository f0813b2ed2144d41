"""Stories: moderation first, the author in control, readers' responses, and privacy that cannot leak."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from content import narratives
from content.narratives import Report, Story, StoryComment
from network.access import ANONYMOUS
from network.audit import AuditEvent
from network.errors import Conflict, Forbidden, Gone, Invalid, NotFound
from network.people import CareLink

BODY = "We learned to plan trips around toilets, and it was fine."


def tell(db, author, **overrides):
    fields = dict(title="Our trip", body=BODY, tags=["travel"], visibility="network", byline_choice="first")
    fields.update(overrides)
    return narratives.tell(db, author, **fields)


def approve(db, world, story):
    return narratives.moderate(db, world.user("moderator", "network"), story.id, decision="approve")


def test_a_story_is_read_only_after_moderation(db, world):
    story = tell(db, world.user("parent"))
    assert story.status == "pending"
    with pytest.raises(NotFound):
        narratives.get(db, world.user("clinician"), story.id)
    assert narratives.browse(db, world.user("clinician")) == []
    approve(db, world, story)
    assert [s.id for s in narratives.browse(db, world.user("clinician", "other"))] == [story.id]


def test_moderators_request_changes_and_decline_with_notes(db, world):
    moderator = world.user("moderator", "network")
    story = tell(db, world.user("parent"))
    with pytest.raises(Invalid):
        narratives.moderate(db, moderator, story.id, decision="request_changes", note="")
    db.rollback()
    narratives.moderate(db, moderator, story.id, decision="request_changes", note="Add an ending")
    assert story.status == "changes_requested" and story.moderation_note == "Add an ending"
    narratives.edit(db, world.user("parent"), story.id, title="Our trip", body=BODY + " The end.", tags=["travel"])
    assert story.status == "pending"
    narratives.moderate(db, moderator, story.id, decision="decline", note="Not for this network")
    assert story.status == "declined"
    with pytest.raises(Forbidden):
        narratives.moderate(db, world.user("network_leader", "network"), story.id, decision="approve")


def test_edit_of_a_published_story_is_moderated_while_readers_keep_the_text(db, world):
    story = tell(db, world.user("parent"))
    approve(db, world, story)
    narratives.edit(db, world.user("parent"), story.id, title="Our trip", body="A new version.", tags=["travel"])
    reader = world.user("clinician")
    assert narratives.get(db, reader, story.id).body == BODY
    assert story in narratives.queue(db, world.user("moderator", "network"))["stories"]
    approve(db, world, story)
    assert story.body == "A new version." and story.pending_body is None


def test_visibility_public_network_site(db, world):
    public = approve(db, world, tell(db, world.user("parent"), visibility="public"))
    network = approve(db, world, tell(db, world.user("parent"), title="Network"))
    site = approve(db, world, tell(db, world.user("parent"), title="Site", visibility="site"))
    assert [s.id for s in narratives.browse(db, ANONYMOUS)] == [public.id]
    assert {s.id for s in narratives.browse(db, world.user("clinician", "other"))} == {public.id, network.id}
    assert {s.id for s in narratives.browse(db, world.user("clinician"))} == {public.id, network.id, site.id}
    with pytest.raises(NotFound):
        narratives.get(db, world.user("clinician", "other"), site.id)


def test_narrowing_is_immediate_and_widening_is_refused(db, world):
    story = approve(db, world, tell(db, world.user("parent"), visibility="public", byline_choice="full"))
    narratives.narrow(db, world.user("parent"), story.id, visibility="site", byline_choice="anonymous")
    assert (story.visibility, story.byline) == ("site", "anonymous")
    with pytest.raises(Invalid):
        narratives.narrow(db, world.user("parent"), story.id, visibility="public")
    with pytest.raises(Invalid):
        narratives.narrow(db, world.user("parent"), story.id, byline_choice="full")
    with pytest.raises(Forbidden):
        narratives.narrow(db, world.user("clinician"), story.id, visibility="site")


def test_withdraw_hides_at_once_and_the_old_url_is_gone(db, world):
    story = approve(db, world, tell(db, world.user("parent"), visibility="public"))
    narratives.withdraw(db, world.user("parent"), story.id)
    with pytest.raises(Gone):
        narratives.get(db, world.user("clinician"), story.id)
    with pytest.raises(Gone):
        narratives.get(db, ANONYMOUS, story.id)
    assert narratives.browse(db, ANONYMOUS) == [] and narratives.public_feed(db) == []


def test_delete_permanently_keeps_only_the_fact(db, world):
    story = approve(db, world, tell(db, world.user("parent"), title="Private title"))
    narratives.comment(db, world.user("clinician"), story.id, body="Thank you")
    story_id = story.id
    narratives.delete_permanently(db, world.user("parent"), story_id)
    assert db.get(Story, story_id) is None
    assert db.scalar(select(func.count(StoryComment.id))) == 0
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "story.delete")).one()
    assert "Private title" not in str(event.details) and BODY not in str(event.details)


def test_teen_story_waits_for_a_linked_parent(db, world):
    teen = world.user("patient")   # born 2011: a teen until 2029
    story = tell(db, teen)
    assert story.status == "awaiting_parent" and story.needs_parent_agreement
    assert story not in narratives.queue(db, world.user("moderator", "network"))["stories"]
    with pytest.raises(NotFound):
        narratives.parent_agree(db, world.user("parent", "other"), story.id)
    assert narratives.awaiting_my_agreement(db, world.user("parent")) == [story]
    assert narratives.awaiting_my_agreement_count(db, world.user("parent")) == 1
    assert narratives.awaiting_my_agreement_count(db, world.user("parent", "other")) == 0
    narratives.parent_agree(db, world.user("parent"), story.id)
    assert story.status == "pending"


def test_adult_or_unlinked_author_needs_no_agreement(db, world):
    adult = world.user("parent")
    assert tell(db, adult).status == "pending"
    teen = world.user("patient", "other")
    db.execute(CareLink.__table__.delete().where(CareLink.patient_id == teen.id))
    db.commit()
    assert tell(db, teen).status == "pending"


@pytest.mark.parametrize("overrides,field", [
    (dict(title=""), "title"), (dict(body=""), "body"), (dict(body="x" * 30_001), "body"),
    (dict(tags=["astrology"]), "tags"), (dict(visibility="everyone"), "visibility"),
    (dict(byline_choice="nickname"), "byline"),
])
def test_bad_stories_are_refused(db, world, overrides, field):
    with pytest.raises(Invalid) as refused:
        tell(db, world.user("parent"), **overrides)
    assert field in refused.value.field_errors
    db.rollback()
    assert db.scalar(select(func.count(Story.id))) == 0


def test_helped_once_per_person_and_comments(db, world):
    story = approve(db, world, tell(db, world.user("parent"), visibility="public"))
    reader = world.user("clinician", "other")
    assert narratives.helped(db, reader, story.id) == 1
    with pytest.raises(Conflict):
        narratives.helped(db, reader, story.id)
    db.rollback()
    comment = narratives.comment(db, reader, story.id, body="Same for us.")
    assert comment.status == "pending"  # public story: moderated
    assert comment not in narratives.comments(db, world.user("patient"), story)
    narratives.moderate_comment(db, world.user("moderator", "network"), comment.id, approve=True)
    assert comment in narratives.comments(db, world.user("patient"), story)


def test_cannot_respond_to_what_one_cannot_see(db, world):
    site_story = approve(db, world, tell(db, world.user("parent"), visibility="site"))
    outsider = world.user("clinician", "other")
    with pytest.raises(NotFound):
        narratives.comment(db, outsider, site_story.id, body="Hi")
    with pytest.raises(NotFound):
        narratives.report(db, outsider, object_type="story", object_id=site_story.id, reason="spam")
    pending = tell(db, world.user("parent"))
    with pytest.raises(NotFound):
        narratives.helped(db, world.user("clinician"), pending.id)


def test_reports_go_to_the_queue(db, world):
    story = approve(db, world, tell(db, world.user("parent")))
    with pytest.raises(Invalid):
        narratives.report(db, world.user("clinician"), object_type="story", object_id=story.id, reason="")
    db.rollback()
    report = narratives.report(db, world.user("clinician"), object_type="story", object_id=story.id,
                               reason="Names a nurse")
    moderator = world.user("moderator", "network")
    assert report in narratives.queue(db, moderator)["reports"]
    narratives.close_report(db, moderator, report.id, outcome="Asked the author to remove the name")
    assert report not in narratives.queue(db, moderator)["reports"]
    assert db.scalar(select(func.count(Report.id))) == 1


def test_moderators_see_anonymous_authors_and_it_is_audited(db, world):
    story = tell(db, world.user("parent"), byline_choice="anonymous")
    assert narratives.byline(story) == "A parent at a network site"
    assert world.user("parent").full_name not in narratives.byline(story)
    moderator = world.user("moderator", "network")
    assert narratives.for_moderation(db, moderator, story.id).author.id == world.user("parent").id
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "story.author_viewed")).one()
    assert event.actor_id == moderator.id and event.object_id == story.id
    with pytest.raises(Forbidden):
        narratives.for_moderation(db, world.user("network_leader", "network"), story.id)


def test_featuring_is_for_leaders(db, world):
    story = approve(db, world, tell(db, world.user("parent"), visibility="public"))
    with pytest.raises(Forbidden):
        narratives.feature(db, world.user("moderator", "network"), story.id, True)
    narratives.feature(db, world.user("network_leader", "network"), story.id, True)
    assert narratives.featured(db, ANONYMOUS) == [story]
