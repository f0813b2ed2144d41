"""The front page and the health check."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template

from app.extensions import get_db
from app.presenters import shown_byline
from app.web import actor
from network import access, people

bp = Blueprint("home", __name__)


@bp.route("/")
def index():
    """The network's aim for everyone; for members, who they are in it and where to go next."""
    db = get_db()
    network = people.get_network(db)
    viewer = actor()
    if not access.can(viewer, "network.view"):
        from content import narratives

        return render_template("home/landing.html", network=network, site_count=len(people.active_sites(db)),
                               stories=narratives.featured(db, viewer, limit=3), byline=shown_byline)
    from app.outcomes import render as charts
    from content import home, narratives

    return render_template("home/index.html", network=network, memberships=viewer.memberships,
                           patients=people.patients_of(db, viewer), page=home.front_page(db, viewer), charts=charts,
                           byline=shown_byline)


@bp.route("/healthz")
def healthz():
    """For the proxy: 200 when the database (and Redis, when configured) answer; 503 naming what does not."""
    from app import readiness

    healthy, report = readiness.check(current_app, get_db())
    return jsonify(report), 200 if healthy else 503
