"""The request kernel under the real middlewares, on each twin (tests/kernel_stacks.py).

* The express-session flow vectors replayed through a plain MemoryStore, whose
  get, set and touch are the kernel's MemoryCore methods, give the same
  responses and stored bytes as through a store with methods of its own (the
  path tests/test_flows.py checks against express-session).
* A store fault or a corrupt record on that path is an error (500, logged),
  never a new session.
* An ASGI scope whose path is "" is the root; X-Forwarded-Proto is trimmed as
  JavaScript's trim() (proxy=True); a WSGI app that raises leaves no cycle.
"""

from __future__ import annotations

import asyncio
import gc
import io
import itertools
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kernel_stacks import STACK_PARAMS, Stack, stack
from test_flows import FLOWS, translate

SECRET = b"a-test-secret-that-is-long-enough-0123456789"
NOW = 1893456000.0


@pytest.fixture(params=STACK_PARAMS)
def on(request: pytest.FixtureRequest) -> Stack:
    return stack(request.param)


def _faulty_store(on: Stack) -> Any:
    """A plain MemoryStore whose LRU's get can be made to fail once (a store fault)."""

    class FaultyLRU(on.lru.LRUCache):  # type: ignore[name-defined,misc]
        fail_get: BaseException | None = None

        def get(self, key: str) -> bytes | None:
            if self.fail_get is not None:
                exc, self.fail_get = self.fail_get, None
                raise exc
            return super().get(key)  # type: ignore[no-any-return]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(on.memory, "LRUCache", FaultyLRU)
        store = on.memory.MemoryStore()
    assert type(store._lru) is FaultyLRU
    return store


# -- the flows through MemoryStore's own (kernel) methods -------------------------------


def _replay(
    on: Stack, flow: dict[str, Any], kind: str, make_store: Callable[[], Any], clock: dict[str, int]
) -> Iterator[tuple[Any, ...]]:
    """Each step's response and the store's bytes after it."""
    counter = itertools.count(1)

    def genid(_: Any) -> str:
        return f"sid-{next(counter)}"

    shared = make_store()
    clients, stores = [], []
    for app in flow["apps"]:
        store = shared if flow["shared_store"] else make_store()
        options = translate(flow["name"], app["session_options"])
        with pytest.warns(UserWarning, match="shorter than 32 bytes"):
            clients.append(on.harness.Client(kind, store=store, genid=genid, **options))
        stores.append(store)
    for step in flow["steps"]:
        clock["ms"] = step["now_ms"]
        client, store = clients[step["app"]], stores[step["app"]]
        if step["pre"] is not None:
            fault: BaseException = (
                RuntimeError("boom") if "boom" in step["pre"] else FileNotFoundError(2, "ENOENT")
            )
            if isinstance(store, on.harness.RecordingStore):
                store.fail_get = fault
            else:
                store._lru.fail_get = fault
        client.action = step["action"]
        headers = dict(step["request"]["headers"])
        scheme = "http"
        if flow["apps"][step["app"]]["express_trust_proxy"]:
            if headers.get("X-Forwarded-Proto", "").split(",")[0].strip() == "https":
                scheme = "https"
        resp = client.request(step["request"]["path"], headers, scheme=scheme)
        error = None if resp.error is None else (type(resp.error), str(resp.error))
        yield resp.status, resp.set_cookie, resp.body, error, sorted(store._lru.items())


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
@pytest.mark.parametrize("flow", FLOWS, ids=[f["name"] for f in FLOWS])
def test_flows_through_memory_store_s_own_methods(
    on: Stack, flow: dict[str, Any], kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = {"ms": flow["steps"][0]["now_ms"]}
    monkeypatch.setattr(on.clock, "now", lambda: clock["ms"] / 1000)
    direct = list(_replay(on, flow, kind, lambda: _faulty_store(on), clock))
    generic = list(_replay(on, flow, kind, on.harness.RecordingStore, clock))
    assert direct == generic


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_memory_store_s_data_path_is_the_kernel_s(on: Stack, kind: str) -> None:
    store_cls = on.memory.MemoryStore
    assert issubclass(store_cls, on.kernel.MemoryCore)
    for name in ("get", "set", "replace", "touch"):
        assert getattr(store_cls, name) is getattr(on.kernel.MemoryCore, name), name
    # A subclass's own methods are what the middleware calls.
    recording = on.harness.RecordingStore()
    client = on.harness.Client(kind, secret=SECRET, store=recording)
    assert isinstance(client.app.engine, on.kernel.EngineCore)  # the twin under test
    assert on.memory.MemoryStore.get.__qualname__ == "MemoryCore.get"
    client.action = "views"
    cookie = client.request().session_cookie()
    assert cookie is not None
    client.request(headers={"Cookie": cookie})
    ((sid, _),) = recording.raw_items()
    assert recording.ops == [("set", sid), ("get", sid), ("replace", sid)]


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
@pytest.mark.parametrize("fault", ["down", "bad record"])
def test_a_fault_on_memory_store_s_path_is_an_error_not_a_new_session(
    on: Stack, kind: str, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = _faulty_store(on)
    client = on.harness.Client(kind, secret=SECRET, store=store)
    client.action = "views"
    cookie = client.request().session_cookie()
    assert cookie is not None
    before = store._lru.items()
    exc = RuntimeError(fault) if fault == "down" else on.errors.CorruptSessionError(fault)
    store._lru.fail_get = exc
    with caplog.at_level(logging.ERROR, logger="fastsession"):
        resp = client.request(headers={"Cookie": cookie})
    assert resp.status == 500 and isinstance(resp.error, on.errors.SessionError)
    assert resp.error is exc or resp.error.__cause__ is exc
    assert resp.set_cookie == []
    assert "store get() failed" in caplog.text
    assert store._lru.items() == before  # nothing written


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"[1]", "not an object"),
        (b'{"views":1}', "no cookie object"),
        (b'{"cookie":1,"views":1}', "no cookie object"),
        (b'{"cookie":{"originalMaxAge":null},"views":', "not JSON"),
        (b"", "not JSON"),
    ],
)
def test_a_corrupt_record_on_memory_store_s_path_is_an_error(
    on: Stack, kind: str, raw: bytes, error: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = on.memory.MemoryStore()
    client = on.harness.Client(kind, secret=SECRET, store=store)
    client.action = "views"
    cookie = client.request().session_cookie()
    assert cookie is not None
    ((sid, _),) = store._lru.items()
    store._lru.set(sid, raw, NOW * 10)
    with caplog.at_level(logging.ERROR, logger="fastsession"):
        resp = client.request(headers={"Cookie": cookie})
    assert resp.status == 500 and isinstance(resp.error, on.errors.CorruptSessionError)
    assert error in str(resp.error)
    assert "store get() failed" in caplog.text
    assert resp.set_cookie == []
    assert store._lru.items() == [(sid, raw)]  # no new session took its place


# -- (a) an empty ASGI path is the root -------------------------------------------------


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_an_empty_path_is_the_root(on: Stack, kind: str) -> None:
    client = on.harness.Client(kind, secret=SECRET, cookie={"path": "/"})
    client.action = "views"
    first = client.request("")
    assert first.status == 200 and '"views":1' in first.body
    (line,) = first.set_cookie
    assert "; Path=/;" in line
    second = client.request("", {"Cookie": line.split(";", 1)[0]})
    assert '"views":2' in second.body
    # Under a narrower cookie path, "" (the root) gets no session.
    narrow = on.harness.Client(kind, secret=SECRET, cookie={"path": "/app"})
    narrow.action = "views"
    resp = narrow.request("")
    assert resp.set_cookie == [] and '"session":null' in resp.body


def test_an_asgi_scope_without_path_is_the_root(on: Stack) -> None:
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope.get("session_id"))
        scope["session"]["v"] = 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    mw = on.fastsession.SessionMiddleware(app, secret=SECRET)
    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    for scope in ({"type": "http", "path": "", "headers": []}, {"type": "http", "headers": []}):
        sent.clear()
        asyncio.run(mw(scope, None, send))
        (cookie,) = [v for k, v in sent[0]["headers"] if k == b"set-cookie"]
        assert b"; Path=/;" in cookie
    assert len(seen) == 2 and all(isinstance(s, str) for s in seen)


# -- (b) X-Forwarded-Proto trimmed as JavaScript trims ----------------------------------

FORWARDED = [
    ("https", True),
    ("https\xa0", True),
    (" https ", True),
    ("HTTPS\t", True),
    ("https, http", True),
    ("\x0bhttps\x0c\r\n", True),
    ("https\x1f", False),
    ("\x1chttps", False),
    ("http", False),
    ("http, https", False),
    ("", False),
]


def _forwarded(on: Stack, kind: str, proto: str | None, secure: Any) -> list[str]:
    """The Set-Cookie lines for one request with that X-Forwarded-Proto (over http)."""
    if kind == "asgi":

        async def app(scope: Any, receive: Any, send: Any) -> None:
            scope["session"]["v"] = 1
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        headers = [] if proto is None else [(b"x-forwarded-proto", proto.encode("latin-1"))]
        scope = {"type": "http", "path": "/", "scheme": "http", "headers": headers}
        sent: list[Any] = []

        async def send(message: Any) -> None:
            sent.append(message)

        mw = on.fastsession.SessionMiddleware(
            app, secret=SECRET, proxy=True, cookie={"secure": secure}
        )
        asyncio.run(mw(scope, None, send))
        return [v.decode("latin-1") for k, v in sent[0]["headers"] if k == b"set-cookie"]

    def wsgi_app(environ: Any, start_response: Any) -> Any:
        environ["fastsession.session"]["v"] = 1
        start_response("200 OK", [])
        return [b""]

    environ: dict[str, Any] = {"PATH_INFO": "/", "SCRIPT_NAME": "", "wsgi.url_scheme": "http"}
    if proto is not None:
        environ["HTTP_X_FORWARDED_PROTO"] = proto  # PEP 3333: latin-1 decoded
    started: list[Any] = []
    wmw = on.fastsession.WSGISessionMiddleware(
        wsgi_app, secret=SECRET, proxy=True, cookie={"secure": secure}
    )
    body = wmw(environ, lambda status, headers, exc_info=None: started.append(headers))
    list(body)
    return [v for k, v in started[0] if k == "Set-Cookie"]


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
@pytest.mark.parametrize(("proto", "https"), FORWARDED, ids=repr)
def test_forwarded_proto_is_trimmed_as_javascript_trims(
    on: Stack, kind: str, proto: str, https: bool
) -> None:
    secure = _forwarded(on, kind, proto, True)
    assert len(secure) == (1 if https else 0), secure
    assert all("; Secure" in line for line in secure)
    (auto,) = _forwarded(on, kind, proto, "auto")
    assert ("; Secure" in auto) is https


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_no_forwarded_proto_is_not_https(on: Stack, kind: str) -> None:
    assert _forwarded(on, kind, None, True) == []


# -- (d) nothing left to the cyclic GC, even when the app raises ------------------------


def _garbage_after(run: Callable[[], None], times: int = 30) -> int:
    gc.collect()
    gc.disable()
    try:
        for _ in range(times):
            run()
        return gc.collect()
    finally:
        gc.enable()


@pytest.mark.parametrize("where", ["before-start", "after-start", "in-body"])
def test_a_wsgi_app_that_raises_leaves_nothing_for_the_cyclic_gc(on: Stack, where: str) -> None:
    def app(environ: Any, start_response: Any) -> Any:
        environ["fastsession.session"]["v"] = 1
        if where != "before-start":
            start_response("200 OK", [])
        if where != "in-body":
            raise RuntimeError("app failed")
        return _failing_body()

    def _failing_body() -> Iterator[bytes]:
        yield b"a"
        raise RuntimeError("app failed")

    mw = on.fastsession.WSGISessionMiddleware(app, secret=SECRET)
    failed = []

    def run() -> None:
        env = {"PATH_INFO": "/", "SCRIPT_NAME": "", "wsgi.url_scheme": "http"}
        env["wsgi.input"] = io.BytesIO()
        try:
            body = mw(env, lambda *a: None)
            try:
                list(body)
            finally:
                body.close()  # as a server does, the iteration failed or not
        except RuntimeError:
            failed.append(True)
        # The session stays readable after the request.
        assert env["fastsession.session"]["v"] == 1
        assert env["fastsession.session"].state is None

    assert _garbage_after(run) == 0
    assert len(failed) == 30


def test_an_asgi_app_that_raises_leaves_nothing_for_the_cyclic_gc(on: Stack) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        scope["session"]["v"] = 1
        raise RuntimeError("app failed")

    mw = on.fastsession.SessionMiddleware(app, secret=SECRET)

    async def send(message: Any) -> None:
        pass

    async def many() -> None:
        for _ in range(30):
            scope = {"type": "http", "path": "/", "scheme": "http", "headers": []}
            with pytest.raises(RuntimeError):
                await mw(scope, None, send)
            assert scope["session"].state is None

    gc.collect()
    gc.disable()
    try:
        loop = asyncio.new_event_loop()
        try:
            gc.collect()
            loop.run_until_complete(many())
            assert gc.collect() == 0
        finally:
            loop.close()
    finally:
        gc.enable()
