"""A working group's decision log (the Patient Advisory Council's workspace): proposals, discussion,
votes or consensus, action items; and each person's open action items. Thin: parse, call a service,
render. Every refusal comes from network.council / network.access as a clear message."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.extensions import get_db
from app.forms import ActionForm
from app.web import actor
from network import access, council, groups
from network.errors import Invalid

bp = Blueprint("council", __name__)
#: the default vote options (network.council.DEFAULT_OPTIONS), shown in the reader's language
OPTION_LABELS = {"for": _l("for"), "against": _l("against"), "abstain": _l("abstain")}


def option_label(option: str) -> str:
    return str(OPTION_LABELS.get(option, option))


def _date(field: str) -> date | None:
    raw = request.form.get(field, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid({field: [_("Use a date like 2026-12-31.")]})


def _load(slug: str, decision_id: int):
    db = get_db()
    group = groups.by_slug(db, actor(), slug)
    return db, group, council.get(db, actor(), group, decision_id)


def _back(group, decision):
    return redirect(url_for("council.show", slug=group.slug, decision_id=decision.id))


@bp.route("/groups/<slug>/decisions")
def log(slug: str):
    """The group's decision log (members see every entry; other members of the network, the published ones)."""
    db = get_db()
    group = groups.by_slug(db, actor(), slug)
    return render_template("council/log.html", group=group, decisions=council.decisions(db, actor(), group),
                           may_propose=access.can(actor(), "council.take_part", group),
                           reads_all=access.can(actor(), "council.read_all", group))


@bp.route("/groups/<slug>/decisions", methods=["POST"])
def propose(slug: str):
    """A member puts a proposal to the group, to be decided by consensus or by vote."""
    db = get_db()
    group = groups.by_slug(db, actor(), slug)
    options = [o for o in request.form.get("options", "").split(",") if o.strip()]
    decision = council.propose(db, actor(), group, title=request.form.get("title", ""),
                               proposal=request.form.get("proposal", ""), method=request.form.get("method", ""),
                               anonymous=request.form.get("anonymous") == "1", options=options,
                               role=request.form.get("role") or None)
    flash(_("Proposal added to the decision log."), "success")
    return _back(group, decision)


@bp.route("/groups/<slug>/decisions/<int:decision_id>")
def show(slug: str, decision_id: int):
    """One decision: the proposal, the discussion, the vote or the consensus, who took part, action items."""
    db, group, decision = _load(slug, decision_id)
    viewer = actor()
    closed_vote = decision.method == "vote" and not decision.is_open
    return render_template(
        "council/show.html", group=group, decision=decision, comments=council.comments(db, decision),
        participation=council.participation_by_role(db, decision),
        participants=council.participants(db, decision) if access.can(viewer, "council.read_all", group) else [],
        results=council.results(db, viewer, decision) if closed_vote else None,
        has_voted=council.has_voted(db, viewer, decision), actions=council.actions(db, decision),
        may_take_part=access.can(viewer, "council.take_part", group),
        may_vote=access.can(viewer, "council.vote", group),
        may_manage=access.can(viewer, "council.manage", group), action_form=ActionForm(), option_label=option_label)


@bp.route("/groups/<slug>/decisions/<int:decision_id>/comments", methods=["POST"])
def comment(slug: str, decision_id: int):
    """A member adds to the discussion while the decision is open."""
    db, group, decision = _load(slug, decision_id)
    council.comment(db, actor(), decision, request.form.get("body", ""), role=request.form.get("role") or None)
    return _back(group, decision)


@bp.route("/groups/<slug>/decisions/<int:decision_id>/vote", methods=["POST"])
def vote(slug: str, decision_id: int):
    """A member votes, once, while the vote is open."""
    db, group, decision = _load(slug, decision_id)
    council.vote(db, actor(), decision, request.form.get("choice", ""), role=request.form.get("role") or None)
    flash(_("Your vote is counted. The results are shown when the vote closes."), "success")
    return _back(group, decision)


@bp.route("/groups/<slug>/decisions/<int:decision_id>/close", methods=["POST"])
def close(slug: str, decision_id: int):
    """The chair (or a network leader) closes a vote; its results are then shown."""
    db, group, decision = _load(slug, decision_id)
    council.close_vote(db, actor(), decision, outcome=request.form.get("outcome", ""))
    flash(_("The vote is closed."), "success")
    return _back(group, decision)


@bp.route("/groups/<slug>/decisions/<int:decision_id>/record", methods=["POST"])
def record(slug: str, decision_id: int):
    """The chair records a decision reached by consensus: what, when and who took part."""
    db, group, decision = _load(slug, decision_id)
    ids = [int(i) for i in request.form.getlist("participants") if i.isdigit()]
    council.record_consensus(db, actor(), decision, outcome=request.form.get("outcome", ""), participant_ids=ids,
                             decided_on=_date("decided_on"))
    flash(_("Decision recorded."), "success")
    return _back(group, decision)


@bp.route("/groups/<slug>/decisions/<int:decision_id>/publish", methods=["POST"])
def publish(slug: str, decision_id: int):
    """Show a decision to the whole network (or stop showing it)."""
    db, group, decision = _load(slug, decision_id)
    council.set_published(db, actor(), decision, request.form.get("published", "1") == "1")
    return _back(group, decision)


@bp.route("/groups/<slug>/decisions/<int:decision_id>/actions", methods=["POST"])
def add_action(slug: str, decision_id: int):
    """An action item with an owner from the group and a due date; it shows in the owner's "what needs me"."""
    db, group, decision = _load(slug, decision_id)
    council.add_action(db, actor(), decision, description=request.form.get("description", ""),
                       owner_id=request.form.get("owner", type=int), due_on=_date("due_on"))
    flash(_("Action item added."), "success")
    return _back(group, decision)


@bp.route("/actions/")
def my_actions():
    """My open action items, soonest due first."""
    return render_template("council/actions.html", items=council.my_open_actions(get_db(), actor()),
                           action_form=ActionForm())


@bp.route("/actions/<int:item_id>/done", methods=["POST"])
def complete_action(item_id: int):
    """Mark an action item done (its owner, the group's chair or a network leader)."""
    council.complete_action(get_db(), actor(), item_id)
    flash(_("Marked as done."), "success")
    return redirect(request.form.get("next") if (request.form.get("next") or "").startswith("/actions")
                    else url_for("council.my_actions"))


@bp.route("/decisions/")
def network_decisions():
    """Decisions the network's groups chose to show everyone."""
    return render_template("council/published.html", decisions=council.published(get_db(), actor()))
