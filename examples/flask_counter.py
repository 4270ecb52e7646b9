"""express-session's view counter on Flask: ``python examples/flask_counter.py``.

fastsession wraps Flask's WSGI app; the session is ``request.environ["fastsession.session"]``
(``flask.session`` stays Flask's own signed-cookie session).
"""

from __future__ import annotations

import os
import secrets

from flask import Flask, request

from fastsession import Session, WSGISessionMiddleware

SECRET = os.environ.get("SESSION_SECRET") or secrets.token_urlsafe(32)

app = Flask(__name__)


@app.get("/")
def home() -> str:
    session: Session = request.environ["fastsession.session"]
    session["views"] = session.get("views", 0) + 1
    return f"<p>views: {session['views']}</p><p>expires in: {session.cookie.max_age:.0f} s</p>"


app.wsgi_app = WSGISessionMiddleware(  # type: ignore[method-assign]
    app.wsgi_app, secret=SECRET, cookie={"max_age": 3600}
)

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
