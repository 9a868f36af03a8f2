"""WSGI entry point for gunicorn: ``gunicorn casefeedback.wsgi:app``."""

from casefeedback import create_app

app = create_app()
