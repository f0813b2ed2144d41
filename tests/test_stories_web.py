"""Stories through HTTP: telling, moderation, responses, the feed — and an anonymous author never shows."""
from __future__ import annotations

import json
import re

import pytest

from content import narratives
from tests.test_narratives import BODY, approve, tell


def test_tell_moderate_and_read_through_pages(db, world, login_as):
    parent = login_as("parent")
    sent = parent.post("/stories/new", data={"title": "Trips", "body": BODY, "tags": ["travel"], "byline": "first",
                                             "visibility": "network", "role": "parent"})
    assert sent.status_code == 302
    story = db.scalar(narratives.select(narratives.Story))
    mine = parent.get("/stories/mine").get_data(as_text=True)
    assert "Waiting for a moderator" in mine
    moderator = login_as("moderator")
    assert "Trips" in moderator.get("/moderation/").get_data(as_text=True)
    decided = moderator.post(f"/moderation/stories/{story.id}", data={"decision": "approve", "note": ""})
    assert decided.status_code == 302
    page = login_as("clinician").get(f"/stories/{story.id}").get_data(as_text=True)
    assert BODY in page and "Parent, parent at Own Site Hospital" in page


def test_bad_story_gives_the_form_back(db, login_as):
    response = login_as("parent").post("/stories/new", data={"title": "", "body": "", "byline": "first",
                                                             "visibility": "network", "role": "parent",
                                                             "tags": ["astrology"]})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Give your story a title." in text and "is not a valid choice" in text


def test_withdrawn_story_url_is_410(db, world, login_as, client):
    story = approve(db, world, tell(db, world.user("parent"), visibility="public"))
    assert client.get(f"/stories/{story.id}").status_code == 200
    login_as("parent").post(f"/stories/{story.id}/withdraw")
    assert client.get(f"/stories/{story.id}").status_code == 410
    assert login_as("clinician").get(f"/api/v1/stories/{story.id}").status_code == 410


def test_reacting_twice_is_refused(db, world, login_as):
    story = approve(db, world, tell(db, world.user("parent")))
    reader = login_as("clinician")
    assert reader.post(f"/stories/{story.id}/helped").status_code == 302
    assert reader.post(f"/stories/{story.id}/helped").status_code == 409
    assert "helped 1 person" in reader.get("/stories/").get_data(as_text=True)


def test_comment_on_a_story_one_cannot_see_is_404(db, world, login_as):
    story = approve(db, world, tell(db, world.user("parent"), visibility="site"))
    assert login_as("clinician", "other").post(f"/stories/{story.id}/comments", data={"body": "Hi"}).status_code == 404


def test_approving_without_the_moderator_role_is_refused(db, world, login_as):
    story = tell(db, world.user("parent"))
    assert login_as("network_leader").post(f"/moderation/stories/{story.id}",
                                           data={"decision": "approve"}).status_code == 403
    assert story.status == "pending"


def test_atom_feed_has_only_public_stories(db, world, client):
    public = approve(db, world, tell(db, world.user("parent"), title="Public one", visibility="public"))
    approve(db, world, tell(db, world.user("parent"), title="Members only"))
    feed = client.get("/stories/feed.atom")
    assert feed.mimetype == "application/atom+xml"
    text = feed.get_data(as_text=True)
    assert "Public one" in text and "Members only" not in text and f"/stories/{public.id}" in text


ANON_NAME = "Zephyrine Quillfeather"


def test_an_anonymous_author_never_appears_anywhere(db, world, login_as, client):
    """Every page, feed and API answer about anonymous stories, as every kind of viewer, searched for the
    author's names, e-mail address and id."""
    author = world.user("parent")
    author.full_name = ANON_NAME
    db.commit()
    stories = [approve(db, world, tell(db, author, title=f"Anonymous {v}", visibility=v, byline_choice="anonymous"))
               for v in ("public", "network", "site")]
    pending = tell(db, author, title="Anonymous pending", byline_choice="anonymous")
    commented = stories[1]
    narratives.comment(db, world.user("clinician"), commented.id, body="Thank you for sharing")
    viewers = {"anonymous": client, **{role: login_as(role) for role in
                                       ("patient", "clinician", "site_lead", "network_leader")},
               "other-site parent": login_as("parent", "other")}
    paths = ["/", "/stories/", "/stories/feed.atom", "/api/v1/stories", "/stories/?role=parent"]
    paths += [f"/stories/{s.id}" for s in stories] + [f"/api/v1/stories/{s.id}" for s in stories]
    paths += [f"/stories/{pending.id}"]
    forbidden = [ANON_NAME, ANON_NAME.split()[0], ANON_NAME.split()[1], author.email, "Own Site Hospital"]
    id_patterns = [rf'"author(_id)?"\s*:\s*{author.id}\b', rf"author[_-]?id[=:\"' ]+{author.id}\b",
                   rf"/people/{author.id}\b", rf"user[_-]?id[=:\"' ]+{author.id}\b"]
    seen_pages = 0
    for who, viewer in viewers.items():
        for path in paths:
            response = viewer.get(path)
            body = response.get_data(as_text=True)
            if response.status_code == 200:
                seen_pages += 1
            for word in forbidden:
                if word == "Own Site Hospital" and "stories" not in path:
                    continue  # the viewer's own site name may appear in the layout of other pages
                assert word not in _story_parts(body, path), f"{word!r} leaked on {path} to {who}"
            for pattern in id_patterns:
                assert not re.search(pattern, body, flags=re.IGNORECASE), f"author id leaked on {path} to {who}"
    assert seen_pages >= 30
    api = json.loads(login_as("clinician").get("/api/v1/stories").get_data(as_text=True))
    assert {s["byline"] for s in api["stories"]} == {"A parent at a network site"}


def _story_parts(body: str, path: str) -> str:
    """The whole page, except the signed-in viewer's own name in the header (it is not the author's)."""
    return re.sub(r'<div class="account">.*?</div>', "", body, flags=re.DOTALL)
