"""express-session's login flow on Starlette: ``python examples/starlette_login.py``.

In ASGI the session is an AsyncSession, so ``regenerate()`` and ``save()`` are
coroutines. As in express-session's README: regenerate the id when the user logs
in (against session fixation), then save before redirecting, so the next request
finds the user.
"""

from __future__ import annotations

import html
import os
import secrets
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from fastsession import SessionMiddleware
from fastsession.starlette import get_session

SECRET = os.environ.get("SESSION_SECRET") or secrets.token_urlsafe(32)

LOGIN_FORM = """<form action="/login" method="post">
<label>Username: <input name="user" required></label> <button>Log in</button>
</form>"""


async def home(request: Request) -> HTMLResponse:
    user = request.session.get("user")
    if user:
        return HTMLResponse(f'<p>hello, {html.escape(user)}! <a href="/logout">Logout</a></p>')
    return HTMLResponse(LOGIN_FORM)


async def login(request: Request) -> Response:
    # Starlette's request.form() needs python-multipart; a urlencoded body needs nothing.
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    user = (form.get("user") or [""])[0].strip()
    if not user:
        return HTMLResponse("<p>A username, please.</p>" + LOGIN_FORM, status_code=400)
    session = get_session(request)  # request.session, typed as the AsyncSession it is
    await session.regenerate()
    session["user"] = user
    await session.save()
    return RedirectResponse("/", status_code=302)


async def logout(request: Request) -> Response:
    session = get_session(request)
    session.pop("user", None)
    await session.save()
    await session.regenerate()
    return RedirectResponse("/", status_code=302)


app = Starlette(
    routes=[
        Route("/", home),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout),
    ]
)
app.add_middleware(SessionMiddleware, secret=SECRET)

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=8000)
