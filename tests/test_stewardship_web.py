"""Library stewardship through HTTP: the resource page's panel, review dates, the overdue list, adapting,
merging the network's changes, offering back, the glossary, the readability panel and translations."""
from __future__ import annotations

import re
from datetime import date, timedelta

from babel.dates import format_date
from sqlalchemy import func, select

from content import library, stewardship
from content.library import Revision, Suggestion
from content.stewardship import Adaptation, GlossaryTerm, ReviewConfirmation, ReviewSchedule
from tests.library_fixtures import HANDBOOK, make_resource, meta, publish

LOCAL = "Tell the teacher. Our school nurse line: 0161 555 0100."
NETWORK = "Tell the teacher and the school nurse, in writing."
HARD = ("The gastroenterologist will discuss the exacerbation and whether a biologic infusion is indicated, "
        "considering the inflammation, the probability of remission and the adverse effects that might follow.\n")


def _published(db, world, **overrides):
    resource = make_resource(db, world.user("parent"), **overrides)
    return publish(db, world, resource, approvers=("patient", "clinician"))


def _network_change(db, world, resource, body):
    library.save(db, world.user("parent"), resource.id, base_revision_id=resource.current_revision_id,
                 title=resource.title, body=body, summary="Network change")
    return publish(db, world, resource, approvers=("patient", "clinician"))


def _text(response) -> str:
    return response.get_data(as_text=True)


def test_the_resource_page_shows_review_dates_and_the_buttons_for_each_viewer(db, world, login_as):
    resource = _published(db, world)
    review_by = format_date(db.get(ReviewSchedule, resource.id).review_by, "medium", locale="en")  # "Nov 26, 2027"
    reader = _text(login_as("patient").get(f"/library/{resource.slug}"))
    assert "Last reviewed" in reader and f"Next review by {review_by}" in reader
    assert "Confirm it is still current" not in reader and "Adapt for" not in reader
    author = _text(login_as("parent").get(f"/library/{resource.slug}"))
    assert "Confirm it is still current" in author and 'name="review_by"' in author
    lead = _text(login_as("site_lead").get(f"/library/{resource.slug}"))
    assert "Adapt for Own Site Hospital" in lead and "No site has adapted it yet." in lead


def test_confirming_and_dating_a_review_through_the_page(db, world, login_as):
    resource = _published(db, world)
    parent = login_as("parent")
    response = parent.post(f"/library/{resource.slug}/confirm-review", data={"role": "parent", "note": "All true."})
    assert response.status_code == 302
    page = _text(parent.get(response.headers["Location"]))
    assert "still current" in page and "All true." in page
    later = (date.today() + timedelta(days=50)).isoformat()
    assert parent.post(f"/library/{resource.slug}/review-by", data={"review_by": later}).status_code == 302
    assert db.get(ReviewSchedule, resource.id).review_by.isoformat() == later


def test_a_past_review_date_is_refused_with_a_clear_message(db, world, login_as):
    resource = _published(db, world)
    before = db.get(ReviewSchedule, resource.id).review_by
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    response = login_as("parent").post(f"/library/{resource.slug}/review-by", data={"review_by": yesterday})
    assert response.status_code == 422
    assert "The review date cannot be in the past" in _text(response)
    assert db.get(ReviewSchedule, resource.id).review_by == before
    assert login_as("parent").post("/library/no-such-tool/review-by", data={"review_by": yesterday}).status_code == 404
    response = login_as("parent").post(f"/library/{resource.slug}/confirm-review", data={"next_review_by": "soon"})
    assert response.status_code == 422 and "YYYY-MM-DD" in _text(response)
    assert db.scalar(select(func.count(ReviewConfirmation.id))) == 0


def test_the_overdue_list_for_leaders_in_a_bounded_number_of_queries(db, world, login_as, count_queries):
    def overdue_tools(n, start):
        for i in range(n):
            resource = _published(db, world, title=f"Overdue tool {start + i}")
            db.get(ReviewSchedule, resource.id).review_by = date.today() - timedelta(days=5 + start + i)
        db.commit()
        return resource

    last = overdue_tools(2, 0)
    stewardship.adapt(db, world.user("site_lead"), last.id, site_id=world.own.id)
    leader = login_as("network_leader")
    leader.get("/library/overdue")
    with count_queries() as few:
        page = _text(leader.get("/library/overdue"))
    assert "2 tools overdue" in page and "Overdue tool 1" in page
    overdue_tools(8, 2)
    with count_queries() as many:
        page = _text(leader.get("/library/overdue"))
    assert "10 tools overdue" in page
    assert few.count == many.count
    assert login_as("site_lead").get("/library/overdue").status_code == 200
    assert login_as("clinician").get("/library/overdue").status_code == 403


def test_a_site_lead_adapts_edits_and_the_sites_families_read_it(db, world, login_as):
    resource = _published(db, world)
    lead = login_as("site_lead")
    response = lead.post(f"/library/{resource.slug}/adapt", data={"site": world.own.id})
    assert response.status_code == 302
    adaptation = db.scalar(select(Adaptation))
    assert response.headers["Location"].endswith(f"/library/adaptations/{adaptation.id}")
    page = _text(lead.get(f"/library/adaptations/{adaptation.id}/edit"))
    current = stewardship.current_text(db, adaptation)
    assert f'name="base_revision_id" type="hidden" value="{current.id}"' in page
    saved = lead.post(f"/library/adaptations/{adaptation.id}/edit", data={
        "title": current.title, "body": HANDBOOK.replace("Tell the teacher.", LOCAL), "summary": "Our numbers",
        "role": "site_lead", "base_revision_id": current.id})
    assert saved.status_code == 302
    family = _text(login_as("parent").get(f"/library/adaptations/{adaptation.id}"))
    assert "0161 555 0100" in family and "Edit for your site" not in family and "Our numbers" in family
    assert login_as("parent", "other").get(f"/library/adaptations/{adaptation.id}").status_code == 404
    assert "Adapted by 1 site" in _text(login_as("patient").get(f"/library/{resource.slug}"))
    assert "Open Own Site Hospital’s adaptation" in _text(lead.get(f"/library/{resource.slug}"))
    revision = _text(login_as("patient").get(f"/library/adaptations/{adaptation.id}/revisions/2"))
    assert "0161 555 0100" in revision and "diff-ins" in revision


def test_bad_adaptation_edits_give_the_form_back_and_stale_ones_both_texts(db, world, login_as):
    resource = _published(db, world)
    adaptation, _ = stewardship.adapt(db, world.user("site_lead"), resource.id, site_id=world.own.id)
    base = stewardship.current_text(db, adaptation)
    lead = login_as("site_lead")
    response = lead.post(f"/library/adaptations/{adaptation.id}/edit", data={
        "title": "", "body": "", "role": "site_lead", "base_revision_id": base.id})
    assert response.status_code == 422 and "Give the resource a title." in _text(response)
    stewardship.save_adaptation(db, world.user("clinician"), adaptation.id, base_revision_id=base.id,
                                title=base.title, body=HANDBOOK + "\nClinician line.\n")
    response = lead.post(f"/library/adaptations/{adaptation.id}/edit", data={
        "title": base.title, "body": HANDBOOK + "\nLead line.\n", "role": "site_lead", "base_revision_id": base.id})
    page = _text(response)
    assert response.status_code == 409 and "Lead line." in page and "Clinician line." in page
    assert db.scalar(select(func.count(Revision.id)).where(Revision.resource_id == adaptation.resource_id)) == 2


def _changed_adaptation(db, world):
    resource = _published(db, world)
    adaptation, _ = stewardship.adapt(db, world.user("site_lead"), resource.id, site_id=world.own.id)
    current = stewardship.current_text(db, adaptation)
    stewardship.save_adaptation(db, world.user("site_lead"), adaptation.id, base_revision_id=current.id,
                                title=current.title, body=HANDBOOK.replace("Tell the teacher.", LOCAL))
    _network_change(db, world, resource, HANDBOOK.replace("Tell the teacher.", NETWORK) + "\n## Sport\n\nYes.\n")
    return resource, adaptation


def test_the_network_version_changed_and_the_merge_keeps_both_sides(db, world, login_as):
    resource, adaptation = _changed_adaptation(db, world)
    lead = login_as("site_lead")
    page = _text(lead.get(f"/library/adaptations/{adaptation.id}"))
    assert "The network version changed" in page and "Review and merge the network changes" in page
    merge_page = _text(lead.get(f"/library/adaptations/{adaptation.id}/merge"))
    assert "0161 555 0100" in merge_page and "in writing" in merge_page and 'name="conflict-0"' in merge_page
    ids = {"network_revision_id": resource.published_revision_id,
           "adaptation_revision_id": stewardship.current_text(db, adaptation).id, "role": "site_lead"}
    unsettled = lead.post(f"/library/adaptations/{adaptation.id}/merge", data=ids)
    assert unsettled.status_code == 422 and "Choose what to keep here" in _text(unsettled)
    assert stewardship.network_changed(db, adaptation)
    custom = lead.post(f"/library/adaptations/{adaptation.id}/merge", data={**ids, "conflict-0": "custom",
                                                                               "custom-0": "   "})
    assert custom.status_code == 422 and "Write the text to keep" in _text(custom)
    merged = lead.post(f"/library/adaptations/{adaptation.id}/merge", data={**ids, "conflict-0": "both"})
    assert merged.status_code == 302
    db.expire_all()
    body = stewardship.current_text(db, adaptation).body
    assert "0161 555 0100" in body and "in writing" in body and "## Sport" in body
    assert "The network version changed" not in _text(lead.get(f"/library/adaptations/{adaptation.id}"))
    again = lead.post(f"/library/adaptations/{adaptation.id}/merge", data={**ids, "conflict-0": "both"})
    assert again.status_code == 409


def test_a_merge_against_a_page_that_went_stale_saves_nothing(db, world, login_as):
    resource, adaptation = _changed_adaptation(db, world)
    old = stewardship.current_text(db, adaptation)
    stewardship.save_adaptation(db, world.user("clinician"), adaptation.id, base_revision_id=old.id,
                                title=old.title, body=old.body + "\nMeanwhile.\n")
    response = login_as("site_lead").post(f"/library/adaptations/{adaptation.id}/merge", data={
        "network_revision_id": resource.published_revision_id, "adaptation_revision_id": old.id,
        "conflict-0": "both"})
    assert response.status_code == 409 and "Nothing was saved" in _text(response)
    assert "Meanwhile." in _text(response)  # the page shows the newest text again
    assert stewardship.network_changed(db, adaptation)


def test_offering_a_change_back_through_the_page(db, world, login_as):
    resource, adaptation = _changed_adaptation(db, world)
    lead = login_as("site_lead")
    page = _text(lead.get(f"/library/adaptations/{adaptation.id}/offer"))
    assert "0161 555 0100" in page and "take out what is only for your site" in page
    response = lead.post(f"/library/adaptations/{adaptation.id}/offer", data={
        "title": resource.title, "body": HANDBOOK.replace("Tell the teacher.", "Tell the teacher early."),
        "summary": "Earlier is better", "role": "site_lead"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/library/{resource.slug}")
    suggestion = db.scalar(select(Suggestion))
    assert suggestion.resource_id == resource.id and suggestion.summary == "Earlier is better"


def test_the_glossary_pages(db, world, login_as):
    leader = login_as("network_leader")
    assert leader.post("/library/glossary", data={"term": "exacerbation", "plain": "flare", "language": "en"}
                       ).status_code == 302
    duplicate = leader.post("/library/glossary", data={"term": "Exacerbation", "plain": "flare-up", "language": "en"})
    assert duplicate.status_code == 422 and "already in the glossary" in _text(duplicate)
    empty = leader.post("/library/glossary", data={"term": "", "plain": "", "language": "en"})
    assert empty.status_code == 422 and "Write the word or phrase to avoid." in _text(empty)
    term = db.scalar(select(GlossaryTerm))
    reader = _text(login_as("patient").get("/library/glossary"))
    assert "exacerbation" in reader and "flare" in reader and "Add a term" not in reader
    assert login_as("patient").post("/library/glossary", data={"term": "x", "plain": "y", "language": "en"}
                                    ).status_code == 403
    assert login_as("moderator").post(f"/library/glossary/{term.id}", data={
        "term": "exacerbation", "plain": "flare-up", "language": "en"}).status_code == 302
    db.expire_all()
    assert db.get(GlossaryTerm, term.id).plain == "flare-up"
    assert leader.post(f"/library/glossary/{term.id}/delete").status_code == 302
    assert db.scalar(select(func.count(GlossaryTerm.id))) == 0


def test_the_editor_shows_readability_without_javascript_and_the_endpoint_refreshes_it(db, world, login_as):
    stewardship.save_term(db, world.user("network_leader", "network"), term="exacerbation", plain="flare",
                          language="en")
    resource = make_resource(db, world.user("parent"), body="## Flares\n\n" + HARD)
    page = _text(login_as("parent").get(f"/library/{resource.slug}/edit"))
    assert "Reading grade" in page and "Above the target of grade 8" in page
    assert "<mark>exacerbation</mark> → flare" in page and "Long sentences (more than 25 words)" in page
    assert 'src="/static/js/readability.js"' in page and 'data-readability-url="/library/readability"' in page
    response = login_as("parent").post("/library/readability", data={"body": "We will call you. Bring your pills.",
                                                                     "language": "en", "audience": ["parents"]})
    assert response.status_code == 200
    payload = response.get_json()
    assert payload["analysis"]["meets_target"] is True and "Within the target" in payload["html"]
    spanish = login_as("parent").post("/library/readability", data={"body": "Te veremos pronto.", "language": "es",
                                                                    "audience": "patients"}).get_json()
    assert spanish["analysis"]["index_name"] == "Fernández Huerta"
    clinicians = login_as("parent").post("/library/readability", data={"body": HARD, "audience": "clinicians"})
    assert clinicians.get_json()["analysis"] is None
    too_long = login_as("parent").post("/library/readability", data={"body": "x" * 200_001})
    assert too_long.status_code == 422
    assert login_as("parent").post("/library/readability", data={"body": "x", "language": "fr"}).status_code == 422


def test_clinician_only_tools_get_no_readability_panel(db, world, login_as):
    resource = make_resource(db, world.user("clinician"), audience=["clinicians"], body=HARD)
    assert "Reading grade" not in _text(login_as("clinician").get(f"/library/{resource.slug}/edit"))


def test_reviewers_see_the_readability_of_the_revision_under_review(db, world, login_as):
    resource = make_resource(db, world.user("parent"), body=HARD)
    library.submit_for_review(db, world.user("parent"), resource.id)
    page = _text(login_as("clinician").get(f"/library/{resource.slug}"))
    assert "Readability of the revision under review" in page and "Above the target" in page


def test_a_translation_behind_the_original_and_brought_up_to_date(db, world, login_as):
    original = _published(db, world)
    translation = library.create(db, world.user("clinician"), title="Manual para familias",
                                 body="## En casa\n\nDescanso.\n", meta=meta(language="es"),
                                 translation_of_id=original.id)
    clinician = login_as("clinician")
    assert "Up to date with the original." in _text(clinician.get(f"/library/{translation.slug}"))
    _network_change(db, world, original, HANDBOOK + "\n## Sport\n\nYes, with care.\n")
    page = _text(clinician.get(f"/library/{translation.slug}"))
    assert re.search(r"Behind the original since \w{3} \d{1,2}, \d{4}", page)  # the reader's locale: "Nov 26, 2026"
    changes = _text(clinician.get(f"/library/{translation.slug}/translation"))
    assert "Yes, with care." in changes and "diff-ins" in changes and "Mark as up to date" in changes
    stale = clinician.post(f"/library/{translation.slug}/translation", data={"original_revision_id": "1"})
    assert stale.status_code == 409
    response = clinician.post(f"/library/{translation.slug}/translation",
                              data={"original_revision_id": original.published_revision_id})
    assert response.status_code == 302
    assert "Up to date with the original." in _text(clinician.get(f"/library/{translation.slug}"))
    assert login_as("clinician").get(f"/library/{original.slug}/translation").status_code == 404


def test_stewardship_pages_carry_no_inline_script(db, world, login_as):
    resource, adaptation = _changed_adaptation(db, world)
    lead = login_as("site_lead")
    for url in (f"/library/{resource.slug}", f"/library/adaptations/{adaptation.id}",
                f"/library/adaptations/{adaptation.id}/merge", f"/library/adaptations/{adaptation.id}/edit",
                f"/library/adaptations/{adaptation.id}/offer", "/library/glossary", "/library/overdue"):
        page = _text(lead.get(url))
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), url
        assert " style=" not in page, url


def test_flask_jobs_run_sends_review_reminders_once(db, world, app):
    resource = _published(db, world)
    db.get(ReviewSchedule, resource.id).review_by = date.today() + timedelta(days=10)
    db.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["jobs", "run"])
    assert first.exit_code == 0, first.output
    assert "review reminders: 1" in first.output
    assert "review reminders: 0" in runner.invoke(args=["jobs", "run"]).output
