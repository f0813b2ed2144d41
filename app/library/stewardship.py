"""Library stewardship pages: review-due dates, site adaptations and their merge, the plain-language
glossary and readability panel, translations kept in step.

The resource page and the editor belong to app/library/views.py; they include this blueprint's partials
(`library/stewardship/_panel.html`, `_readability.html`), whose data come from the template helpers
registered below, so the library's views need no change.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.extensions import get_db
from app.library.forms import EditorForm
from app.library.stewardship_forms import (AdaptForm, ConfirmReviewForm, GlossaryForm, MergeForm, ReviewDateForm,
                                           SyncForm)
from app.presenters import acting_role_choices
from app.web import actor, form_post, localized_fields, localized_message
from content import diff, library, readability, stewardship
from content.library import LANGUAGES, MAX_BODY, StaleEdit
from content.markdown import render
from network import access
from network.errors import Conflict, Invalid
from network.people import Site
from network.roles import Role

bp = Blueprint("stewardship", __name__, url_prefix="/library")

SITE_TEAM = (Role.CLINICIAN, Role.SITE_LEAD)


# ---------------------------------------------------------------------------------------------
# Helpers

def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _targets():
    return current_app.config.get("READABILITY_TARGETS", readability.DEFAULT_TARGETS)


def analyse(text: str, language: str, audiences) -> readability.Analysis | None:
    """The readability panel for a family-facing text; None for clinician-only ones (no target)."""
    if not readability.is_family_facing(audiences, _targets()):
        return None
    long_words = current_app.config.get("READABILITY_LONG_SENTENCE_WORDS", readability.DEFAULT_LONG_SENTENCE_WORDS)
    return readability.analyse(text or "", language=language, audiences=audiences,
                               glossary=stewardship.glossary_for(get_db(), language), targets=_targets(),
                               long_sentence_words=long_words)


@dataclass
class Panel:
    """What the resource page shows about stewardship, for this viewer."""

    review: stewardship.ReviewState | None = None
    can_confirm: bool = False
    can_set_date: bool = False
    confirm_roles: list = field(default_factory=list)
    adaptations: list = field(default_factory=list)
    #: (site, its adaptation or None) for every site where the viewer may adapt
    my_sites: list = field(default_factory=list)
    #: the link row when the resource shown is itself an adaptation
    adaptation: stewardship.Adaptation | None = None
    network_changed: bool = False
    translation: stewardship.TranslationState | None = None
    can_sync: bool = False
    readability: readability.Analysis | None = None


def _panel(resource) -> Panel:
    db, viewer = get_db(), actor()
    panel = Panel(review=stewardship.review_state(db, resource), adaptation=stewardship.adaptation_of(db, resource),
                  translation=stewardship.translation_state(db, resource))
    if panel.review is not None:
        panel.can_confirm = access.can(viewer, "library.confirm_review", resource)
        panel.can_set_date = access.can(viewer, "library.set_review_date", resource)
        panel.confirm_roles = acting_role_choices() if panel.can_confirm else []
    if panel.adaptation is not None:
        panel.network_changed = stewardship.network_changed(db, panel.adaptation)
    else:
        panel.adaptations = stewardship.adaptations_of(db, resource)
        if resource.is_readable:
            panel.my_sites = _adaptable_sites(db, viewer, panel.adaptations)
    panel.can_sync = panel.translation is not None and access.can(viewer, "library.sync_translation", resource)
    if resource.status == "in_review" and access.can(viewer, "library.view_working", resource):
        under_review = db.get(library.Revision, resource.review_revision_id)
        panel.readability = analyse(under_review.body, resource.language, resource.audience)
    return panel


def _adaptable_sites(db, viewer, adaptations) -> list[tuple[Site, stewardship.Adaptation | None]]:
    """The sites whose team the viewer is on, each with its adaptation of this resource if there is one."""
    ids = sorted({m.site_id for m in getattr(viewer, "memberships", ()) if m.site_id and m.role in SITE_TEAM})
    if not ids:
        return []
    by_site = {a.site_id: a for a in adaptations}
    sites = [db.get(Site, site_id) for site_id in ids]
    return [(site, by_site.get(site.id)) for site in sites if access.can(viewer, "library.adapt", site)]


def _readability_for(resource, text: str | None):
    return analyse(text or "", resource.language, resource.audience)


@bp.app_context_processor
def _template_helpers():
    """The partials included by the library's pages ask for their data through these."""
    return {"stewardship_panel": _panel, "readability_for": _readability_for}


# ---------------------------------------------------------------------------------------------
# Review-due dates

@bp.route("/<slug>/confirm-review", methods=["POST"])
def confirm_review(slug: str):
    """A co-author confirms the tool is still current (recorded with who and in which role)."""
    db = get_db()
    resource = library.by_slug(db, actor(), slug)
    form = ConfirmReviewForm()
    confirmation = stewardship.confirm_current(db, actor(), resource.id, role=form.role.data or None,
                                               note=form.note.data or "", next_review_by=form.next_review_by.data)
    flash(_("Thank you: recorded that this tool is still current. Next review by %(day)s.",
            day=confirmation.next_review_by.isoformat()), "success")
    return redirect(url_for("library.show", slug=slug))


@bp.route("/<slug>/review-by", methods=["POST"])
def set_review_by(slug: str):
    """Co-authors choose when the tool should next be reviewed."""
    db = get_db()
    resource = library.by_slug(db, actor(), slug)
    schedule = stewardship.set_review_by(db, actor(), resource.id, ReviewDateForm().review_by.data)
    flash(_("Review date set: %(day)s.", day=schedule.review_by.isoformat()), "success")
    return redirect(url_for("library.show", slug=slug))


@bp.route("/overdue")
def overdue():
    """Leaders' list of published tools past their review date, with how many sites adapted each."""
    db = get_db()
    page = max(1, request.args.get("page", 1, type=int))
    rows, total = stewardship.overdue(db, actor(), offset=(page - 1) * stewardship.OVERDUE_PAGE)
    return render_template("library/stewardship/overdue.html", rows=rows, total=total, page=page,
                           pages=max(1, -(-total // stewardship.OVERDUE_PAGE)), today=stewardship.today())


# ---------------------------------------------------------------------------------------------
# Site adaptations

@bp.route("/<slug>/adapt", methods=["POST"])
def adapt(slug: str):
    """A site's team makes its own adaptation of a network resource, then works on it."""
    db = get_db()
    resource = library.by_slug(db, actor(), slug)
    form = AdaptForm()
    site_id = _int(form.site.data)
    if site_id is None:
        raise Invalid({"site": [_("Choose your site.")]})
    adaptation, created = stewardship.adapt(db, actor(), resource.id, site_id=site_id, role=form.role.data or None)
    flash(_("Your site's adaptation is ready: edit it for your site.") if created
          else _("Your site already has an adaptation of this resource; here it is."), "success")
    return redirect(url_for("stewardship.adaptation", adaptation_id=adaptation.id))


def _adaptation_page_data(db, adaptation):
    viewer = actor()
    current = stewardship.current_text(db, adaptation)
    changes = stewardship.network_changes(db, viewer, adaptation.id)
    return dict(adaptation=adaptation, current=current, html=render(current.body, toc=True), changes=changes,
                network=adaptation.network_resource,
                network_diff=diff.inline_html(changes.base.body, changes.theirs.body) if changes.changed else None,
                revisions=stewardship.history(db, viewer, adaptation.id),
                can_edit=access.can(viewer, "library.edit_adaptation", adaptation))


@bp.route("/adaptations/<int:adaptation_id>")
def adaptation(adaptation_id: int):
    """A site's adaptation: its text, its own history and, when the network published since, the changes."""
    db = get_db()
    found = stewardship.get_adaptation(db, actor(), adaptation_id)
    return render_template("library/stewardship/adaptation.html", **_adaptation_page_data(db, found))


@bp.route("/adaptations/<int:adaptation_id>/revisions/<int:number>")
def adaptation_revision(adaptation_id: int, number: int):
    """One revision of an adaptation and what it changed."""
    db = get_db()
    found = stewardship.get_adaptation(db, actor(), adaptation_id)
    revision, previous = stewardship.adaptation_revision(db, actor(), adaptation_id, number)
    return render_template("library/stewardship/adaptation_revision.html", adaptation=found, revision=revision,
                           previous=previous, html=render(revision.body, toc=True),
                           changes=diff.inline_html(previous.body, revision.body) if previous else None)


@bp.route("/adaptations/<int:adaptation_id>/edit", methods=["GET", "POST"])
def edit_adaptation(adaptation_id: int):
    """The site's team edits its adaptation (local phone numbers, clinic process, its own words)."""
    db = get_db()
    found = stewardship.get_adaptation(db, actor(), adaptation_id)
    access.require(actor(), "library.edit_adaptation", found)
    current = stewardship.current_text(db, found)
    form = EditorForm()
    form.role.choices = acting_role_choices()
    if request.method == "GET":
        form.title.data, form.body.data, form.base_revision_id.data = current.title, current.body, str(current.id)

    def page(status, stale=None):
        return render_template("library/stewardship/adaptation_edit.html", adaptation=found, form=form, stale=stale,
                               resource=found.resource), status

    try:
        saved = form_post(form, lambda: stewardship.save_adaptation(
            db, actor(), found.id, base_revision_id=_int(form.base_revision_id.data), title=form.title.data,
            body=form.body.data, summary=form.summary.data, role=form.role.data))
    except StaleEdit as stale:
        db.rollback()
        merge = diff.three_way(stale.base.body, stale.mine_body, stale.theirs.body)
        form.body.data = merge.marked_text
        form.base_revision_id.data = str(stale.theirs.id)
        return page(409, stale)
    if saved.ok:
        flash(_("Saved as a new revision of your site's adaptation."), "success")
        return redirect(url_for("stewardship.adaptation", adaptation_id=found.id))
    return page(saved.status)


def _choices_from(form_data, merge) -> dict:
    """conflict-<n> (mine, theirs, both or custom) and custom-<n> (the text a person wrote)."""
    chosen = {}
    for conflict in merge.conflicts:
        kind = form_data.get(f"conflict-{conflict.index}", "")
        chosen[conflict.index] = (kind, form_data.get(f"custom-{conflict.index}", "")) if kind == "custom" else kind
    return chosen


@bp.route("/adaptations/<int:adaptation_id>/merge", methods=["GET", "POST"])
def merge(adaptation_id: int):
    """Bring the network's new revision into the adaptation: a three-way merge that keeps the site's
    edits; where both changed the same lines a person chooses, and nothing is dropped unasked."""
    db = get_db()
    found = stewardship.get_adaptation(db, actor(), adaptation_id)
    access.require(actor(), "library.edit_adaptation", found)
    form = MergeForm()
    form.role.choices = acting_role_choices()
    changes = stewardship.network_changes(db, actor(), found.id)
    status, errors, notice = 200, {}, None
    if request.method == "POST" and changes.changed:
        try:
            stewardship.merge_network_changes(
                db, actor(), found.id, network_revision_id=_int(form.network_revision_id.data),
                adaptation_revision_id=_int(form.adaptation_revision_id.data),
                choices=_choices_from(request.form, changes.merge), role=form.role.data or None,
                summary=form.summary.data or "")
        except Invalid as error:
            db.rollback()
            errors, status = localized_fields(error), 422
        except Conflict as error:
            db.rollback()
            notice, status = localized_message(error), 409
            changes = stewardship.network_changes(db, actor(), found.id)
        else:
            flash(_("Merged: your site's adaptation now includes the network's changes."), "success")
            return redirect(url_for("stewardship.adaptation", adaptation_id=found.id))
    elif request.method == "POST":
        notice, status = _("Your adaptation is already up to date with the network version."), 409
    if changes.changed:
        form.network_revision_id.data = str(changes.theirs.id)
        form.adaptation_revision_id.data = str(changes.mine.id)
    return render_template("library/stewardship/merge.html", adaptation=found, changes=changes, form=form,
                           errors=errors, notice=notice, chosen=request.form if request.method == "POST" else {},
                           network_diff=diff.inline_html(changes.base.body, changes.theirs.body)
                           if changes.changed else None), status


@bp.route("/adaptations/<int:adaptation_id>/offer", methods=["GET", "POST"])
def offer_back(adaptation_id: int):
    """Offer a change from the adaptation back to the network version, as a suggestion its co-authors
    accept or decline."""
    db = get_db()
    found = stewardship.get_adaptation(db, actor(), adaptation_id)
    access.require(actor(), "library.edit_adaptation", found)
    network = found.network_resource
    base = db.get(library.Revision, found.based_on_revision_id)
    current = stewardship.current_text(db, found)
    form = EditorForm()
    form.role.choices = acting_role_choices()
    if request.method == "GET":
        form.title.data, form.body.data = base.title, current.body
        form.summary.data = _("From %(site)s: ", site=found.site.name)
    offered = form_post(form, lambda: stewardship.offer_back(db, actor(), found.id, title=form.title.data,
                                                             body=form.body.data, summary=form.summary.data,
                                                             role=form.role.data))
    if offered.ok:
        flash(_("Offered to the network version's co-authors as a suggestion. Thank you."), "success")
        return redirect(url_for("library.show", slug=network.slug))
    return render_template("library/stewardship/offer.html", adaptation=found, network=network, base=base, form=form,
                           is_coauthor=access.coauthors(actor(), network),
                           changes=diff.inline_html(base.body, current.body)), offered.status


# ---------------------------------------------------------------------------------------------
# The glossary and the readability panel

@bp.route("/glossary", methods=["GET", "POST"])
def glossary():
    """The network's plain-language glossary; network leaders and moderators edit it."""
    db = get_db()
    terms = stewardship.glossary(db, actor())
    can_edit = access.can(actor(), "glossary.edit")
    form = GlossaryForm()
    if request.method == "POST":
        access.require(actor(), "glossary.edit")
    added = form_post(form, lambda: stewardship.save_term(db, actor(), term=form.term.data, plain=form.plain.data,
                                                          language=form.language.data, note=form.note.data or ""))
    if added.ok:
        flash(_("Added “%(term)s”.", term=added.result.term), "success")
        return redirect(url_for("stewardship.glossary"))
    return render_template("library/stewardship/glossary.html", terms=terms, form=form, can_edit=can_edit,
                           languages=LANGUAGES), added.status


@bp.route("/glossary/<int:term_id>", methods=["GET", "POST"])
def glossary_term(term_id: int):
    """Change one glossary entry."""
    db = get_db()
    access.require(actor(), "glossary.edit")
    row = stewardship.get_term(db, actor(), term_id)
    form = GlossaryForm(obj=row)
    saved = form_post(form, lambda: stewardship.save_term(db, actor(), term_id=row.id, term=form.term.data,
                                                          plain=form.plain.data, language=form.language.data,
                                                          note=form.note.data or ""))
    if saved.ok:
        flash(_("Saved."), "success")
        return redirect(url_for("stewardship.glossary"))
    return render_template("library/stewardship/glossary_term.html", term=row, form=form), saved.status


@bp.route("/glossary/<int:term_id>/delete", methods=["POST"])
def delete_glossary_term(term_id: int):
    """Remove a glossary entry."""
    stewardship.delete_term(get_db(), actor(), term_id)
    flash(_("Removed from the glossary."), "success")
    return redirect(url_for("stewardship.glossary"))


@bp.route("/readability", methods=["POST"])
def readability_check():
    """The editor's readability panel, as the text changes (the page shows the same analysis without JS)."""
    access.require(actor(), "library.create")
    body = request.form.get("body", "")
    if len(body) > MAX_BODY:
        raise Invalid({"body": [_("Too long to check.")]})
    language = request.form.get("language", "en")
    if language not in LANGUAGES:
        raise Invalid({"language": [_("Choose one of the listed languages.")]})
    audiences = [a for a in request.form.getlist("audience") if a in library.AUDIENCES]
    result = analyse(body, language, audiences)
    return jsonify(analysis=result.as_dict() if result else None,
                   html=render_template("library/stewardship/_readability_body.html", analysis=result))


# ---------------------------------------------------------------------------------------------
# Translations kept in step

@bp.route("/<slug>/translation", methods=["GET", "POST"])
def translation(slug: str):
    """What changed in the original since the translation was last brought up to date; its co-authors
    mark it up to date once they have carried the changes over."""
    db = get_db()
    resource = library.by_slug(db, actor(), slug)
    if request.method == "POST":
        stewardship.mark_translation_up_to_date(db, actor(), resource.id,
                                                original_revision_id=_int(SyncForm().original_revision_id.data))
        flash(_("Marked as up to date with the original."), "success")
        return redirect(url_for("library.show", slug=slug))
    state = stewardship.translation_changes(db, actor(), resource.id)
    form = SyncForm(original_revision_id=str(state.current.id) if state.current else "")
    changes = None
    if state.behind and state.synced is not None:
        changes = diff.inline_html(state.synced.body, state.current.body)
    return render_template("library/stewardship/translation.html", resource=resource, state=state, form=form,
                           changes=changes, can_sync=access.can(actor(), "library.sync_translation", resource))
