"""The tool library: find, read, write together, compare, review, publish, adopt."""
from __future__ import annotations

import logging

from flask import (Blueprint, Response, current_app, flash, jsonify, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _

from app import errors
from app.extensions import get_db
from app.library.forms import (AUDIENCE_LABELS, TYPE_LABELS, AdoptForm, AttachmentForm, CoauthorForm, CommentForm,
                               DecisionForm, EditorForm, MetaForm, NewResourceForm, ReviewForm)
from app.forms import choices
from app.presenters import acting_role_choices
from app.web import actor, form_post
from content import attachments, diff, library, search
from content.library import Meta, StaleEdit, SuggestionConflict
from content.markdown import render, toc
from network import access, outcomes, people
from network.errors import Invalid, NotFound

log = logging.getLogger("carecommons.library")
bp = Blueprint("library", __name__, url_prefix="/library")
files = Blueprint("files", __name__)

HISTORY_PAGE = 50


def _resource(slug: str):
    return library.by_slug(get_db(), actor(), slug)


def store() -> attachments.FileStore:
    return attachments.FileStore(current_app.config["ATTACHMENTS_DIR"])


def _meta(form) -> Meta:
    return Meta(type=form.type.data, audience=form.audience.data or [], language=form.language.data,
                tags=form.tags.data or "")


# ---------------------------------------------------------------------------------------------
# Finding and reading

@bp.route("/")
def index():
    """Search the library, or browse the newest tools; one's own drafts and what awaits review."""
    db = get_db()
    viewer = actor()
    access.require(viewer, "library.browse")
    q = request.args.get("q", "").strip()[:200]
    type_ = request.args.get("type") or None
    audience = request.args.get("audience") or None
    language = request.args.get("language") or None
    mine_only = request.args.get("adopted") == "1"
    adopted_sites = sorted(viewer.site_ids()) if mine_only else None
    if q:
        hits = search.search(db, viewer, q, type_=type_, audience=audience, language=language,
                             adopted_site_ids=adopted_sites)
        newest = []
    else:
        hits = []
        newest = library.readable(db, viewer, type_=type_, audience=audience, language=language)
        if mine_only:
            adopted = {a.resource_id for a in library.adoptions_at(db, adopted_sites or [])}
            newest = [r for r in newest if r.id in adopted]
    return render_template("library/index.html", q=q, hits=hits, newest=newest, type_=type_, audience=audience,
                           language=language, mine_only=mine_only, types=TYPE_LABELS, audiences=AUDIENCE_LABELS,
                           languages=library.LANGUAGES, mine=library.mine(db, viewer),
                           awaiting=library.awaiting_review(db, viewer))


@bp.route("/<slug>")
def show(slug: str):
    """A resource as readers see it, with its co-production, adoption, comments and review."""
    db = get_db()
    viewer = actor()
    resource = _resource(slug)
    shown = library.reader_revision(db, viewer, resource, working=request.args.get("version") == "working")
    _count_use(db, resource)
    sites_i_lead = [s for s in people.active_sites(db, among=viewer.site_ids()) if access.can(viewer, "library.adopt", s)]
    adopt_form = AdoptForm()
    adopt_form.site.choices = choices((s.id, s.name) for s in sites_i_lead)
    comment_form = CommentForm()
    headings = toc(shown.body)
    comment_form.anchor.choices = choices([("", _("The whole resource"))] + [(h[1], h[2]) for h in headings])
    comment_form.role.choices = acting_role_choices()
    review_form = ReviewForm()
    review_form.role.choices = choices((v, label) for v, label in ((c.value, c.label) for c in acting_role_choices())
                                       if v in ("patient", "parent", "clinician", "site_lead"))
    return render_template(
        "library/show.html", resource=resource, shown=shown, html=render(shown.body, toc=True),
        headings=headings, coproduction=library.coproduction(db, resource),
        adoptions=library.adoptions_of(db, resource), translations=library.translations_of(db, viewer, resource),
        attachments=library.attachments_of(db, resource), comments=library.comments(db, viewer, resource),
        decisions=library.review_decisions(db, resource), approval=library.approval_state(db, resource),
        changes_asked=library.changes_asked(db, resource),
        suggestions=library.open_suggestions(db, viewer, resource), types=TYPE_LABELS, audiences=AUDIENCE_LABELS,
        can=lambda action, target=resource: access.can(viewer, action, target), adopt_form=adopt_form,
        sites_i_lead=sites_i_lead, comment_form=comment_form, review_form=review_form, coauthor_form=CoauthorForm(),
        attachment_form=AttachmentForm(), meta_form=MetaForm(obj=resource), render=render,
        is_working=shown.id != resource.published_revision_id)


def _count_use(db, resource, kind: str = "view") -> None:
    """Count a view or download. When the database cannot take the write just now (read-only, full,
    restarting), the reader still gets the tool: the count is dropped and logged (before, reading a
    tool on a read-only database was a 503)."""
    try:
        library.record_view(db, actor(), resource, kind)
    except Exception as error:
        if errors.database_fault(error) is None:
            raise
        db.rollback()
        log.warning("a %s of %s was not counted (%s)", kind, resource.slug, str(error).splitlines()[0])


@bp.route("/<slug>/print")
def print_view(slug: str):
    """A clean page for printing."""
    db = get_db()
    resource = _resource(slug)
    shown = library.reader_revision(db, actor(), resource)
    _count_use(db, resource, "download")
    return render_template("library/print.html", resource=resource, shown=shown, html=render(shown.body, toc=True))


@bp.route("/<slug>.md")
def source(slug: str):
    """The Markdown source, as a download."""
    db = get_db()
    resource = _resource(slug)
    shown = library.reader_revision(db, actor(), resource)
    _count_use(db, resource, "download")
    name = attachments.safe_download_name(shown.title, ".md")
    return Response(f"# {shown.title}\n\n{shown.body}", mimetype="text/markdown",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# ---------------------------------------------------------------------------------------------
# Writing

@bp.route("/new", methods=["GET", "POST"])
def new():
    """Start a resource (or a translation of one); you become its first co-author."""
    db = get_db()
    access.require(actor(), "library.create")
    form = NewResourceForm()
    form.role.choices = acting_role_choices()
    original = None
    original_id = request.values.get("translation_of", type=int)
    if original_id:
        original = library.get(db, actor(), original_id)
    if request.method == "GET" and original is not None:
        source_revision = library.reader_revision(db, actor(), original)
        form.title.data, form.body.data = source_revision.title, source_revision.body
        form.type.data, form.audience.data, form.tags.data = original.type, original.audience, ", ".join(original.tags)
        form.translation_of.data = str(original.id)
    created = form_post(form, lambda: library.create(
        db, actor(), title=form.title.data, body=form.body.data, meta=_meta(form), summary=form.summary.data,
        role=form.role.data, translation_of_id=original.id if original else None))
    if created.ok:
        flash(_("Draft saved. Invite co-authors and send it to review when it is ready."), "success")
        return redirect(url_for("library.show", slug=created.result.slug))
    return render_template("library/new.html", form=form, original=original), created.status


@bp.route("/<slug>/edit", methods=["GET", "POST"])
def edit(slug: str):
    """Edit as a co-author. The form carries the revision it started from; a save on top of
    someone else's newer save is refused with the conflict page, never an overwrite."""
    db = get_db()
    resource = _resource(slug)
    access.require(actor(), "library.edit", resource)
    current = db.get(library.Revision, resource.current_revision_id)
    form = EditorForm()
    form.role.choices = acting_role_choices()
    draft = library.my_draft(db, actor(), resource)
    if request.method == "GET":
        source_text = draft if draft is not None and draft.base_revision_id == current.id else current
        form.title.data, form.body.data = source_text.title, source_text.body
        form.base_revision_id.data = str(current.id)
    try:
        saved = form_post(form, lambda: library.save(
            db, actor(), resource.id, base_revision_id=int(form.base_revision_id.data or 0), title=form.title.data,
            body=form.body.data, summary=form.summary.data, role=form.role.data,
            kind=request.form.get("kind") == "merge" and "merge" or "edit"))
    except StaleEdit as stale:
        db.rollback()
        return _conflict_page(resource, stale, form), 409
    if saved.ok:
        flash(_("Saved as a new revision."), "success")
        return redirect(url_for("library.show", slug=resource.slug))
    stale_draft = draft if draft is not None and draft.base_revision_id != current.id else None
    return render_template("library/edit.html", form=form, resource=resource, current=current,
                           stale_draft=stale_draft), saved.status


def _conflict_page(resource, stale: StaleEdit, form):
    merge = diff.three_way(stale.base.body, stale.mine_body, stale.theirs.body)
    form.base_revision_id.data = str(stale.theirs.id)
    form.body.data = merge.marked_text if merge.has_conflicts else merge.merged_text
    form.title.data = stale.mine_title
    return render_template("library/conflict.html", resource=resource, stale=stale, merge=merge, form=form,
                           rows=diff.collapse(diff.side_by_side(stale.theirs.body, stale.mine_body)))


@bp.route("/preview", methods=["POST"])
def preview():
    """The live preview: the same renderer as the published page (the editor's script calls this)."""
    access.require(actor(), "library.create")
    body = request.form.get("body", "")
    if len(body) > library.MAX_BODY:
        raise Invalid({"body": [_("Too long to preview.")]})
    return jsonify(html=render(body, toc=True))


@bp.route("/<slug>/autosave", methods=["POST"])
def autosave(slug: str):
    """Keep the editor's work every few seconds, so a closed tab loses nothing."""
    db = get_db()
    resource = _resource(slug)
    draft = library.autosave(db, actor(), resource.id, base_revision_id=request.form.get("base_revision_id", type=int),
                             title=request.form.get("title", ""), body=request.form.get("body", ""))
    return jsonify(saved_at=draft.saved_at.isoformat())


@bp.route("/<slug>/meta", methods=["POST"])
def update_meta(slug: str):
    """Change type, audience, language or tags."""
    db = get_db()
    resource = _resource(slug)
    form = MetaForm()
    try:
        library.update_meta(db, actor(), resource.id, _meta(form))
    except Invalid:
        db.rollback()
        raise
    flash(_("Details saved."), "success")
    return redirect(url_for("library.show", slug=slug))


@bp.route("/<slug>/coauthors", methods=["POST"])
def add_coauthor(slug: str):
    """Invite a member to write with you."""
    db = get_db()
    resource = _resource(slug)
    library.add_coauthor(db, actor(), resource.id, CoauthorForm().email.data or "")
    flash(_("Co-author added."), "success")
    return redirect(url_for("library.show", slug=slug))


@bp.route("/<slug>/coauthors/<int:user_id>/remove", methods=["POST"])
def remove_coauthor(slug: str, user_id: int):
    """Remove a co-author (a resource keeps at least one)."""
    db = get_db()
    resource = _resource(slug)
    library.remove_coauthor(db, actor(), resource.id, user_id)
    flash(_("Co-author removed."), "success")
    return redirect(url_for("library.show", slug=slug))


# ---------------------------------------------------------------------------------------------
# History, comparison, restoring

@bp.route("/<slug>/history")
def history(slug: str):
    """Every revision, newest first, 50 a page."""
    db = get_db()
    resource = _resource(slug)
    page = max(1, request.args.get("page", 1, type=int))
    revisions, total = library.history(db, actor(), resource, page=page, per_page=HISTORY_PAGE)
    return render_template("library/history.html", resource=resource, revisions=revisions, total=total, page=page,
                           pages=max(1, -(-total // HISTORY_PAGE)),
                           can_restore=access.can(actor(), "library.edit", resource))


@bp.route("/<slug>/revisions/<int:number>")
def revision(slug: str, number: int):
    """One old revision as it read then."""
    db = get_db()
    resource = _resource(slug)
    old = library.revision(db, actor(), resource, number)
    return render_template("library/revision.html", resource=resource, revision=old, html=render(old.body, toc=True),
                           can_restore=access.can(actor(), "library.edit", resource))


@bp.route("/<slug>/compare")
def compare(slug: str):
    """Any two revisions, word by word: inline or side by side."""
    db = get_db()
    resource = _resource(slug)
    newest = db.get(library.Revision, resource.current_revision_id).number
    a = request.args.get("a", max(1, newest - 1), type=int)
    b = request.args.get("b", newest, type=int)
    view = "side" if request.args.get("view") == "side" else "inline"
    old, new = library.revision(db, actor(), resource, a), library.revision(db, actor(), resource, b)
    added, removed = diff.stats(old.body, new.body)
    return render_template("library/compare.html", resource=resource, old=old, new=new, view=view,
                           inline=diff.inline_html(old.body, new.body) if view == "inline" else None,
                           rows=diff.collapse(diff.side_by_side(old.body, new.body)) if view == "side" else None,
                           added=added, removed=removed, newest=newest)


@bp.route("/<slug>/revisions/<int:number>/restore", methods=["POST"])
def restore(slug: str, number: int):
    """Make an old revision's text the newest revision."""
    db = get_db()
    resource = _resource(slug)
    library.restore(db, actor(), resource.id, number)
    flash(_("Revision %(n)s restored as a new revision.", n=number), "success")
    return redirect(url_for("library.history", slug=slug))


# ---------------------------------------------------------------------------------------------
# Suggestions and comments

@bp.route("/<slug>/suggest", methods=["GET", "POST"])
def suggest(slug: str):
    """A member who is not a co-author proposes an edit."""
    db = get_db()
    resource = _resource(slug)
    access.require(actor(), "library.suggest", resource)
    base = library.reader_revision(db, actor(), resource)
    form = EditorForm()
    form.role.choices = acting_role_choices()
    if request.method == "GET":
        form.title.data, form.body.data, form.base_revision_id.data = base.title, base.body, str(base.id)
    sent = form_post(form, lambda: library.suggest(
        db, actor(), resource.id, base_revision_id=int(form.base_revision_id.data or 0), title=form.title.data,
        body=form.body.data, summary=form.summary.data, role=form.role.data))
    if sent.ok:
        flash(_("Thank you: the co-authors will see your suggestion."), "success")
        return redirect(url_for("library.show", slug=slug))
    return render_template("library/suggest.html", form=form, resource=resource), sent.status


@bp.route("/<slug>/suggestions/<int:suggestion_id>", methods=["GET", "POST"])
def suggestion(slug: str, suggestion_id: int):
    """A suggestion's change as a diff; co-authors accept (merging if needed) or decline it."""
    db = get_db()
    resource = _resource(slug)
    item = library.get_suggestion(db, actor(), suggestion_id)
    if item.resource_id != resource.id:
        raise NotFound(_("No such suggestion."))
    form = DecisionForm()
    merge = None
    status = 200
    if request.method == "POST":
        accept = request.form.get("decision") == "accept"
        try:
            library.decide_suggestion(db, actor(), item.id, accept=accept, comment=form.comment.data or "",
                                      merged_body=form.merged_body.data if request.form.get("merged") else None)
        except SuggestionConflict as conflict:
            db.rollback()
            merge = conflict.merge
            form.merged_body.data = merge.marked_text
            status = 409
        else:
            flash(_("Suggestion accepted.") if accept else _("Suggestion declined."), "success")
            return redirect(url_for("library.show", slug=slug))
    return render_template("library/suggestion.html", resource=resource, item=item, form=form, merge=merge,
                           inline=diff.inline_html(item.base_revision.body, item.body),
                           can_decide=access.can(actor(), "library.decide_suggestion", resource)), status


@bp.route("/<slug>/comments", methods=["POST"])
def comment(slug: str):
    """Comment on the resource, or on one of its headings."""
    db = get_db()
    resource = _resource(slug)
    shown = library.reader_revision(db, actor(), resource)
    form = CommentForm()
    library.add_comment(db, actor(), resource.id, body=form.body.data or "", anchor=form.anchor.data or None,
                        role=form.role.data or None, anchors={h[1] for h in toc(shown.body)})
    flash(_("Comment added."), "success")
    return redirect(url_for("library.show", slug=slug) + "#comments")


@bp.route("/<slug>/comments/<int:comment_id>/resolve", methods=["POST"])
def resolve_comment(slug: str, comment_id: int):
    """Mark a comment as dealt with."""
    db = get_db()
    _resource(slug)
    library.resolve_comment(db, actor(), comment_id)
    return redirect(url_for("library.show", slug=slug) + "#comments")


# ---------------------------------------------------------------------------------------------
# Review and publication

@bp.route("/<slug>/submit-review", methods=["POST"])
def submit_review(slug: str):
    """Send the newest revision to review."""
    db = get_db()
    library.submit_for_review(db, actor(), _resource(slug).id)
    flash(_("Sent to review. It needs a patient or parent and a clinician to approve it."), "success")
    return redirect(url_for("library.show", slug=slug))


@bp.route("/<slug>/review", methods=["POST"])
def review(slug: str):
    """Approve, or ask for changes."""
    db = get_db()
    resource = _resource(slug)
    form = ReviewForm()
    library.review(db, actor(), resource.id, decision=form.decision.data or "", comment=form.comment.data or "",
                   role=request.form.get("role") or None)
    flash(_("Thank you for your review."), "success")
    return redirect(url_for("library.show", slug=slug))


@bp.route("/<slug>/publish", methods=["POST"])
def publish(slug: str):
    """Publish the approved revision; readers see it from now on."""
    db = get_db()
    library.publish(db, actor(), _resource(slug).id)
    flash(_("Published."), "success")
    return redirect(url_for("library.show", slug=slug))


@bp.route("/<slug>/archive", methods=["POST"])
def archive(slug: str):
    """Retire a resource; it leaves the library's lists and search."""
    db = get_db()
    library.archive(db, actor(), _resource(slug).id)
    flash(_("Archived."), "success")
    return redirect(url_for("library.show", slug=slug))


# ---------------------------------------------------------------------------------------------
# Adoption and attachments

@bp.route("/<slug>/adopt", methods=["POST"])
def adopt(slug: str):
    """A site lead records that their site uses this tool since a month."""
    db = get_db()
    resource = _resource(slug)
    site = db.get(people.Site, request.form.get("site", type=int) or 0)
    if site is None:
        raise Invalid({"site": [_("Choose your site.")]})
    access.require(actor(), "library.adopt", site)
    since = outcomes.parse_month(AdoptForm().since.data)
    if since is None:
        raise Invalid({"since": [_("Give the month as YYYY-MM, e.g. 2025-09.")]})
    library.adopt(db, actor(), resource.id, site_id=site.id, since=since)
    flash(_("Recorded: your site uses this tool."), "success")
    return redirect(url_for("library.show", slug=slug))


@bp.route("/<slug>/adopt/<int:site_id>/remove", methods=["POST"])
def unadopt(slug: str, site_id: int):
    """Take back an adoption."""
    db = get_db()
    library.unadopt(db, actor(), _resource(slug).id, site_id)
    flash(_("Adoption removed."), "success")
    return redirect(url_for("library.show", slug=slug))


@bp.route("/<slug>/attachments", methods=["POST"])
def attach(slug: str):
    """Attach a PDF or an image (checked by its content, images re-encoded)."""
    db = get_db()
    resource = _resource(slug)
    access.require(actor(), "library.edit", resource)
    form = AttachmentForm()
    if not form.validate_on_submit():
        raise Invalid({"file": [_("Choose a file.")]})
    data = form.file.data.stream.read(attachments.MAX_BYTES + 1)
    row = library.attach(db, actor(), resource.id, data, label=form.label.data or form.file.data.filename or "",
                         store=store())
    flash(_("Attached. Use it in the text as ![description](%(url)s).",
            url=url_for("files.attachment", name=row.stored_name)), "success")
    return redirect(url_for("library.show", slug=slug))


@files.route("/attachments/<name>")
def attachment(name: str):
    """Serve an attachment from outside the static folder, with headers that keep it inert."""
    db = get_db()
    row, resource = library.attachment_for(db, actor(), name)
    try:
        data = store().open(row.stored_name)
    except (ValueError, FileNotFoundError):
        raise NotFound(_("No such file."))
    _count_use(db, resource, "download")
    extension = "." + row.stored_name.rsplit(".", 1)[-1]
    inline = row.media_type.startswith("image/")
    filename = attachments.safe_download_name(row.label.rsplit(".", 1)[0] or resource.title, extension)
    return Response(data, mimetype=row.media_type, headers={
        "Content-Disposition": f'{"inline" if inline else "attachment"}; filename="{filename}"',
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"})
