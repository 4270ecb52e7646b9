"""express-session's view counter on Starlette: ``python examples/starlette_counter.py``.

``request.session`` is fastsession's AsyncSession (``scope["session"]``), a dict;
``get_session(request)`` returns it typed as one.
"""

from __future__ import annotations

import os
import secrets

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from fastsession import SessionMiddleware
from fastsession.starlette import get_session

# A fixed secret keeps sessions valid across restarts; the random fallback is for trying it out.
SECRET = os.environ.get("SESSION_SECRET") or secrets.token_urlsafe(32)


async def home(request: Request) -> HTMLResponse:
    session = get_session(request)  # request.session, typed as the AsyncSession it is
    session["views"] = session.get("views", 0) + 1
    expires = session.cookie.expires
    return HTMLResponse(
        f"<p>views: {session['views']}</p>"
        f"<p>expires in: {session.cookie.max_age:.0f} s ({expires:%Y-%m-%d %H:%M:%S} UTC)</p>"
    )


app = Starlette(routes=[Route("/", home)])
app.add_middleware(SessionMiddleware, secret=SECRET, cookie={"max_age": 3600})

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=8000)
