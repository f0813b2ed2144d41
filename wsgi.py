"""The WSGI entry point: `gunicorn -k gevent -w 1 wsgi:app`. The only module that builds the app on import."""
from app import create_app, heap

app = create_app()
heap.settle()  # fewer, shorter garbage-collector pauses while serving (app/heap.py)
