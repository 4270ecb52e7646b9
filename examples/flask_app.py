"""Sessions on Flask with fastsession: ``python examples/flask_app.py``.

``flask.session`` is a fastsession session: its data in the store (here the
default MemoryStore; ``REDIS_URL=redis://...`` for Redis), only the signed id in
the browser. A view counter, a login that regenerates the session id (against
session fixation) and redirects, a logout that destroys the session in the
store, and flash messages. Under a real server::

    SESSION_SECRET=... waitress-serve --listen=127.0.0.1:8000 --call flask_app:create_app
"""

from __future__ import annotations

import html
import os
import secrets
from typing import Any

from flask import Flask, flash, get_flashed_messages, redirect, request, session, url_for
from werkzeug.wrappers import Response

from fastsession.flask import FastSession, get_session

PAGE = """<!doctype html><title>fastsession on Flask</title>
{messages}<p>views: {views}</p>{body}"""
LOGIN_FORM = """<form action="/login" method="post">
<label>Username: <input name="user" required></label> <button>Log in</button></form>"""
LOGOUT_FORM = """<p>hello, {user}!</p>
<form action="/logout" method="post"><button>Log out</button></form>"""


def default_store() -> Any:
    url = os.environ.get("REDIS_URL")
    if not url:
        return None  # the default MemoryStore
    import redis

    from fastsession.stores.redis import RedisStore

    return RedisStore(redis.Redis.from_url(url))


def create_app(store: Any = None, *, secret: str | None = None) -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = (
        secret or os.environ.get("SESSION_SECRET") or secrets.token_urlsafe(32)
    )
    FastSession(app, store=store if store is not None else default_store())

    @app.get("/")
    def home() -> str:
        session["views"] = session.get("views", 0) + 1
        # Flashed in the previous request, read (and removed) in this one.
        messages = "".join(
            f'<p class="{category}">{html.escape(str(message))}</p>'
            for category in ("error", "message")
            for message in get_flashed_messages(category_filter=[category])
        )
        user = session.get("user")
        body = LOGOUT_FORM.format(user=html.escape(user)) if user else LOGIN_FORM
        return PAGE.format(messages=messages, views=session["views"], body=body)

    @app.post("/login")
    def login() -> Response:
        user = request.form.get("user", "").strip()
        if not user:
            flash("a user name is needed", "error")
            return redirect(url_for("home"))
        # A new id for the logged-in session: the old one is destroyed in the store.
        get_session().regenerate()
        session["user"] = user
        flash(f"logged in as {user}")
        # The session is saved before the redirect leaves, so the next page finds the user.
        return redirect(url_for("home"))

    @app.post("/logout")
    def logout() -> Response:
        # The data leaves the store and the browser's cookie is deleted.
        get_session().destroy()
        return redirect(url_for("home"))

    return app


app = create_app()

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
