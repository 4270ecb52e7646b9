"""Fuzz targets for the two middlewares, in process, on both request-kernel twins.

``asgi`` and ``wsgi`` each send one hostile request (random header names and
bytes, NUL, CR/LF, huge and thousands of cookies, good, tampered and forged
signatures, odd X-Forwarded-Proto, odd paths) to ``SessionMiddleware`` /
``WSGISessionMiddleware`` around an app that records the session it saw and
then does one thing to it (nothing, writes odd data, regenerates, destroys,
unsets). The package runs twice, once per twin (tests/kernel_stacks.py), and:

* both copies answer alike, and never with an error for what a client sent;
* a session is loaded only from a cookie the server signed (the reference
  here reads the id with the pure parser and hashlib's HMAC); any other
  cookie gives a new, empty session;
* Set-Cookie is sent exactly when express-session sends one;
* data written comes back on the next request with the new cookie.

Each input starts from the same state: the store holds one signed session.
"""

from __future__ import annotations

import asyncio
import io
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .draw import Draw
from .kernels import ROTATED, SECRET, check, cookie_header, expected_sid, signed_cookie

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from kernel_stacks import Stack, stack  # noqa: E402

LEGIT = "legit-session-id"
SEEDED = {"user": "alice", "n": 1}
NOW = 1893456000.0
# Each config: the cookie option, the other options, whether the cookie is
# persistent, and its path.
CONFIGS: list[tuple[dict[str, Any], dict[str, bool], bool, str]] = [
    ({}, {}, False, "/"),
    ({"secure": True, "max_age": 3600}, {}, True, "/"),
    ({"path": "/app", "same_site": "strict", "max_age": 60}, {}, True, "/app"),
    ({"secure": True}, {"rolling": True, "save_uninitialized": True}, False, "/"),
    ({"max_age": 10}, {"rolling": True, "resave": True, "unset": "destroy"}, True, "/"),
]
ACTIONS = ["noop", "write", "regenerate", "destroy", "unset"]
_JS_SPACE = (
    "\t\n\v\f\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def odd_value(d: Draw, depth: int = 0) -> Any:
    kind = d.below(9 if depth < 2 else 6)
    if kind == 0:
        return d.text(30).encode("utf-8", "replace").decode("utf-8", "replace")
    if kind == 1:
        # Around the flat record reader's limits (18 digits) and int64's.
        return d.pick(
            [
                0,
                -1,
                2**53,
                -(2**63),
                2**63 - 1,
                10**18,
                10**18 - 1,
                -(10**18) + 1,
                123456789012345678,
                1234567890123456789,
            ]
        )
    if kind == 2:
        return d.pick([0.5, -0.0, 1e300, 5e-324, 1e21, 1.7976931348623157e308])
    if kind == 3:
        return d.pick([None, True, False])
    if kind == 4:
        return d.pick(
            [
                "",
                "\x00",
                "\r\n",
                "\u2028",
                "}",
                '"',
                "\\",
                "cookie",
                "é" * 1000,
                "\x7f",
                "\ud7ff\ue000",
                "\U0010ffff",
                '{"cookie":1}',
                "\\u00e9",
            ]
        )
    if kind == 5:
        return "x" * d.size()
    if kind == 6:
        return [odd_value(d, depth + 1) for _ in range(d.below(4))]
    return {d.pick(["", "a", "\x00", "é", "cookie"]): odd_value(d, depth + 1) for _ in range(3)}


@dataclass
class Outcome:
    status: int
    set_cookie: list[str]
    seen: Any  # (id, data) the app saw, or None without a session


class Twin:
    """The middlewares of one package copy, with a store holding the seeded session."""

    def __init__(self, on: Stack) -> None:
        self.on = on
        self.counter = 0
        self.action: tuple[str, Any] = ("noop", None)
        self.seen: Any = None
        self.apps: dict[tuple[str, int], Any] = {}
        for kind in ("asgi", "wsgi"):
            for index, (cookie, flags, _, _) in enumerate(CONFIGS):
                store = on.memory.MemoryStore()
                options = dict(
                    secret=[SECRET, ROTATED], store=store, genid=self.genid, proxy=True, **flags
                )
                if kind == "asgi":
                    app = on.fastsession.SessionMiddleware(self.asgi_app, cookie=cookie, **options)
                else:
                    app = on.fastsession.WSGISessionMiddleware(
                        self.wsgi_app, cookie=cookie, **options
                    )
                self.apps[kind, index] = app

    def genid(self, _: Any) -> str:
        self.counter += 1
        return LEGIT if self.counter == 1 else f"new-{self.counter}"

    # -- the app --------------------------------------------------------------------------

    def act(self, session: Any, put: Any) -> None:
        self.seen = None if session is None else (session.id, dict(session))
        what, value = self.action
        if session is None:
            return
        if what == "write":
            for key, item in value.items():
                session[key] = item
        elif what == "unset":
            put(None)

    async def asgi_app(self, scope: Any, receive: Any, send: Any) -> None:
        session = scope.get("session")
        self.act(session, lambda v: scope.__setitem__("session", v))
        if session is not None and self.action[0] == "regenerate":
            await session.regenerate()
        elif session is not None and self.action[0] == "destroy":
            await session.destroy()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    def wsgi_app(self, environ: Any, start_response: Any) -> Any:
        session = environ.get("fastsession.session")
        self.act(session, lambda v: environ.__setitem__("fastsession.session", v))
        if session is not None and self.action[0] == "regenerate":
            session.regenerate()
        elif session is not None and self.action[0] == "destroy":
            session.destroy()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    # -- one request ----------------------------------------------------------------------

    def request(
        self, kind: str, config: int, path: str, headers: list[tuple[bytes, bytes]]
    ) -> Outcome:
        app = self.apps[kind, config]
        self.seen = None
        if kind == "asgi":
            return _LOOP.run_until_complete(self._asgi(app, path, headers))
        return self._wsgi(app, path, headers)

    async def _asgi(self, app: Any, path: str, headers: list[tuple[bytes, bytes]]) -> Outcome:
        raw_path = path.encode("utf-8", "surrogatepass")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": raw_path,
            "root_path": "",
            "query_string": b"",
            "headers": headers,
            "client": ("127.0.0.1", 5000),
            "server": ("127.0.0.1", 8000),
        }
        sent: list[Any] = []

        async def receive() -> Any:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Any) -> None:
            sent.append(message)

        await app(scope, receive, send)
        start = sent[0]
        check(start["type"] == "http.response.start", "no response start", sent)
        lines = [v.decode("latin-1") for k, v in start["headers"] if k == b"set-cookie"]
        return Outcome(start["status"], lines, self.seen)

    def _wsgi(self, app: Any, path: str, headers: list[tuple[bytes, bytes]]) -> Outcome:
        environ: dict[str, Any] = {
            "REQUEST_METHOD": "GET",
            "SCRIPT_NAME": "",
            "PATH_INFO": path.encode("utf-8", "surrogatepass").decode("latin-1"),
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": io.StringIO(),
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in headers:
            # A server joins repeated headers with ", " (PEP 3333 gives latin-1 text).
            key = "HTTP_" + name.decode("latin-1").upper().replace("-", "_")
            text = value.decode("latin-1")
            environ[key] = environ[key] + ", " + text if key in environ else text
        started: list[Any] = []

        def start_response(status: str, hdrs: Any, exc_info: Any = None) -> Any:
            started.append((status, hdrs))
            return lambda data: None

        body = app(environ, start_response)
        try:
            b"".join(body)
        finally:
            getattr(body, "close", lambda: None)()
        status, hdrs = started[-1]
        lines = [v for k, v in hdrs if k.lower() == "set-cookie"]
        return Outcome(int(status.split()[0]), lines, self.seen)


class _Errors(logging.Handler):
    """What the package logs at ERROR or above: a fault, never due for a client's bytes."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


_LOOP = asyncio.new_event_loop()  # one loop for every request: a new one costs more
ERRORS = _Errors()


@contextmanager
def _frozen_and_watched(pair: tuple[Twin, Twin]) -> Iterator[None]:
    """Both copies' clocks stopped at NOW and their log's errors collected, then as before."""
    log = logging.getLogger("fastsession")
    clocks = [(twin.on.clock, twin.on.clock.now) for twin in pair]
    propagate = log.propagate
    ERRORS.records.clear()
    log.addHandler(ERRORS)
    log.propagate = False  # the Secure-over-http warning, said once, is expected here
    for clock, _ in clocks:
        clock.now = lambda: NOW
    try:
        yield
    finally:
        for clock, now in clocks:
            clock.now = now
        log.removeHandler(ERRORS)
        log.propagate = propagate


_TWINS: dict[str, Twin] = {}


def twins() -> tuple[Twin, Twin]:
    if not _TWINS:
        _TWINS["c"], _TWINS["py"] = Twin(stack("c")), Twin(stack("py"))
    return _TWINS["c"], _TWINS["py"]


def hostile_headers(d: Draw) -> list[tuple[bytes, bytes]]:
    headers: list[tuple[bytes, bytes]] = []
    if d.below(3) == 1:  # a third of the requests lead with the good cookie (and may load)
        good = "connect.sid=" + signed_cookie(LEGIT, d.pick([SECRET, ROTATED])).replace(":", "%3A")
        headers.append((b"cookie", good.encode()))
    for _ in range(d.below(6)):
        kind = d.below(6)
        if kind <= 1:
            value = cookie_header(d, LEGIT).encode("utf-8", "surrogatepass")
            headers.append((b"cookie", value))
        elif kind == 2:
            proto = d.pick(
                [
                    "https",
                    "HTTPS",
                    " https ,http",
                    "http, https",
                    "\xa0https",
                    "wss",
                    "https\x1c",
                    "",
                    d.text(12),
                ]
            )
            headers.append((b"x-forwarded-proto", proto.encode("utf-8", "surrogatepass")))
        elif kind == 3:
            headers.append((d.raw(12).lower(), d.raw(40)))
        elif kind == 4:
            headers.append((b"x-huge", b"a" * d.size() * 16))
            # ... and as many Cookie headers, one cookie each (a server may pass them apart).
            headers.extend((b"cookie", b"c%d=%d" % (i, i)) for i in range(d.size()))
        else:
            headers.append((d.pick([b"cookie", b"x-forwarded-proto"]), d.raw(64)))
    return headers


def expected(
    kind: str, config: int, path: str, headers: list[tuple[bytes, bytes]], action: str
) -> tuple[bool, str | None, bool]:
    """(has a session, the id loaded or None, Set-Cookie sent) as express decides."""
    cookie, flags, persistent, prefix = CONFIGS[config]
    if kind == "wsgi":
        path = path.encode("utf-8", "surrogatepass").decode("latin-1")
    if not (path or "/").startswith(prefix):
        return False, None, False
    cookies = [v.decode("latin-1") for k, v in headers if k == b"cookie"]
    sid = expected_sid("; ".join(cookies) if kind == "asgi" else ", ".join(cookies), "connect.sid")
    loaded = sid == LEGIT
    protos = [v.decode("latin-1") for k, v in headers if k == b"x-forwarded-proto"]
    proto = protos[0] if kind == "asgi" and protos else ", ".join(protos)
    secure_ok = not cookie.get("secure") or (
        proto.split(",", 1)[0].lower().strip(_JS_SPACE) == "https"
    )
    # express's shouldSetCookie, then the Secure check (section 6 of the spec).
    if action in ("destroy", "unset"):
        sends = False
    elif action == "regenerate":
        sends = True
    elif not loaded:
        sends = flags.get("save_uninitialized", False) or action == "write"
    else:
        sends = flags.get("rolling", False) or (persistent and action == "write")
    sends = sends and secure_ok
    return True, LEGIT if loaded else None, sends


def _one(
    twin: Twin, kind: str, config: int, path: str, headers: Any, action: str, value: Any
) -> tuple[Outcome, Outcome | None]:
    # The seeded session, as a first request wrote it.
    twin.counter = 0
    twin.action = ("write", SEEDED)
    seed = twin.request(kind, config, "/app", [(b"x-forwarded-proto", b"https")])
    check(seed.seen is not None and seed.seen[0] == LEGIT, "seeding failed", seed)
    twin.action = (action, value)
    outcome = twin.request(kind, config, path, headers)
    follow = None
    twin.action = ("noop", None)
    if action == "write" and outcome.set_cookie:
        cookie = outcome.set_cookie[0].split(";", 1)[0].encode("latin-1")
        follow = twin.request(kind, config, "/app", [(b"cookie", cookie)])
    elif action in ("destroy", "unset", "regenerate"):
        # Is the seeded session still there?
        good = "connect.sid=" + signed_cookie(LEGIT).replace(":", "%3A")
        follow = twin.request(kind, config, "/app", [(b"cookie", good.encode())])
    return outcome, follow


def fuzz_middleware(kind: str, data: bytes) -> None:
    d = Draw(data)
    config = d.below(len(CONFIGS))
    action = d.pick(ACTIONS)
    path = d.pick(
        [
            "/",
            "",
            "/app",
            "/app/x",
            "/application",
            "/App",
            "//",
            "/%2F",
            "/é",
            "/\x00",
            "/a b",
            "/\ud800",
            d.text(20),
        ]
    )
    headers = hostile_headers(d)
    value = {d.pick(["k", "Cookie", "", "é", "\x00", "user"]): odd_value(d) for _ in range(3)}
    outcomes = []
    with _frozen_and_watched(twins()):
        for twin in twins():
            outcomes.append(_one(twin, kind, config, path, headers, action, value))
    (c, c_follow), (py, py_follow) = outcomes
    check(
        c == py and c_follow == py_follow,
        "the twins differ",
        kind,
        config,
        path,
        headers,
        action,
        value,
        outcomes,
    )
    check(c.status == 200, "an error for a client's request", c, headers)
    logged = [r.getMessage() for r in ERRORS.records]
    check(not logged, "an error logged for a client's request", headers, logged)
    has_session, sid, sends = expected(kind, config, path, headers, action)
    check((c.seen is not None) == has_session, "session present or not", path, c, config)
    if c.seen is not None:
        if sid is not None:
            check(c.seen == (LEGIT, SEEDED), "the signed session was not loaded", headers, c)
        else:
            check(
                c.seen[0] != LEGIT and c.seen[1] == {},
                "a session from an unsigned cookie",
                headers,
                c,
            )
    check(
        bool(c.set_cookie) == sends,
        "Set-Cookie where express sends none"
        if not sends
        else "no Set-Cookie where express sends one",
        kind,
        config,
        path,
        headers,
        action,
        c,
    )
    if c_follow is not None and action == "write":
        check(
            c_follow.seen is not None and c_follow.seen[1] == {**(SEEDED if sid else {}), **value},
            "written data did not come back",
            value,
            c_follow,
        )
    elif c_follow is not None:
        gone = sid is not None and (
            action != "unset" or CONFIGS[config][1].get("unset") == "destroy"
        )
        if gone:  # a new, empty session now
            ok = c_follow.seen is not None and c_follow.seen[0] != LEGIT and not c_follow.seen[1]
        else:
            ok = c_follow.seen == (LEGIT, SEEDED)
        check(ok, "the session outlived its end, or was lost", action, config, gone, c_follow)


def fuzz_asgi(data: bytes) -> None:
    fuzz_middleware("asgi", data)


def fuzz_wsgi(data: bytes) -> None:
    fuzz_middleware("wsgi", data)
