"""The WSGI entry point: `gunicorn -k gevent -w 1 wsgi:app`. The only module that builds the app on import."""
from app import create_app

app = create_app()
