"""Learning sessions: plan, register, take part live, and keep the transcript."""
from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import get_db
from app.forms import ActionForm
from app.presenters import acting_role_choices
from app.sessions.forms import TIMEZONES, FacilitatorForm, ModuleForm, RegisterForm, SessionForm
from app.web import actor, form_post
from content import library
from content.markdown import render, render_inline
from network import access, calendar, people
from network import sessions as learning
from network.errors import Invalid, NotFound

bp = Blueprint("sessions", __name__, url_prefix="/sessions")


def _viewer_zone(default: str) -> str:
    """Times show in the viewer's chosen zone (remembered in their session), else the organisers'."""
    chosen = request.args.get("tz")
    if chosen in TIMEZONES:
        session["tz"] = chosen
    return session.get("tz") or default


def _fields(form: SessionForm) -> learning.SessionFields:
    return learning.SessionFields(title=form.title.data or "", description=form.description.data or "",
                                  starts_local=form.starts_local.data, minutes=form.minutes.data or 0,
                                  timezone=form.timezone.data, capacity=form.capacity.data,
                                  video_url=(form.video_url.data or "").strip())


@bp.route("/")
def index():
    """Upcoming and past learning sessions."""
    db = get_db()
    upcoming, past = learning.upcoming_and_past(db, actor())
    zone_name = _viewer_zone("Europe/London")
    return render_template("sessions/index.html", upcoming=upcoming, past=past, zone=zone_name, timezones=TIMEZONES,
                           local=calendar.local_time, mine={s.id for s in learning.my_sessions(db, actor())},
                           may_create=access.can(actor(), "session.create"))


@bp.route("/new", methods=["GET", "POST"])
def new():
    """Network leaders plan a session (they become its first facilitator)."""
    db = get_db()
    access.require(actor(), "session.create")
    form = SessionForm()
    created = form_post(form, lambda: learning.create_session(db, actor(), _fields(form)))
    if created.ok:
        flash(_("Session planned. Add its agenda next."), "success")
        return redirect(url_for("sessions.manage", slug=created.result.slug))
    return render_template("sessions/form.html", form=form, item=None), created.status


def _materials(db, module_ids_resources):
    ids = sorted({i for ids in module_ids_resources for i in ids})
    found = {r.id: r for r in db.scalars(select(library.Resource).where(library.Resource.id.in_(ids or [-1])))}
    return {i: found[i] for i in ids if i in found and found[i].is_readable}


@bp.route("/<slug>")
def show(slug: str):
    """A session: when (in your time zone), the agenda with its co-presenters, registration."""
    db = get_db()
    item = learning.by_slug(db, actor(), slug)
    registration = learning.registration_of(db, actor(), item)
    form = RegisterForm()
    form.role.choices = acting_role_choices()
    zone_name = _viewer_zone(item.timezone)
    return render_template(
        "sessions/show.html", item=item, registration=registration, form=form, zone=zone_name, timezones=TIMEZONES,
        local=calendar.local_time, registered=learning.registered_count(db, item), render=render,
        materials=_materials(db, [m.resource_ids for m in item.modules]), action_form=ActionForm(),
        may_manage=access.can(actor(), "session.manage", item),
        may_join=registration is not None and registration.status == "registered" and item.room_is_open()
        or access.can(actor(), "session.facilitate", item))


@bp.route("/<slug>/manage", methods=["GET", "POST"])
def manage(slug: str):
    """Facilitators edit the session, its agenda and its facilitators, and see who registered."""
    db = get_db()
    item = learning.by_slug(db, actor(), slug)
    access.require(actor(), "session.manage", item)
    form = SessionForm(obj=item)
    if request.method == "GET":
        form.starts_local.data = calendar.local_time(item.starts_at, item.timezone).replace(tzinfo=None)
        form.minutes.data = int((item.ends_at - item.starts_at).total_seconds() // 60)
    saved = form_post(form, lambda: learning.update_session(db, actor(), item.id, _fields(form)))
    if saved.ok:
        flash(_("Session saved."), "success")
        return redirect(url_for("sessions.manage", slug=slug))
    return _manage_page(item, form, ModuleForm(prefix="module"), saved.status)


def _manage_page(item, form, module_form, status=200):
    return render_template("sessions/manage.html", item=item, form=form, module_form=module_form,
                           facilitator_form=FacilitatorForm(),
                           registrations=learning.registrations(get_db(), actor(), item)), status


def _presenters(db, text: str) -> list[tuple]:
    presenters, errors = [], []
    for part in [p.strip() for p in (text or "").split(",") if p.strip()]:
        email, _sep, role = part.partition(":")
        user = people.user_by_email(db, email)
        if user is None:
            errors.append(_("No member has the address %(email)s.", email=email))
        else:
            presenters.append((user, role.strip() or None))
    if errors:
        raise Invalid({"presenters": errors})
    return presenters


def _resource_ids(db, text: str) -> list[int]:
    ids, errors = [], []
    for slug in [p.strip() for p in (text or "").split(",") if p.strip()]:
        found = db.scalar(select(library.Resource).where(library.Resource.slug == slug))
        if found is None or not found.is_readable:
            errors.append(_("No published resource is called %(slug)s.", slug=slug))
        else:
            ids.append(found.id)
    if errors:
        raise Invalid({"resources": errors})
    return ids


@bp.route("/<slug>/modules", methods=["POST"])
def add_module(slug: str):
    """Add an agenda module with its co-presenters and materials."""
    db = get_db()
    item = learning.by_slug(db, actor(), slug)
    access.require(actor(), "session.manage", item)
    form = ModuleForm(prefix="module")
    added = form_post(form, lambda: learning.add_module(
        db, actor(), item.id, title=form.title.data, description=form.description.data or "",
        minutes=form.minutes.data, presenters=_presenters(db, form.presenters.data),
        resource_ids=_resource_ids(db, form.resources.data)))
    if added.ok:
        flash(_("Module added."), "success")
        return redirect(url_for("sessions.manage", slug=slug))
    return _manage_page(item, SessionForm(obj=item), form, 422)


@bp.route("/<slug>/facilitators", methods=["POST"])
def add_facilitator(slug: str):
    """Make another member a facilitator of this session."""
    db = get_db()
    item = learning.by_slug(db, actor(), slug)
    user = people.user_by_email(db, FacilitatorForm().email.data or "")
    if user is None:
        access.require(actor(), "session.manage", item)
        raise Invalid({"email": [_("No member has that address.")]})
    learning.add_facilitator(db, actor(), item.id, user)
    flash(_("Facilitator added."), "success")
    return redirect(url_for("sessions.manage", slug=slug))


@bp.route("/<slug>/register", methods=["POST"])
def register(slug: str):
    """Register with one's role (or join the waitlist when it is full)."""
    db = get_db()
    item = learning.by_slug(db, actor(), slug)
    row = learning.register(db, actor(), item.id, role=request.form.get("role") or None)
    flash(_("You are registered.") if row.status == "registered" else _("The session is full: you are on the waitlist."),
          "success")
    return redirect(url_for("sessions.show", slug=slug))


@bp.route("/<slug>/cancel", methods=["POST"])
def cancel(slug: str):
    """Give up one's place (the first on the waitlist gets it)."""
    db = get_db()
    learning.cancel(db, actor(), learning.by_slug(db, actor(), slug).id)
    flash(_("Your registration is cancelled."), "success")
    return redirect(url_for("sessions.show", slug=slug))


def _ics(sessions_list, filename: str, name: str) -> Response:
    body = calendar.sessions_ics(sessions_list, link_for=lambda s: url_for("sessions.show", slug=s.slug, _external=True),
                                 name=name)
    return Response(body, mimetype="text/calendar", headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.route("/<slug>.ics")
def ics(slug: str):
    """The session as a calendar file."""
    item = learning.by_slug(get_db(), actor(), slug)
    return _ics([item], f"{item.slug}.ics", item.title)


@bp.route("/calendar")
def calendar_page():
    """The address of one's personal calendar feed (sessions one registered for)."""
    access.require(actor(), "session.browse")
    token = calendar.feed_token(current_app.config["SECRET_KEY"], actor())
    return render_template("sessions/calendar.html", feed=url_for("sessions.feed", token=token, _external=True))


@bp.route("/calendar/<token>.ics")
def feed(token: str):
    """A personal calendar feed for calendar apps (the address is the key; signing out everywhere ends it)."""
    db = get_db()
    user = calendar.user_for_feed(db, current_app.config["SECRET_KEY"], token)
    if user is None:
        raise NotFound(_("This calendar address is no longer valid."))
    return _ics(learning.my_sessions(db, user), "carecommons.ics", _("My learning sessions"))


# ---------------------------------------------------------------------------------------------
# The room and the record

@bp.route("/<slug>/room")
def room(slug: str):
    """The live room. Without JavaScript it shows the conversation so far, read-only."""
    db = get_db()
    item = learning.by_slug(db, actor(), slug)
    learning.check_room(db, actor(), item)
    record = learning.transcript(db, actor(), item)
    role = learning.participant_role(db, actor(), item)
    return render_template("sessions/room.html", item=item, record=record, role=role, render_line=render_inline,
                           facilitator=access.can(actor(), "session.facilitate", item),
                           breakouts=learning.breakouts(db, actor(), item), author_name=_author_name,
                           hands=learning.hands_up(db, item))


def _author_name(event) -> str:
    return event.author.shown_name if event.author else _("someone")


@bp.route("/<slug>/transcript")
def transcript(slug: str):
    """After the session: chat, questions with answers, poll results, attendance by role."""
    db = get_db()
    item = learning.by_slug(db, actor(), slug)
    return render_template("sessions/transcript.html", item=item, record=learning.transcript(db, actor(), item),
                           author_name=_author_name, may_manage=access.can(actor(), "session.manage", item),
                           action_form=ActionForm())


@bp.route("/<slug>/transcript.md")
def transcript_md(slug: str):
    """The transcript as Markdown."""
    db = get_db()
    item = learning.by_slug(db, actor(), slug)
    text = learning.transcript_markdown(learning.transcript(db, actor(), item), _author_name)
    return Response(text, mimetype="text/markdown",
                    headers={"Content-Disposition": f'attachment; filename="{item.slug}-transcript.md"'})


@bp.route("/<slug>/transcript.csv")
def transcript_csv(slug: str):
    """The transcript as CSV: one row per chat message and question."""
    db = get_db()
    item = learning.by_slug(db, actor(), slug)
    record = learning.transcript(db, actor(), item)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["time_utc", "kind", "author", "role", "text", "upvotes", "answered"])
    for event in record.chat:
        writer.writerow([event.created_at.isoformat(), "chat", _author_name(event), event.acting_role, event.body, "", ""])
    for q in record.questions:
        writer.writerow([q["event"].created_at.isoformat(), "question", "" if q["anonymous"] else _author_name(q["event"]),
                         "" if q["anonymous"] else q["event"].acting_role, q["event"].body, q["votes"], q["answered"]])
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{item.slug}-transcript.csv"'})


@bp.route("/<slug>/notes", methods=["POST"])
def to_library(slug: str):
    """One step: the transcript becomes a draft library resource ("session notes") to edit together."""
    db = get_db()
    item = learning.by_slug(db, actor(), slug)
    access.require(actor(), "session.manage", item)
    text = learning.transcript_markdown(learning.transcript(db, actor(), item), _author_name)
    resource = library.create(db, actor(), title=f"Session notes: {item.title}"[:200], body=text,
                              meta=library.Meta(type="other", audience=["parents", "patients", "clinicians"],
                                                language="en", tags=["learning session"]),
                              summary="Drafted from the session transcript")
    flash(_("A draft of the session notes is in the library."), "success")
    return redirect(url_for("library.show", slug=resource.slug))
