"""Django for the tests: the project of tests/django_project on a fresh SQLite file,
two users, and the project served over 127.0.0.1 under Django's WSGI handler
(waitress) or its ASGI handler (uvicorn), with the test's FASTSESSION."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_DB_DIR = tempfile.mkdtemp(prefix="fastsession-django-")
# Django keeps one database per process: it goes when the process ends.
atexit.register(shutil.rmtree, _DB_DIR, ignore_errors=True)
os.environ["FASTSESSION_DJANGO_DB"] = os.path.join(_DB_DIR, "db.sqlite3")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_project.settings")

import django  # noqa: E402

django.setup()

from app_servers import UvicornThread, WaitressThread  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.handlers.asgi import ASGIHandler  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import override_settings  # noqa: E402

PASSWORD = "correct horse battery staple"
_migrated = False


def migrate() -> None:
    """The project's tables and its users (ann, bob), once per process."""
    global _migrated
    if _migrated:
        return
    call_command("migrate", verbosity=0)
    users = get_user_model()
    for name in ("ann", "bob"):
        users.objects.create_user(name, password=PASSWORD)
    _migrated = True


@contextmanager
def served(kind: str, fastsession: dict[str, Any], **overrides: Any) -> Iterator[str]:
    """The project under a real server (``kind``: "wsgi" or "asgi"); its base URL."""
    migrate()
    with override_settings(FASTSESSION=fastsession, **overrides):
        server: Any
        if kind == "wsgi":
            server = WaitressThread(WSGIHandler()).start()
        else:
            server = UvicornThread(ASGIHandler()).start()
        try:
            yield str(server.url)
        finally:
            server.stop()


__all__ = ["PASSWORD", "migrate", "served"]
