"""Sessions on Quart with fastsession: ``python examples/quart_app.py``.

``quart.session`` is a fastsession `AsyncSession`: ``await`` its express
methods. The data is in the store (here the default MemoryStore;
``REDIS_URL=redis://...`` for Redis through redis.asyncio), only the signed id
in the browser. A view counter, a login that regenerates the session id
(against session fixation) and redirects, a logout that destroys the session in
the store, and flash messages. Under a real server::

    SESSION_SECRET=... uvicorn --host 127.0.0.1 --factory quart_app:create_app
"""

from __future__ import annotations

import html
import os
import secrets
from typing import Any

from quart import Quart, flash, get_flashed_messages, redirect, request, session, url_for
from werkzeug.wrappers import Response

from fastsession.quart import FastSession, get_session

PAGE = """<!doctype html><title>fastsession on Quart</title>
{messages}<p>views: {views}</p>{body}"""
LOGIN_FORM = """<form action="/login" method="post">
<label>Username: <input name="user" required></label> <button>Log in</button></form>"""
LOGOUT_FORM = """<p>hello, {user}!</p>
<form action="/logout" method="post"><button>Log out</button></form>"""


def default_store() -> Any:
    url = os.environ.get("REDIS_URL")
    if not url:
        return None  # the default MemoryStore
    import redis.asyncio

    from fastsession.stores.redis import AsyncRedisStore

    return AsyncRedisStore(redis.asyncio.Redis.from_url(url))


def create_app(store: Any = None, *, secret: str | None = None) -> Quart:
    app = Quart(__name__)
    app.config["SECRET_KEY"] = (
        secret or os.environ.get("SESSION_SECRET") or secrets.token_urlsafe(32)
    )
    FastSession(app, store=store if store is not None else default_store())

    @app.get("/")
    async def home() -> str:
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
    async def login() -> Response:
        form = await request.form
        user = form.get("user", "").strip()
        if not user:
            await flash("a user name is needed", "error")
            return redirect(url_for("home"))
        # A new id for the logged-in session: the old one is destroyed in the store.
        await get_session().regenerate()
        session["user"] = user
        await flash(f"logged in as {user}")
        # The session is saved before the redirect leaves, so the next page finds the user.
        return redirect(url_for("home"))

    @app.post("/logout")
    async def logout() -> Response:
        # The data leaves the store and the browser's cookie is deleted.
        await get_session().destroy()
        return redirect(url_for("home"))

    return app


app = create_app()

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
