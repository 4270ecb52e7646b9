"""The lifetime options and cache safety through both middlewares, in process,
on each twin of the request kernel (tests/kernel_stacks.py), with a fake clock.

* ``touch_after``: an unchanged session renews its store expiry and its
  rolling cookie only once the last renewal (``expires - originalMaxAge`` in
  the record) is ``touch_after`` old, and then by a save, so the record holds
  the renewal time; in between ``session.cookie`` shows the expiry the store
  and the browser have. A browser-session cookie (no
  max_age) is touched on every request, as without the option.
* ``absolute_timeout``: a session created (or regenerated) that long ago is
  destroyed and a new one begins, however active; the creation time is the
  data key ``_created`` (epoch ms), stamped into a loaded session that lacks it.
* ``cache_headers``: ``Vary: Cookie`` on every response that had a session,
  merged and never duplicated, ``*`` left alone; ``Cache-Control: private``
  beside a Set-Cookie when the app set no Cache-Control.
"""

from __future__ import annotations

import json
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from conftest import FakeClock, Impl
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_stacks import STACK_PARAMS, Stack, stack
from kernel_twins import BOTH

SECRET = b"a-test-secret-that-is-long-enough-0123456789"
KINDS = pytest.mark.parametrize("kind", ["asgi", "wsgi"])


@pytest.fixture(params=STACK_PARAMS)
def on(request: pytest.FixtureRequest) -> Stack:
    return stack(request.param)


@pytest.fixture
def clock(on: Stack, monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(on.clock, "now", fake)
    return fake


class Browser:
    """One client of one app: sends back the cookie it was last given."""

    def __init__(self, on: Stack, kind: str, **options: Any) -> None:
        self.store = options.setdefault("store", on.harness.RecordingStore())
        self.client = on.harness.Client(kind, secret=SECRET, **options)
        self.cookie: str | None = None
        self.last: Any = None

    def go(self, action: str = "noop") -> dict[str, Any]:
        self.client.action = action
        self.store.ops.clear()
        headers = {"Cookie": self.cookie} if self.cookie else {}
        self.last = resp = self.client.request("/", headers)
        assert resp.error is None, resp.error
        if resp.session_cookie():
            self.cookie = resp.session_cookie()
        return json.loads(resp.body)  # type: ignore[no-any-return]

    @property
    def ops(self) -> list[str]:
        return [op for op, _ in self.store.ops]

    def stored(self, sid: str) -> dict[str, Any] | None:
        raw = dict(self.store.raw_items()).get(sid)
        return None if raw is None else json.loads(raw)  # type: ignore[no-any-return]


def cookie_expiry(line: str) -> float:
    attrs = dict(p.strip().partition("=")[::2] for p in line.split(";")[1:])
    return parsedate_to_datetime(attrs["Expires"]).timestamp()


def iso_s(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


# -- touch_after -------------------------------------------------------------------------


@KINDS
def test_touch_after_renews_store_and_rolling_cookie_only_when_due(
    on: Stack, kind: str, clock: FakeClock
) -> None:
    b = Browser(on, kind, cookie={"max_age": 3600}, rolling=True, touch_after=60)
    t0 = clock.now
    sid = b.go("views")["sessionID"]
    assert b.ops == ["set"]
    assert iso_s(b.stored(sid)["cookie"]["expires"]) == t0 + 3600  # type: ignore[index]

    clock.advance(30)  # within touch_after: nothing renewed, nothing sent
    body = b.go()
    assert b.ops == ["get"] and b.last.set_cookie == []
    # session.cookie shows the expiry the store and the browser have, not now + max_age.
    assert iso_s(body["session"]["cookie"]["expires"]) == t0 + 3600
    assert iso_s(b.stored(sid)["cookie"]["expires"]) == t0 + 3600  # type: ignore[index]

    clock.advance(30)  # exactly touch_after since the last renewal: renewed
    body = b.go()
    # By a save (replace: the session was loaded), so the record holds the renewal
    # time (a Redis touch is EXPIRE alone).
    assert b.ops == ["get", "replace"]
    (line,) = b.last.set_cookie
    assert cookie_expiry(line) == t0 + 60 + 3600
    # The app ran before the renewal (at the response's start): it saw the loaded expiry.
    assert iso_s(body["session"]["cookie"]["expires"]) == t0 + 3600
    assert iso_s(b.stored(sid)["cookie"]["expires"]) == t0 + 60 + 3600  # type: ignore[index]

    clock.advance(59)  # the window starts again at the renewal
    b.go()
    assert b.ops == ["get"] and b.last.set_cookie == []

    body = b.go("views")  # a change is saved at once, window or not
    assert b.ops == ["get", "replace"] and body["session"]["views"] == 2
    assert cookie_expiry(b.last.set_cookie[0]) == clock.now + 3600


@KINDS
def test_touch_after_session_cookie_after_the_response(
    on: Stack, kind: str, clock: FakeClock
) -> None:
    # After the response, session.cookie.expires is what the store holds:
    # unchanged when the touch was skipped, renewed when it was due.
    b = Browser(on, kind, cookie={"max_age": 3600}, rolling=True, touch_after=60)
    seen: list[Any] = []
    b.go("views")
    t0 = clock.now
    if kind == "asgi":

        async def handler(scope: Any, receive: Any, send: Any) -> None:
            seen.append(scope["session"])
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"{}"})

    else:

        def handler(environ: Any, start_response: Any) -> Any:
            seen.append(environ["fastsession.session"])
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b"{}"]

    b.client.handler = handler
    clock.advance(10)
    b.client.request("/", {"Cookie": b.cookie})  # type: ignore[dict-item]
    assert seen[-1].cookie.expires.timestamp() == t0 + 3600
    clock.advance(60)
    resp = b.client.request("/", {"Cookie": b.cookie})  # type: ignore[dict-item]
    assert resp.error is None
    assert seen[-1].cookie.expires.timestamp() == clock.now + 3600
    assert cookie_expiry(resp.set_cookie[0]) == clock.now + 3600


@KINDS
def test_touch_after_renews_when_the_app_changes_the_cookie_lifetime(
    on: Stack, kind: str, clock: FakeClock
) -> None:
    b = Browser(on, kind, cookie={"max_age": 3600}, touch_after=600)
    sid = b.go("views")["sessionID"]
    clock.advance(10)
    b.go("maxAge5000")  # session.cookie.max_age = 5: the store must learn it
    assert b.ops == ["get", "touch"]
    assert iso_s(b.stored(sid)["cookie"]["expires"]) == clock.now + 5  # type: ignore[index]


@KINDS
def test_touch_after_does_not_apply_to_a_browser_session_cookie(
    on: Stack, kind: str, clock: FakeClock
) -> None:
    # No max_age: the record has no renewal time, the store's TTL is its default:
    # every unchanged request touches, as without the option.
    b = Browser(on, kind, touch_after=60)
    b.go("views")
    clock.advance(1)
    b.go()
    assert b.ops == ["get", "touch"]


@KINDS
def test_touch_after_with_resave_saves_every_request(
    on: Stack, kind: str, clock: FakeClock
) -> None:
    b = Browser(on, kind, cookie={"max_age": 3600}, touch_after=60, resave=True)
    b.go("views")
    clock.advance(1)
    b.go()
    assert b.ops == ["get", "replace"]


@KINDS
def test_touch_after_off_touches_every_request(on: Stack, kind: str, clock: FakeClock) -> None:
    b = Browser(on, kind, cookie={"max_age": 3600}, rolling=True)
    b.go("views")
    clock.advance(1)
    b.go()
    assert b.ops == ["get", "touch"] and len(b.last.set_cookie) == 1


# The decision over random request sequences: the store, the cookie sent and
# session.cookie never disagree, and a renewal happens exactly when it is due.
@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
@settings(max_examples=30, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.integers(0, 200), st.sampled_from(["noop", "noop", "views"])),
        min_size=1,
        max_size=12,
    ),
    touch_after=st.integers(1, 150),
)
def test_touch_after_property(kind: str, steps: list[tuple[int, str]], touch_after: int) -> None:
    for tag in ("c", "py"):
        try:
            on = stack(tag)
        except ImportError:
            continue
        fake = FakeClock()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(on.clock, "now", fake)
            b = Browser(on, kind, cookie={"max_age": 3600}, rolling=True, touch_after=touch_after)
            sid = b.go("views")["sessionID"]
            renewed = fake.now
            for gap, action in steps:
                fake.advance(gap)
                body = b.go(action)
                # What the app saw: the expiry the store had.
                assert iso_s(body["session"]["cookie"]["expires"]) == renewed + 3600
                assert body["sessionID"] == sid
                due = action == "views" or fake.now - renewed >= touch_after
                assert b.ops == ["get", "replace"][: 1 + due]
                if due:
                    renewed = fake.now
                    assert cookie_expiry(b.last.set_cookie[0]) == renewed + 3600
                else:
                    assert b.last.set_cookie == []
                expires = renewed + 3600
                assert iso_s(b.stored(sid)["cookie"]["expires"]) == expires  # type: ignore[index]


# -- absolute_timeout --------------------------------------------------------------------


@KINDS
def test_absolute_timeout_ends_an_active_session(on: Stack, kind: str, clock: FakeClock) -> None:
    key = on.kernel.CREATED_KEY
    assert key == "_created"
    b = Browser(on, kind, cookie={"max_age": 3600}, rolling=True, absolute_timeout=300)
    t0 = clock.now
    sid = b.go("views")["sessionID"]
    assert b.stored(sid)[key] == int(t0 * 1000)  # type: ignore[index]
    for _ in range(4):  # active all along: the idle timeout never strikes
        clock.advance(70)
        body = b.go("views")
        assert body["sessionID"] == sid and body["session"][key] == int(t0 * 1000)
    clock.advance(20)  # 300 s since it was created
    body = b.go("views")
    assert body["sessionID"] != sid and body["session"]["views"] == 1
    assert b.ops[:2] == ["get", "destroy"] and b.stored(sid) is None
    assert body["session"][key] == int(clock.now * 1000)


@KINDS
def test_absolute_timeout_treats_an_old_session_as_absent_without_a_write(
    on: Stack, kind: str, clock: FakeClock
) -> None:
    b = Browser(on, kind, absolute_timeout=timedelta(minutes=5))
    sid = b.go("views")["sessionID"]
    clock.advance(301)
    body = b.go()  # nobody writes the new session: it is not saved, no cookie
    assert body["sessionID"] != sid and "views" not in body["session"]
    assert b.ops == ["get", "destroy"] and b.last.set_cookie == []
    assert b.store.raw_items() == []


@KINDS
def test_absolute_timeout_creation_time_alone_does_not_save(
    on: Stack, kind: str, clock: FakeClock
) -> None:
    b = Browser(on, kind, absolute_timeout=300)
    body = b.go()
    assert body["session"]["_created"] == int(clock.now * 1000)
    assert b.last.set_cookie == [] and b.store.raw_items() == []


@KINDS
def test_absolute_timeout_restarts_at_regenerate(on: Stack, kind: str, clock: FakeClock) -> None:
    b = Browser(on, kind, absolute_timeout=300)
    first = b.go("views")["sessionID"]
    clock.advance(200)
    body = b.go("regenerate+views")  # a login
    sid = body["sessionID"]
    assert sid != first and body["session"]["_created"] == int(clock.now * 1000)
    clock.advance(200)  # 400 s after the first session, 200 after the login
    assert b.go()["sessionID"] == sid


@KINDS
def test_absolute_timeout_stamps_a_session_made_without_it(
    on: Stack, kind: str, clock: FakeClock
) -> None:
    store = on.harness.RecordingStore()
    plain = Browser(on, kind, store=store)  # before the option (or an Express app)
    sid = plain.go("views")["sessionID"]
    assert "_created" not in plain.stored(sid)  # type: ignore[operator]
    b = Browser(on, kind, store=store, absolute_timeout=300)
    b.cookie = plain.cookie
    clock.advance(10)
    b.go()
    assert b.ops == ["get", "replace"]  # the stamp is a change, saved
    assert b.stored(sid)["_created"] == int(clock.now * 1000)  # type: ignore[index]
    clock.advance(300)
    assert b.go()["sessionID"] != sid


# -- cache_headers -----------------------------------------------------------------------


def _with_headers(on: Stack, kind: str, extra: list[tuple[str, str]], **options: Any) -> Any:
    b = Browser(on, kind, **options)
    if kind == "asgi":

        async def handler(scope: Any, receive: Any, send: Any) -> None:
            scope["session"]["n"] = 1
            headers = [(k.lower().encode(), v.encode()) for k, v in extra]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": b"{}"})

    else:

        def handler(environ: Any, start_response: Any) -> Any:
            environ["fastsession.session"]["n"] = 1
            start_response("200 OK", [("Content-Type", "text/plain"), *extra])
            return [b"{}"]

    b.client.handler = handler
    return b


def _get(headers: list[tuple[str, str]], name: str) -> list[str]:
    return [v for k, v in headers if k.lower() == name]


@KINDS
@pytest.mark.parametrize(
    ("extra", "vary", "control"),
    [
        ([], ["Cookie"], ["private"]),
        ([("Vary", "Accept-Encoding")], ["Accept-Encoding,Cookie"], ["private"]),
        ([("Vary", "Origin, cookie")], ["Origin, cookie"], ["private"]),
        ([("Vary", "*")], ["*"], ["private"]),
        ([("Cache-Control", "no-store")], ["Cookie"], ["no-store"]),
        ([("Vary", "Accept"), ("Vary", "Origin")], ["Accept,Cookie", "Origin"], ["private"]),
    ],
)
def test_cache_headers_on_a_response_with_set_cookie(
    on: Stack, kind: str, extra: Any, vary: list[str], control: list[str]
) -> None:
    b = _with_headers(on, kind, extra)
    b.go()
    headers = b.last.headers
    assert len(b.last.set_cookie) == 1
    assert _get(headers, "vary") == vary and _get(headers, "cache-control") == control


@KINDS
def test_cache_headers_without_set_cookie_vary_only(on: Stack, kind: str) -> None:
    b = Browser(on, kind)
    b.go("views")
    b.go("noop")  # the session was loaded and read; nothing to set
    assert b.last.set_cookie == []
    assert _get(b.last.headers, "vary") == ["Cookie"]
    assert _get(b.last.headers, "cache-control") == []
    first = Browser(on, kind)
    first.go("noop")  # no cookie, an unsaved new session the app may have read
    assert _get(first.last.headers, "vary") == ["Cookie"]


@KINDS
def test_cache_headers_off(on: Stack, kind: str) -> None:
    b = _with_headers(on, kind, [("Vary", "Accept")], cache_headers=False)
    b.go()
    assert len(b.last.set_cookie) == 1
    assert _get(b.last.headers, "vary") == ["Accept"]
    assert _get(b.last.headers, "cache-control") == []


def test_cache_headers_not_on_a_path_without_sessions(on: Stack) -> None:
    b = Browser(on, "asgi", cookie={"path": "/app"})
    b.go()
    assert _get(b.last.headers, "vary") == []


# -- the kernels' cache_safe, both twins ---------------------------------------------------

_NAMES = st.sampled_from(["Vary", "vary", "Cache-Control", "Set-Cookie", "Content-Type"])
_VALUES = st.sampled_from(["", "*", "Cookie", "cookie", "Accept, Origin", "a=1", "private"])


@pytest.mark.parametrize("impl", BOTH)
@settings(max_examples=200, deadline=None)
@given(headers=st.lists(st.tuples(_NAMES, _VALUES), max_size=6), asgi=st.booleans())
def test_cache_safe_property(impl: Impl, headers: list[tuple[str, str]], asgi: bool) -> None:
    from fastsession import _headers_py

    words = _headers_py.ASGI_WORDS if asgi else _headers_py.WSGI_WORDS
    given_ = [(k.lower().encode(), v.encode()) for k, v in headers] if asgi else list(headers)
    out = impl.cache_safe(list(given_), words)
    assert out == _headers_py.cache_safe(list(given_), words)  # the twins agree
    text = [(k.decode(), v.decode()) if asgi else (k, v) for k, v in out]
    headers = [(k.lower(), v) for k, v in headers] if asgi else headers

    def varies(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(k, v) for k, v in pairs if k.lower() == "vary"]

    before = [t.strip().lower() for _, v in varies(headers) for t in v.split(",")]
    after = [t.strip().lower() for _, v in varies(text) for t in v.split(",")]
    if "cookie" in before or "*" in before:
        assert varies(text) == varies(headers)
    else:
        assert after.count("cookie") == 1 and len(varies(text)) == max(1, len(varies(headers)))
    sets = any(k.lower() == "set-cookie" for k, _ in headers)
    controls = [v for k, v in text if k.lower() == "cache-control"]
    had = [v for k, v in headers if k.lower() == "cache-control"]
    assert controls == (had or (["private"] if sets else []))
    # Nothing else changes, and once safe stays as it is.
    assert [h for h in text if h[0].lower() not in ("vary", "cache-control")] == [
        h for h in headers if h[0].lower() not in ("vary", "cache-control")
    ]
    assert impl.cache_safe(list(out), words) == out
