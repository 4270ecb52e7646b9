"""The Django example: ``python manage.py runserver`` (from this folder), or serve
``project.wsgi:application`` (gunicorn, waitress) or ``project.asgi:application``
(uvicorn)."""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
