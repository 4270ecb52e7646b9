"""The Django project of tests/test_django.py: auth, messages, CSRF in the session,
fastsession's SessionMiddleware in place of Django's. The SQLite file is the test's
(``FASTSESSION_DJANGO_DB``); ``FASTSESSION`` is set per test with override_settings."""

from __future__ import annotations

import os
import tempfile

SECRET_KEY = "the Django test project's secret key, long enough to sign"
SECRET_KEY_FALLBACKS = ["the key this project signed with before the rotation"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "testserver", "localhost"]
ROOT_URLCONF = "django_project.urls"
USE_TZ = True

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.messages",
]
MIDDLEWARE = [
    "fastsession.django.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
CSRF_USE_SESSIONS = True
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "OPTIONS": {"context_processors": ["django.template.context_processors.csrf"]},
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("FASTSESSION_DJANGO_DB")
        or os.path.join(tempfile.gettempdir(), f"fastsession-django-{os.getpid()}.sqlite3"),
    }
}
# A fast hasher: the tests log in often.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
FASTSESSION: dict[str, object] = {}
