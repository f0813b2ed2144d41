"""The web layer: HTTP and websockets. `create_app` builds an app; nothing here runs on import."""
from __future__ import annotations

from flask import Flask, request, session
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import AnonymousUserMixin
from werkzeug.exceptions import NotFound
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from app import errors, request_log, security
from app.extensions import Database, babel, csrf, get_db, limiter, login_manager, socketio
from network import people


class _AnonymousVisitor(AnonymousUserMixin):
    """Flask-Login's anonymous user; the web layer hands the domain network.access.ANONYMOUS instead."""


class RowIdConverter(IntegerConverter):
    """`<int:...>` in every route: a number that fits the database's integer ids. A larger one is a 404
    (no such row) instead of overflowing the query (PostgreSQL and SQLite refuse it: a 500). Raised here
    rather than through werkzeug's `max=`, which turns the miss into a 405 on routes with several methods."""

    LARGEST = 2**31 - 1

    def to_python(self, value: str):
        number = super().to_python(value)
        if number > self.LARGEST:
            raise NotFound()
        return number


def create_app(config=None) -> Flask:
    import config as config_module

    app = Flask(__name__, instance_path=str(config_module.INSTANCE))
    app.config.from_object(config or config_module.from_environment())
    request_log.init_app(app)  # first, so every request has its id and start time before any gate

    Database(app.config["DATABASE_URL"], pool_size=app.config["DATABASE_POOL_SIZE"],
             max_overflow=app.config["DATABASE_MAX_OVERFLOW"]).init_app(app)
    _init_login(app)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=_locale)
    # cors_allowed_origins: None checks the Origin against the page's own host; [] would switch the check off
    socketio.init_app(app, async_mode=app.config["SOCKETIO_ASYNC_MODE"],
                      message_queue=app.config.get("REDIS_URL"), channel=app.config["SOCKETIO_CHANNEL"],
                      cors_allowed_origins=app.config["SOCKETIO_ALLOWED_ORIGINS"] or None)
    security.init_app(app)
    errors.init_app(app)
    app.url_map.converters["int"] = RowIdConverter  # before any route is added
    _register_blueprints(app)
    _register_template_helpers(app)

    from app import cli, live
    from app.outcomes import warm
    cli.init_app(app)
    live.init_app(app)
    warm.init_app(app)
    hops = app.config["PROXY_FIX_HOPS"]
    if hops:  # outermost, so the Socket.IO middleware sees the client's address and scheme too
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    return app


def _locale() -> str:
    """The person's choice (their account, or this visit), else what their browser asks for."""
    from flask_login import current_user

    chosen = session.get("locale")
    if chosen in ("en", "es"):
        return chosen
    if current_user.is_authenticated and current_user.locale in ("en", "es"):
        return current_user.locale
    return request.accept_languages.best_match(["en", "es"]) or "en"


def _init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.localize_callback = str  # the lazy message becomes text in the viewer's language
    login_manager.login_message_category = "info"
    login_manager.anonymous_user = _AnonymousVisitor
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def _load(token: str):
        return security.load_signed_in(token)

    people.User.get_id = people.session_token  # the cookie carries id and session version


def _register_blueprints(app: Flask) -> None:
    from app.account.views import bp as account_bp
    from app.admin.views import bp as admin_bp
    from app.agreement.views import bp as agreement_bp
    from app.api.views import bp as api_bp
    from app.auth.views import bp as auth_bp
    from app.contact.views import bp as contact_bp
    from app.council.views import bp as council_bp
    from app.front.views import bp as front_bp
    from app.health.views import bp as health_bp
    from app.home.views import bp as home_bp
    from app.library.stewardship import bp as stewardship_bp
    from app.library.views import bp as library_bp
    from app.library.views import files as files_bp
    from app.me.views import bp as me_bp
    from app.outcomes.views import bp as outcomes_bp
    from app.pdsa.views import bp as pdsa_bp
    from app.public.views import bp as public_bp
    from app.safety.views import bp as safety_bp
    from app.sessions.views import bp as sessions_bp
    from app.sites.views import bp as sites_bp
    from app.stories.views import bp as stories_bp
    from app.stories.views import moderation as moderation_bp
    from app.visits.views import bp as visits_bp

    for blueprint in (home_bp, auth_bp, sites_bp, admin_bp, outcomes_bp, public_bp, library_bp, files_bp, stories_bp,
                      moderation_bp, sessions_bp, visits_bp, front_bp, api_bp, stewardship_bp, agreement_bp, pdsa_bp,
                      health_bp, council_bp, account_bp, me_bp, safety_bp, contact_bp):
        app.register_blueprint(blueprint)


def _register_template_helpers(app: Flask) -> None:
    from app import presenters
    from app.web import localize, localize_place

    app.jinja_env.globals.update(role_label=presenters.role_label, role_labels=presenters.ROLE_LABELS,
                                 nav_items=presenters.nav_items)
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale() or "en")
    app.jinja_env.globals["zip"] = zip
    app.jinja_env.globals["unread_notifications"] = presenters.unread_notifications
    app.jinja_env.filters["month"] = presenters.month_label
    app.jinja_env.filters["when"] = presenters.when
    app.jinja_env.filters["localize"] = localize
    app.jinja_env.filters["localize_place"] = localize_place
    from app.js_strings import ui_strings_block

    app.jinja_env.globals["ui_strings_block"] = ui_strings_block
    from app.domain_labels import status_label

    app.jinja_env.globals["status_label"] = status_label
    app.jinja_env.filters["day"] = presenters.day
    app.jinja_env.filters["day_time"] = presenters.day_time
    app.jinja_env.filters["local_when"] = presenters.local_when
