"""A real server for browser tests: `python -m tests.live_server PORT DB_PATH` migrates, seeds, serves."""
from __future__ import annotations

import os
import sys


def main() -> None:
    port, db_path = int(sys.argv[1]), sys.argv[2]
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ.setdefault("SECRET_KEY", "browser-test-secret")
    from alembic import command

    from app import create_app
    from app.cli import alembic_config, seed_demo
    from app.extensions import socketio

    app = create_app()
    from network import clock

    clock.follow_file(os.environ.get("CARECOMMONS_TEST_CLOCK_FILE"))  # browser tests move time (test only)
    app.config["LOGIN_RATE_LIMIT"] = "1000 per minute"
    command.upgrade(alembic_config(app.config["DATABASE_URL"]), "head")
    with app.app_context():
        with app.extensions["carecommons.db"].session_factory() as db:
            seed_demo(db)
    print(f"live server on 127.0.0.1:{port}", flush=True)
    socketio.run(app, host="127.0.0.1", port=port, allow_unsafe_werkzeug=True, use_reloader=False,
                 log_output=False)


if __name__ == "__main__":
    main()
