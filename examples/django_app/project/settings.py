"""Django with fastsession: the session middleware replaced, nothing else changed.

Sessions are kept in the process (the default MemoryStore), or in Redis when
``REDIS_URL`` is set, where an Express app with connect-redis, the same secret
and cookie name shares them.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(32)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "project.urls"
USE_TZ = True
DATABASES: dict[str, Any] = {}  # sessions need no database

INSTALLED_APPS = ["django.contrib.messages"]
MIDDLEWARE = [
    "fastsession.django.SessionMiddleware",  # in place of django.contrib.sessions'
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
CSRF_USE_SESSIONS = True
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates"}]

SESSION_COOKIE_AGE = 3600  # fastsession's cookie max_age, unless FASTSESSION says otherwise
FASTSESSION: dict[str, Any] = {}
if os.environ.get("REDIS_URL"):
    import redis

    from fastsession.stores.redis import RedisStore

    FASTSESSION["store"] = RedisStore(redis.Redis.from_url(os.environ["REDIS_URL"]))
