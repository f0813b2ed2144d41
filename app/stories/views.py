"""Personal narratives: telling, reading, responding, and the moderators' queue."""
from __future__ import annotations

from xml.etree import ElementTree as ET

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.extensions import get_db
from app.forms import ActionForm
from app.stories.forms import CommentForm, EditStoryForm, ModerationForm, NarrowForm, ReportForm, StoryForm
from app.presenters import acting_role_choices, shown_byline
from app.web import actor, form_post
from content import narratives
from content.markdown import render
from network import access
from network.db import utcnow

bp = Blueprint("stories", __name__, url_prefix="/stories")
moderation = Blueprint("moderation", __name__, url_prefix="/moderation")

ROLE_FILTERS = ("patient", "parent", "clinician")


@bp.route("/")
def index():
    """Stories this reader may see, by tag and by the teller's role."""
    db = get_db()
    tag = request.args.get("tag") if request.args.get("tag") in narratives.TAGS else None
    role = request.args.get("role") if request.args.get("role") in ROLE_FILTERS else None
    stories = narratives.browse(db, actor(), tag=tag, role=role)
    return render_template("stories/index.html", stories=stories, tag=tag, role=role, tags=narratives.TAGS,
                           roles=ROLE_FILTERS, helped=narratives.helped_counts(db, [s.id for s in stories]),
                           byline=shown_byline, may_tell=access.can(actor(), "story.tell"))


@bp.route("/<int:story_id>")
def show(story_id: int):
    """One story: its text, who it is by (as the author chose), 'this helped me', comments."""
    db = get_db()
    viewer = actor()
    story = narratives.get(db, viewer, story_id)
    return render_template(
        "stories/show.html", story=story, html=render(story.body), byline=shown_byline(story),
        helped=narratives.helped_counts(db, [story.id]).get(story.id, 0),
        has_helped=narratives.has_helped(db, viewer, story), comments=narratives.comments(db, viewer, story),
        is_author=getattr(viewer, "id", None) == story.author_id, may_respond=access.can(viewer, "story.respond", story),
        may_feature=access.can(viewer, "story.feature"), comment_form=CommentForm(), report_form=ReportForm(),
        narrow_form=NarrowForm(visibility=story.visibility, byline=story.byline), render=render,
        action_form=ActionForm())


@bp.route("/new", methods=["GET", "POST"])
def new():
    """Tell a story. It goes to the moderators first (a teen's to a linked parent before that)."""
    db = get_db()
    access.require(actor(), "story.tell")
    form = StoryForm()
    form.role.choices = acting_role_choices()
    told = form_post(form, lambda: narratives.tell(db, actor(), title=form.title.data, body=form.body.data,
                                                   tags=form.tags.data or [], visibility=form.visibility.data,
                                                   byline_choice=form.byline.data, role=form.role.data))
    if told.ok:
        flash(_("Thank you. Your parent will be asked to agree first.") if told.result.status == "awaiting_parent"
              else _("Thank you. A moderator will read your story before it is shared."), "success")
        return redirect(url_for("stories.mine"))
    return render_template("stories/new.html", form=form), told.status


@bp.route("/mine")
def mine():
    """The author's stories and where each stands; a parent's agreements to give."""
    db = get_db()
    return render_template("stories/mine.html", stories=narratives.mine(db, actor()),
                           to_agree=narratives.awaiting_my_agreement(db, actor()), action_form=ActionForm())


@bp.route("/<int:story_id>/edit", methods=["GET", "POST"])
def edit(story_id: int):
    """Edit one's story (a published one is moderated again; readers keep the published text meanwhile)."""
    db = get_db()
    story = narratives.get(db, actor(), story_id)
    access.require(actor(), "story.edit", story)
    form = EditStoryForm(obj=story)
    if request.method == "GET" and story.pending_body is not None:
        form.title.data, form.body.data = story.pending_title, story.pending_body
    saved = form_post(form, lambda: narratives.edit(db, actor(), story.id, title=form.title.data,
                                                    body=form.body.data, tags=form.tags.data or []))
    if saved.ok:
        flash(_("Saved. A moderator will look at your changes."), "success")
        return redirect(url_for("stories.mine"))
    return render_template("stories/edit.html", form=form, story=story), saved.status


@bp.route("/<int:story_id>/narrow", methods=["POST"])
def narrow(story_id: int):
    """Fewer readers, or a less identifying byline: at once, no moderation needed."""
    db = get_db()
    form = NarrowForm()
    narratives.narrow(db, actor(), story_id, visibility=form.visibility.data or None, byline_choice=form.byline.data or None)
    flash(_("Done: the change applies now."), "success")
    return redirect(url_for("stories.show", story_id=story_id))


@bp.route("/<int:story_id>/withdraw", methods=["POST"])
def withdraw(story_id: int):
    """Hide the story everywhere, at once."""
    narratives.withdraw(get_db(), actor(), story_id)
    flash(_("Your story is withdrawn and hidden everywhere."), "success")
    return redirect(url_for("stories.mine"))


@bp.route("/<int:story_id>/delete", methods=["POST"])
def delete(story_id: int):
    """Delete the story and its comments for good."""
    narratives.delete_permanently(get_db(), actor(), story_id)
    flash(_("Your story is deleted permanently."), "success")
    return redirect(url_for("stories.mine"))


@bp.route("/<int:story_id>/agree", methods=["POST"])
def agree(story_id: int):
    """A linked parent agrees to their teen's story going to the moderators."""
    narratives.parent_agree(get_db(), actor(), story_id)
    flash(_("Thank you. The story now goes to the moderators."), "success")
    return redirect(url_for("stories.mine"))


@bp.route("/<int:story_id>/helped", methods=["POST"])
def helped(story_id: int):
    """'This helped me' — once per person."""
    narratives.helped(get_db(), actor(), story_id)
    return redirect(url_for("stories.show", story_id=story_id))


@bp.route("/<int:story_id>/comments", methods=["POST"])
def comment(story_id: int):
    """Comment (comments on public stories are moderated first)."""
    row = narratives.comment(get_db(), actor(), story_id, body=CommentForm().body.data or "")
    flash(_("Your comment will appear once a moderator has read it.") if row.status == "pending"
          else _("Comment added."), "success")
    return redirect(url_for("stories.show", story_id=story_id) + "#comments")


@bp.route("/<int:story_id>/report", methods=["POST"])
def report(story_id: int):
    """Report a story to the moderators."""
    narratives.report(get_db(), actor(), object_type="story", object_id=story_id, reason=ReportForm().reason.data or "")
    flash(_("Thank you. The moderators will look at it."), "success")
    return redirect(url_for("stories.show", story_id=story_id))


@bp.route("/comments/<int:comment_id>/report", methods=["POST"])
def report_comment(comment_id: int):
    """Report a comment to the moderators."""
    db = get_db()
    row = narratives.report(db, actor(), object_type="story_comment", object_id=comment_id,
                            reason=ReportForm().reason.data or "")
    story_id = db.get(narratives.StoryComment, row.object_id).story_id
    flash(_("Thank you. The moderators will look at it."), "success")
    return redirect(url_for("stories.show", story_id=story_id))


@bp.route("/<int:story_id>/feature", methods=["POST"])
def feature(story_id: int):
    """Leaders feature a story on the home page (or stop featuring it)."""
    narratives.feature(get_db(), actor(), story_id, request.form.get("featured") == "1")
    return redirect(url_for("stories.show", story_id=story_id))


@bp.route("/feed.atom")
def feed():
    """An Atom feed of public stories."""
    db = get_db()
    stories = narratives.public_feed(db)
    atom = "http://www.w3.org/2005/Atom"
    root = ET.Element("feed", xmlns=atom)
    ET.SubElement(root, "title").text = _("Stories from the network")
    ET.SubElement(root, "id").text = url_for("stories.feed", _external=True)
    ET.SubElement(root, "link", href=url_for("stories.feed", _external=True), rel="self")
    ET.SubElement(root, "updated").text = (stories[0].published_at if stories else utcnow()).isoformat()
    for story in stories:
        entry = ET.SubElement(root, "entry")
        ET.SubElement(entry, "title").text = story.title
        ET.SubElement(entry, "id").text = url_for("stories.show", story_id=story.id, _external=True)
        ET.SubElement(entry, "link", href=url_for("stories.show", story_id=story.id, _external=True))
        ET.SubElement(entry, "updated").text = story.published_at.isoformat()
        author = ET.SubElement(entry, "author")
        ET.SubElement(author, "name").text = shown_byline(story)
        ET.SubElement(entry, "content", type="html").text = render(story.body)
    body = ET.tostring(root, encoding="unicode", xml_declaration=True)
    return Response(body, mimetype="application/atom+xml")


# ---------------------------------------------------------------------------------------------
# Moderation

@moderation.route("/")
def queue():
    """Stories, edits and comments waiting, and open reports."""
    from app.safety.forms import CONCERN_LABELS
    from content import safeguarding

    db = get_db()
    work = narratives.queue(db, actor())
    urgent = safeguarding.queue(db, actor())["open"] if access.can(actor(), "safety.handle") else []
    return render_template("stories/queue.html", queue=work, urgent=urgent, concern_labels=CONCERN_LABELS,
                           byline=shown_byline,
                           action_form=ActionForm())


@moderation.route("/stories/<int:story_id>", methods=["GET", "POST"])
def review_story(story_id: int):
    """A moderator reads a story (its author shown, each look at an anonymous author audited) and decides."""
    db = get_db()
    story = narratives.for_moderation(db, actor(), story_id)
    form = ModerationForm()
    decided = form_post(form, lambda: narratives.moderate(db, actor(), story.id, decision=form.decision.data,
                                                          note=form.note.data or ""))
    if decided.ok:
        flash(_("Decision recorded; the author sees it."), "success")
        return redirect(url_for("moderation.queue"))
    text = story.pending_body if story.pending_body is not None else story.body
    return render_template("stories/moderate.html", story=story, form=form, html=render(text),
                           byline=shown_byline(story)), decided.status


@moderation.route("/comments/<int:comment_id>", methods=["POST"])
def review_comment(comment_id: int):
    """Approve or decline a comment on a public story."""
    narratives.moderate_comment(get_db(), actor(), comment_id, approve=request.form.get("approve") == "1")
    return redirect(url_for("moderation.queue"))


@moderation.route("/reports/<int:report_id>/close", methods=["POST"])
def close_report(report_id: int):
    """Close a report, saying what was done."""
    narratives.close_report(get_db(), actor(), report_id, outcome=request.form.get("outcome", ""))
    return redirect(url_for("moderation.queue"))
