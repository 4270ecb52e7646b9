"""Real traffic in-process: many stored sessions, created by real requests, visited at random.

The one-cookie benchmarks (bench_middleware.py) replay one cookie, and fastsession
remembers the cookie headers and values it has verified, so after the first request
they time neither the parse nor the signature check. Here a variant first serves ``n``
logins (``/login/<i>`` through the whole app, each a new session holding ``user`` and
``views == 1``), collecting every Set-Cookie; the cookies are then visited in a seeded
random order, one per request, cycled, so each request parses, verifies and looks up a
session of its own. The bare apps get as many distinct cookie headers of the same shape
(they read none), so the harness costs the same on both sides of "added".
"""

from __future__ import annotations

import asyncio
import base64
import os
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from benchmarks import apps, calls

SESSIONS = 100_000
SESSIONS_ENV = "FASTSESSION_BENCH_SESSIONS"
SEED = 20_251_121
# Checked before timing: the tail of the visit order, so the first timed visits meet
# cookies that no cache has seen lately (more than fastsession's 4096 remembered values).
CHECKS = 5_000
# Variants whose data travels in the cookie: a replayed cookie always carries views == 1.
COOKIE_ONLY = frozenset({"starlette", "flask+cookie"})

T = TypeVar("T")
Counter = Callable[[], int]


def sessions_wanted() -> int:
    """How many sessions to create: FASTSESSION_BENCH_SESSIONS, else 100,000."""
    raw = os.environ.get(SESSIONS_ENV, "")
    count = int(raw) if raw.strip() else SESSIONS
    if not 1 <= count <= 1_000_000:
        raise ValueError(f"{SESSIONS_ENV} must be in [1, 1000000], not {count}")
    return count


def build(variant: apps.Variant) -> tuple[Any, Counter | None]:
    """The variant's app, and its store's session count where the store is ours to ask
    (fastsession's MemoryStore.length(), starsessions' InMemoryStore.data)."""
    if variant.name in ("fastsession", "flask+fastsession"):
        store = apps.memory_store()
        counter: Counter = store.length
        return variant.build(store=store), counter
    if variant.name == "floor":
        floor: dict[str, Any] = {}
        return variant.build(store=floor), floor.__len__
    if variant.name == "starsessions":
        from starsessions import InMemoryStore

        memory = InMemoryStore()
        return variant.build(store=memory), lambda: len(memory.data)
    return variant.build(), None


@dataclass
class Rotation(Generic[T]):
    """The visit order, cycled: each round takes the next ``count`` items."""

    items: Sequence[T]
    taken: int = 0

    def take(self, count: int) -> list[T]:
        start = self.taken % len(self.items)
        self.taken += count
        batch = list(self.items[start : start + count])
        while len(batch) < count:
            batch += self.items[: count - len(batch)]
        return batch

    def since(self, taken: int, most: int) -> list[T]:
        """Up to ``most`` of the items handed out since ``taken`` were, the latest first
        (at most one full turn)."""
        n = len(self.items)
        count = min(most, self.taken - taken, n)
        return [self.items[(self.taken - 1 - i) % n] for i in range(count)]


@dataclass
class Traffic:
    """One variant's app and sessions: ``cookies`` in creation order, ``visits`` the same
    cookies shuffled, ``stored`` the store's count (None where the store cannot say)."""

    variant: apps.Variant
    app: Any
    cookies: list[str]
    visits: list[str]
    stored: Counter | None
    rotation: Rotation[str] = field(init=False)

    def __post_init__(self) -> None:
        self.rotation = Rotation(self.visits)


def shuffled(cookies: Sequence[str], seed: int = SEED) -> list[str]:
    order = list(cookies)
    random.Random(seed).shuffle(order)
    return order


def synthetic(n: int, seed: int = SEED) -> list[str]:
    """Distinct cookies shaped like fastsession's (``s:<32-char id>.<43-char signature>``,
    percent-encoded), for the bare apps, which read none of them."""
    rng = random.Random(seed)

    def token(size: int) -> str:
        return base64.urlsafe_b64encode(rng.randbytes(size)).decode().rstrip("=")

    return [f"connect.sid=s%3A{token(24)}.{token(32)}" for _ in range(n)]


# --- creating the sessions: real requests, every Set-Cookie collected ---------------------


def _pair(set_cookie: str, what: str) -> str:
    """The ``name=value`` a browser sends back for one Set-Cookie header."""
    pair = set_cookie.split(";", 1)[0].strip()
    if "=" not in pair:
        raise RuntimeError(f"{what}: a malformed Set-Cookie {set_cookie!r}")
    return pair


async def _login_asgi(app: calls.ASGIApp, n: int) -> list[str]:
    template = calls.asgi_scope("/login/0", None)
    seen: list[Any] = []

    async def capture(message: calls.Message) -> None:
        if message["type"] == "http.response.start":
            seen.append(message["status"])
            seen.extend(v for k, v in message["headers"] if k.lower() == b"set-cookie")

    found = []
    for i in range(n):
        scope = dict(template)
        scope["path"] = path = f"/login/{i}"
        scope["raw_path"] = path.encode()
        await app(scope, calls.receive, capture)
        if len(seen) != 2 or seen[0] != 200:
            raise RuntimeError(f"login {i}: expected 200 and one Set-Cookie, got {seen}")
        found.append(_pair(seen[1].decode("latin-1"), f"login {i}"))
        seen.clear()
    return found


def _login_wsgi(app: calls.WSGIApp, n: int) -> list[str]:
    template = calls.wsgi_environ("/login/0", None)
    seen: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc: Any = None) -> None:
        seen.append(status)
        seen.extend(v for k, v in headers if k.lower() == "set-cookie")

    found = []
    for i in range(n):
        environ = dict(template)
        environ["PATH_INFO"] = f"/login/{i}"
        body = app(environ, start_response)
        try:
            for _chunk in body:
                pass
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        if len(seen) != 2 or not seen[0].startswith("200"):
            raise RuntimeError(f"login {i}: expected 200 and one Set-Cookie, got {seen}")
        found.append(_pair(seen[1], f"login {i}"))
        seen.clear()
    return found


def login(
    variant: apps.Variant, app: Any, n: int, loop: asyncio.AbstractEventLoop | None = None
) -> list[str]:
    """``n`` logins through the app, one new session each: their cookies, in order."""
    if variant.protocol == "wsgi":
        return _login_wsgi(app, n)
    if loop is None:
        return asyncio.run(_login_asgi(app, n))
    return loop.run_until_complete(_login_asgi(app, n))


# --- checks: every visit must reach its own stored session ---------------------------------


def visit(
    variant: apps.Variant,
    app: Any,
    path: str,
    cookies: Sequence[str],
    loop: asyncio.AbstractEventLoop | None = None,
) -> list[calls.Response]:
    """Each cookie once through the app, the responses captured (checks, never timed)."""
    if variant.protocol == "wsgi":
        return [calls.call_wsgi(app, path, c) for c in cookies]

    async def run() -> list[calls.Response]:
        return [await calls.call_asgi(app, path, c) for c in cookies]

    return asyncio.run(run()) if loop is None else loop.run_until_complete(run())


def found_session(variant: apps.Variant, op: str, response: calls.Response) -> bool:
    """The body is the views the request saw: at least 1 on a read, 2 after a write
    (a request that missed its session reads None, or starts again at 1)."""
    if response.status != 200:
        return False
    if not variant.has_session:
        return response.body == b"ok"
    least = 2 if op == "write" else 1
    return response.body.isdigit() and int(response.body) >= least


def require_found(variant: apps.Variant, op: str, responses: Sequence[calls.Response]) -> None:
    missed = [r for r in responses if not found_session(variant, op, r)]
    if missed:
        raise RuntimeError(
            f"{variant.name}: {len(missed)} of {len(responses)} {op}s did not find their "
            f"session, e.g. {missed[0]}"
        )


def prepare(
    variant: apps.Variant, n: int, loop: asyncio.AbstractEventLoop | None = None
) -> Traffic:
    """Build the variant, create ``n`` sessions and check them: distinct cookies, ``n``
    stored sessions, and the tail of the visit order read back from the store."""
    app, stored = build(variant)
    if not variant.has_session:
        cookies = synthetic(n)
        return Traffic(variant, app, cookies, shuffled(cookies), None)
    cookies = login(variant, app, n, loop)
    if len(set(cookies)) != n:
        raise RuntimeError(f"{variant.name}: {n} logins gave {len(set(cookies))} cookies")
    if stored is not None and stored() != n:
        raise RuntimeError(f"{variant.name}: {n} logins left {stored()} stored sessions")
    traffic = Traffic(variant, app, cookies, shuffled(cookies), stored)
    require_found(variant, "read", visit(variant, app, "/read", traffic.visits[-CHECKS:], loop))
    if stored is not None and stored() != n:
        raise RuntimeError(f"{variant.name}: reading created sessions ({stored()} stored)")
    return traffic


def check_after(
    traffic: Traffic, op: str, since: int, loop: asyncio.AbstractEventLoop | None = None
) -> None:
    """After timing: no visit created a session, and the sessions visited since the
    rotation's ``since`` (up to CHECKS of them) read back: found, and after writes holding
    their increments (where the data is on the server)."""
    n = len(traffic.cookies)
    if traffic.stored is not None and traffic.stored() != n:
        raise RuntimeError(
            f"{traffic.variant.name}: {traffic.stored()} stored sessions after the {op}s, "
            f"not {n}: some visits missed their session"
        )
    if traffic.variant.has_session:
        recent = traffic.rotation.since(since, CHECKS)
        written = op == "write" and traffic.variant.name not in COOKIE_ONLY
        responses = visit(traffic.variant, traffic.app, "/read", recent, loop)
        require_found(traffic.variant, "write" if written else "read", responses)


# --- the timed rounds ---------------------------------------------------------------------


def asgi_round(
    loop: asyncio.AbstractEventLoop, traffic: Traffic, path: str, count: int
) -> Callable[[], None]:
    """``count`` requests per call, each with the next cookie of the visit order."""
    template = calls.asgi_scope(path, None)
    base = list(template["headers"])
    # The header lists in the visit order, turned in step with traffic.rotation.
    headers = [[*base, (b"cookie", c.encode("latin-1"))] for c in traffic.visits]
    rotation = Rotation(headers, traffic.rotation.taken)
    app, receive, send = traffic.app, calls.receive, calls.discard

    async def batch(headers: list[list[tuple[bytes, bytes]]]) -> None:
        for item in headers:
            # A fresh scope per request: middlewares store the session in it.
            scope = dict(template)
            scope["headers"] = item
            await app(scope, receive, send)

    def run() -> None:
        loop.run_until_complete(batch(rotation.take(count)))
        traffic.rotation.taken = rotation.taken

    return run


def wsgi_round(traffic: Traffic, path: str, count: int) -> Callable[[], None]:
    template = calls.wsgi_environ(path, None)
    app, start_response, rotation = traffic.app, calls.discard_start_response, traffic.rotation

    def run() -> None:
        for cookie in rotation.take(count):
            environ = dict(template)
            environ["HTTP_COOKIE"] = cookie
            body = app(environ, start_response)
            for _chunk in body:
                pass
            close = getattr(body, "close", None)
            if close is not None:  # as a WSGI server must; Flask tears down here
                close()

    return run
