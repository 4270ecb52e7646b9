"""express-session's view counter and login flow on FastAPI: ``python examples/fastapi_app.py``.

``SessionDep`` hands a route the session, typed as an ``AsyncSession`` (a dict
with awaitable ``save()``, ``reload()``, ``regenerate()`` and ``destroy()``).
The middleware is installed as in Starlette.
"""

from __future__ import annotations

import html
import os
import secrets
from urllib.parse import parse_qs

from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import HTMLResponse, RedirectResponse

from fastsession import SessionMiddleware
from fastsession.fastapi import SessionDep

SECRET = os.environ.get("SESSION_SECRET") or secrets.token_urlsafe(32)

LOGIN_FORM = """<form action="/login" method="post">
<label>Username: <input name="user" required></label> <button>Log in</button>
</form>"""

app = FastAPI()
app.add_middleware(SessionMiddleware, secret=SECRET, cookie={"max_age": 3600})


@app.get("/", response_class=HTMLResponse)
async def home(session: SessionDep) -> str:
    session["views"] = int(session.get("views", 0)) + 1
    user = session.get("user")
    if user:
        return (
            f"<p>hello, {html.escape(str(user))}! views: {session['views']}</p>"
            '<p><a href="/logout">Logout</a></p>'
        )
    return f"<p>views: {session['views']}</p>" + LOGIN_FORM


@app.post("/login")
async def login(request: Request, session: SessionDep) -> RedirectResponse:
    # FastAPI's Form() needs python-multipart; a urlencoded body needs nothing.
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    await session.regenerate()  # a new id at login: no session fixation
    session["user"] = (form.get("user") or [""])[0].strip()
    return RedirectResponse("/", status_code=302)  # saved before the headers leave


@app.get("/logout")
async def logout(session: SessionDep) -> RedirectResponse:
    await session.destroy()  # the session leaves the store
    return RedirectResponse("/", status_code=302)


@app.websocket("/ws")
async def whoami(websocket: WebSocket, session: SessionDep) -> None:
    await websocket.accept()
    await websocket.send_json({"user": session.get("user"), "views": session.get("views")})
    await websocket.close()


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=8000)
