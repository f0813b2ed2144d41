"""The library through HTTP: writing, conflicts, comparing, reviewing, files and the read-only API."""
from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import func, select

from content import library
from content.library import Attachment, Revision
from tests.library_fixtures import HANDBOOK, make_resource, publish


def test_create_edit_and_read_through_pages(db, world, login_as):
    parent = login_as("parent")
    created = parent.post("/library/new", data={"title": "Our school guide", "body": "## Bathroom pass\n\nAsk early.\n",
                                                "type": "handbook", "audience": ["parents", "teens"], "language": "en",
                                                "tags": "school, exams", "role": "parent"})
    assert created.status_code == 302
    resource = db.scalar(select(library.Resource).where(library.Resource.title == "Our school guide"))
    page = parent.get(created.headers["Location"]).get_data(as_text=True)
    assert 'id="h-bathroom-pass"' in page and "Draft" in page
    edit_page = parent.get(f"/library/{resource.slug}/edit").get_data(as_text=True)
    assert f'name="base_revision_id" type="hidden" value="{resource.current_revision_id}"' in edit_page
    saved = parent.post(f"/library/{resource.slug}/edit", data={
        "title": "Our school guide", "body": "## Bathroom pass\n\nAsk early, in writing.\n", "summary": "Clearer",
        "role": "parent", "base_revision_id": resource.current_revision_id})
    assert saved.status_code == 302
    assert db.scalar(select(func.count(Revision.id)).where(Revision.resource_id == resource.id)) == 2


def test_bad_new_resource_gives_the_form_back(db, login_as):
    response = login_as("parent").post("/library/new", data={"title": "", "body": "", "type": "novel",
                                                             "language": "en", "role": "parent"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Give the resource a title." in body and "Not a valid choice" in body
    assert db.scalar(select(func.count(library.Resource.id))) == 0


def test_stale_save_shows_both_texts_and_loses_nothing(db, world, login_as):
    resource = make_resource(db, world.user("parent"))
    library.add_coauthor(db, world.user("parent"), resource.id, world.user("clinician").email)
    base = resource.current_revision_id
    library.save(db, world.user("clinician"), resource.id, base_revision_id=base, title=resource.title,
                 body=HANDBOOK.replace("Rest, fluids", "Rest, water"), summary="theirs")
    mine = HANDBOOK.replace("Tell the teacher.", "Tell the teacher and the school nurse.")
    response = login_as("parent").post(f"/library/{resource.slug}/edit", data={
        "title": resource.title, "body": mine, "summary": "mine", "role": "parent", "base_revision_id": base})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "school nurse" in page and "water" in page  # both sides shown, merged without overlap
    assert "do not overlap" in page
    assert db.scalar(select(func.count(Revision.id)).where(Revision.resource_id == resource.id)) == 2


def test_preview_and_autosave(db, world, login_as):
    parent = login_as("parent")
    preview = parent.post("/library/preview", data={"body": "## Hi\n\n<script>alert(1)</script>"})
    assert 'id="h-hi"' in preview.json["html"] and "<script>" not in preview.json["html"]
    resource = make_resource(db, world.user("parent"))
    saved = parent.post(f"/library/{resource.slug}/autosave", data={
        "title": "T", "body": "work in progress", "base_revision_id": resource.current_revision_id})
    assert saved.status_code == 200
    assert "work in progress" in parent.get(f"/library/{resource.slug}/edit").get_data(as_text=True)
    bad = parent.post(f"/library/{resource.slug}/autosave", data={"title": "T", "body": "x", "base_revision_id": "0"})
    assert bad.status_code == 422


def test_compare_inline_and_side_by_side(db, world, login_as):
    parent_user = world.user("parent")
    resource = make_resource(db, parent_user)
    library.save(db, parent_user, resource.id, base_revision_id=resource.current_revision_id, title=resource.title,
                 body=HANDBOOK.replace("Tell the teacher.", "Tell the <b>teacher</b> early."), summary="Early")
    parent = login_as("parent")
    inline = parent.get(f"/library/{resource.slug}/compare?a=1&b=2").get_data(as_text=True)
    assert '<ins class="diff-ins">' in inline and "&lt;b&gt;" in inline
    side = parent.get(f"/library/{resource.slug}/compare?a=1&b=2&view=side").get_data(as_text=True)
    assert 'class="diff-side"' in side


def test_history_is_paginated(db, world, login_as, count_queries):
    parent_user = world.user("parent")
    resource = make_resource(db, parent_user)
    for i in range(60):
        library.save(db, parent_user, resource.id, base_revision_id=resource.current_revision_id,
                     title=resource.title, body=f"{HANDBOOK}\nVersion {i}\n", summary=f"v{i}")
    parent = login_as("parent")
    first = parent.get(f"/library/{resource.slug}/history").get_data(as_text=True)
    assert "61 revisions" in first and ">v59<" in first and ">v5<" not in first
    second = parent.get(f"/library/{resource.slug}/history?page=2").get_data(as_text=True)
    assert ">v5<" in second
    with count_queries() as counter:
        parent.get(f"/library/{resource.slug}/history")
    assert counter.count <= 12


def test_the_authors_see_why_a_reviewer_sent_it_back(db, world, login_as):
    resource = make_resource(db, world.user("parent"))
    parent = login_as("parent")
    assert parent.post(f"/library/{resource.slug}/submit-review").status_code == 302
    asked = login_as("clinician").post(f"/library/{resource.slug}/review", data={
        "decision": "request_changes", "comment": "Say who to phone at night.", "role": "clinician"})
    assert asked.status_code == 302
    page = parent.get(f"/library/{resource.slug}").get_data(as_text=True)
    assert "Draft" in page and "asked for changes — Say who to phone at night." in page


def test_library_front_page_queries_do_not_grow_with_published_tools(db, world, login_as, count_queries):
    """Found by the load test (bench/load.py): each listed tool's published revision, and its author,
    were loaded one at a time."""
    def page_queries() -> int:
        client = login_as("parent")
        with count_queries() as counter:
            page = client.get("/library/")
        assert page.status_code == 200
        return counter.count

    publish(db, world, make_resource(db, world.user("parent"), title="Tool 0"))
    few = page_queries()
    for n, (role, where) in enumerate((("clinician", "own"), ("site_lead", "own"), ("parent", "other"),
                                       ("clinician", "other")), start=1):
        publish(db, world, make_resource(db, world.user(role, where), title=f"Tool {n}"))
    many = page_queries()
    assert "Tool 4" in login_as("parent").get("/library/").get_data(as_text=True)
    assert many == few, f"{few} queries with 1 published tool, {many} with 5"


def test_review_and_publish_through_pages(db, world, login_as):
    resource = make_resource(db, world.user("parent"))
    parent = login_as("parent")
    assert parent.post(f"/library/{resource.slug}/submit-review").status_code == 302
    own_approval = parent.post(f"/library/{resource.slug}/review", data={"decision": "approve", "role": "parent"})
    assert own_approval.status_code == 403
    clinician = login_as("clinician")
    assert clinician.post(f"/library/{resource.slug}/review",
                          data={"decision": "approve", "role": "clinician"}).status_code == 302
    twice = clinician.post(f"/library/{resource.slug}/review", data={"decision": "approve", "role": "clinician"})
    assert twice.status_code == 409
    assert parent.post(f"/library/{resource.slug}/publish").status_code == 409
    assert login_as("patient").post(f"/library/{resource.slug}/review",
                                    data={"decision": "approve", "role": "patient"}).status_code == 302
    assert parent.post(f"/library/{resource.slug}/publish").status_code == 302
    page = login_as("site_lead").get(f"/library/{resource.slug}").get_data(as_text=True)
    assert "Co-produced" in page


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "navy").save(out, "PNG")
    return out.getvalue()


def test_attachments_checked_by_content_and_served_safely(db, world, login_as):
    resource = make_resource(db, world.user("parent"))
    publish(db, world, resource)
    parent = login_as("parent")
    fake = parent.post(f"/library/{resource.slug}/attachments", data={
        "file": (io.BytesIO(b"<html><script>alert(1)</script></html>"), "report.pdf"), "label": "Report"},
        content_type="multipart/form-data")
    assert fake.status_code == 422 and "HTML" in fake.get_data(as_text=True)
    assert db.scalar(select(func.count(Attachment.id))) == 0
    good = parent.post(f"/library/{resource.slug}/attachments", data={
        "file": (io.BytesIO(png_bytes()), "chart.png"), "label": "Chart"}, content_type="multipart/form-data")
    assert good.status_code == 302
    stored = db.scalar(select(Attachment.stored_name))
    assert "chart" not in stored and re.fullmatch(r"[0-9a-f]{32}\.png", stored)
    served = login_as("patient").get(f"/attachments/{stored}")
    assert served.status_code == 200 and served.mimetype == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served.headers["Content-Security-Policy"]
    assert login_as("anonymous").get(f"/attachments/{stored}").status_code == 302
    assert login_as("patient").get("/attachments/../../etc/passwd").status_code == 404


def test_print_source_and_api(db, world, login_as, client):
    resource = make_resource(db, world.user("parent"))
    publish(db, world, resource)
    reader = login_as("patient")
    assert "Caring at home" in reader.get(f"/library/{resource.slug}/print").get_data(as_text=True)
    source = reader.get(f"/library/{resource.slug}.md")
    assert source.mimetype == "text/markdown" and "attachment" in source.headers["Content-Disposition"]
    listed = reader.get("/api/v1/resources").json["resources"]
    assert [r["slug"] for r in listed] == [resource.slug]
    shown = reader.get(f"/api/v1/resources/{resource.slug}").json
    assert shown["coproduction"]["coproduced"] and 'id="h-caring-at-home"' in shown["html"]
    assert client.get("/api/v1/resources").status_code == 401
    draft = make_resource(db, world.user("parent"), title="Secret")
    assert reader.get(f"/api/v1/resources/{draft.slug}").status_code == 404


def test_xss_in_a_resource_never_reaches_the_page_as_code(db, world, login_as):
    body = "## Hi\n\n<img src=x onerror=alert(1)>\n\n[click](javascript:alert(1))\n\n<script>alert(2)</script>\n"
    resource = make_resource(db, world.user("parent"), body=body)
    page = login_as("parent").get(f"/library/{resource.slug}").get_data(as_text=True)
    assert "onerror=alert" not in page.replace("&lt;img src=x onerror=alert(1)&gt;", "")
    assert "javascript:alert" not in page and "<script>alert(2)" not in page


def test_adoption_appears_on_the_sites_charts(db, world, login_as):
    from datetime import date

    from tests.outcome_fixtures import add_figures, add_measure, months

    measure = add_measure(db)
    add_figures(db, world.own, measure, [(m, 60, 100) for m in months(2025, 12)])
    resource = make_resource(db, world.user("parent"))
    publish(db, world, resource)
    library.adopt(db, world.user("site_lead"), resource.id, site_id=world.own.id, since=date(2025, 6, 1))
    page = login_as("patient").get("/outcomes/remission/sites/own-site").get_data(as_text=True)
    assert "Adopted: Handbook for families" in page
    other = login_as("patient").get("/outcomes/sites/other-site").get_data(as_text=True)
    assert "Adopted:" not in other


def test_a_failed_save_still_gets_the_error_page(db, world, login_as, app, monkeypatch):
    """A database error during a save (as SQLite's "database is locked" when an autosave races it) leaves
    the request's session needing a rollback; the 500 page, which reads the menu from the database,
    still renders instead of failing a second time."""
    resource = make_resource(db, world.user("parent"))

    def failing_save(session, *args, **kwargs):
        session.add(library.Draft(resource_id=resource.id, user_id=None, base_revision_id=None, title="", body=""))
        session.flush()  # NOT NULL: IntegrityError, and the session must be rolled back before it is used again

    monkeypatch.setattr(library, "save", failing_save)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = login_as("parent").post(f"/library/{resource.slug}/edit", data={
        "title": resource.title, "body": HANDBOOK + "\nMore.\n", "summary": "More", "role": "parent",
        "base_revision_id": resource.current_revision_id})
    assert response.status_code == 500
    assert "Nothing you sent was half-saved" in response.get_data(as_text=True)
