"""The WSGI entry point: `gunicorn -k gevent -w 1 wsgi:app`. The only module that builds the app on import."""
from app import create_app, heap

app = create_app()
heap.freeze()  # what building the app made lives as long as the process: out of the collector's walks
