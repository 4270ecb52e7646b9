"""express-session's view counter and login flow on Litestar: ``python examples/litestar_app.py``.

Litestar builds its middleware for each route; those built from one
configuration share the default MemoryStore, so a login made on ``/login`` is
found on ``/``. ``request.clear_session()`` (Litestar's logout) removes the
session from the store; ``request.set_session(...)`` replaces its data.
``get_session(request)`` gives the session typed as an ``AsyncSession``, for
``regenerate()`` and the other store methods.
"""

from __future__ import annotations

import html
import os
import secrets
from typing import Annotated, Any

from litestar import Litestar, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.middleware import DefineMiddleware
from litestar.params import Body
from litestar.response import Redirect

from fastsession import SessionMiddleware
from fastsession.starlette import get_session

SECRET = os.environ.get("SESSION_SECRET") or secrets.token_urlsafe(32)

LOGIN_FORM = """<form action="/login" method="post">
<label>Username: <input name="user" required></label> <button>Log in</button>
</form>"""

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


@get("/", media_type="text/html")
async def home(request: Request[Any, Any, Any]) -> str:
    session = get_session(request)
    session["views"] = int(session.get("views", 0)) + 1
    user = session.get("user")
    if user:
        return (
            f"<p>hello, {html.escape(str(user))}! views: {session['views']}</p>"
            '<p><a href="/logout">Logout</a></p>'
        )
    return f"<p>views: {session['views']}</p>" + LOGIN_FORM


@post("/login")
async def login(request: Request[Any, Any, Any], data: Form) -> Redirect:
    user = data.get("user", "").strip()
    session = get_session(request)
    await session.regenerate()  # a new id at login: no session fixation
    session["user"] = user
    return Redirect("/", status_code=302)  # saved before the headers leave


@get("/logout")
async def logout(request: Request[Any, Any, Any]) -> Redirect:
    request.clear_session()  # the session leaves the store
    return Redirect("/", status_code=302)


@post("/preferences")
async def preferences(request: Request[Any, Any, Any], data: Form) -> dict[str, str]:
    request.set_session(dict(data))  # replaces the session's data
    return dict(data)


app = Litestar(
    route_handlers=[home, login, logout, preferences],
    middleware=[DefineMiddleware(SessionMiddleware, secret=SECRET, cookie={"max_age": 3600})],
)

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=8000)
