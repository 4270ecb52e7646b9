"""The middlewares' behaviour (express-session spec sections 2-14), ASGI and WSGI alike."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from harness import Client, RecordingStore

import fastsession
import fastsession._clock
from fastsession import (
    AsyncStore,
    MemoryStore,
    SessionError,
    SessionMiddleware,
    WSGISessionMiddleware,
)
from fastsession.errors import SerializationError, SessionNotFoundError

SECRET = "a-test-secret-that-is-long-enough-0123456789"
KINDS = ["asgi", "wsgi"]


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> dict[str, float]:
    now = {"t": 1893456000.0}
    monkeypatch.setattr(fastsession._clock, "now", lambda: now["t"])
    return now


def make(kind: str, **options: Any) -> tuple[Client, RecordingStore]:
    store = options.pop("store", None) or RecordingStore()
    options.setdefault("secret", SECRET)
    return Client(kind, store=store, **options), store


# -- options (section 2) ------------------------------------------------------------------


async def _noop_asgi(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover
    pass


def _noop_wsgi(environ: Any, start_response: Any) -> Any:  # pragma: no cover
    return []


@pytest.mark.parametrize("cls", [SessionMiddleware, WSGISessionMiddleware])
@pytest.mark.parametrize(
    ("options", "error", "names"),
    [
        ({"secret": ""}, ValueError, "secret"),
        ({"secret": b""}, ValueError, "secret"),
        ({"secret": []}, ValueError, "secret"),
        ({"secret": [SECRET, ""]}, ValueError, "secret"),
        ({"secret": 42}, TypeError, "secret"),
        ({"secret": None}, TypeError, "secret"),  # None is "not given"
        ({"name": ""}, ValueError, "name"),
        ({"name": "bad name"}, ValueError, "name"),
        ({"unset": "Destroy"}, ValueError, "unset"),
        ({"unset": ""}, ValueError, "unset"),
        ({"genid": "bogus"}, TypeError, "genid"),
        ({"proxy": "yes"}, TypeError, "proxy"),
        ({"resave": 1}, TypeError, "resave"),
        ({"rolling": None}, TypeError, "rolling"),
        ({"save_uninitialized": "no"}, TypeError, "save_uninitialized"),
        ({"store": object()}, TypeError, "store"),
        ({"cookie": 42}, TypeError, "cookie"),
        ({"cookie": {"foo": 1}}, TypeError, "foo"),
        ({"cookie": {"domain": "bad domain"}}, ValueError, "domain"),
        ({"cookie": {"path": "/a;b"}}, ValueError, "path"),
        ({"cookie": {"same_site": "sideways"}}, ValueError, "same_site"),
        ({"cookie": {"priority": "urgent"}}, ValueError, "priority"),
        ({"cookie": {"secure": "always"}}, ValueError, "secure"),
        ({"cookie": {"max_age": "60"}}, TypeError, "max_age"),
        ({"cookie": {"max_age": float("inf")}}, ValueError, "max_age"),
        ({"cookie": {"http_only": "yes"}}, TypeError, "http_only"),
        ({"unknown_option": 1}, TypeError, "unknown_option"),
    ],
)
def test_bad_option_is_an_error_naming_it(
    cls: Any, options: dict[str, Any], error: type[Exception], names: str
) -> None:
    options = {"secret": SECRET, **options}
    app = _noop_asgi if cls is SessionMiddleware else _noop_wsgi
    with pytest.raises(error, match=names):
        cls(app, **options)


def test_missing_secret_is_an_error() -> None:
    with pytest.raises(TypeError, match="secret"):
        SessionMiddleware(_noop_asgi)  # type: ignore[call-arg]


def test_short_secret_warns_and_long_does_not() -> None:
    with pytest.warns(UserWarning, match="shorter than 32 bytes"):
        SessionMiddleware(_noop_asgi, secret="short")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SessionMiddleware(_noop_asgi, secret=SECRET)
        # Only the signing secret must be long: older ones just verify.
        SessionMiddleware(_noop_asgi, secret=[SECRET, "old"])


def test_wsgi_refuses_an_async_store() -> None:
    class Async(AsyncStore):
        pass

    with pytest.raises(TypeError, match="store"):
        WSGISessionMiddleware(_noop_wsgi, secret=SECRET, store=Async())


def test_camel_case_cookie_options_are_accepted(kind: str, frozen: Any) -> None:
    client, _ = make(kind, cookie={"maxAge": 60, "sameSite": "lax", "httpOnly": False})
    client.action = "views"
    (line,) = client.request().set_cookie
    assert "Expires=Tue, 01 Jan 2030 00:01:00 GMT" in line
    assert "SameSite=Lax" in line and "HttpOnly" not in line


# -- section 5: the decision table, row by row ----------------------------------------------

ROWS = [
    # (name, options, first action, second action or None, ops of the last step, cookie?)
    (
        "new untouched, save_uninitialized",
        {"save_uninitialized": True},
        "noop",
        None,
        ["set"],
        True,
    ),
    ("new untouched, not save_uninitialized", {}, "noop", None, [], False),
    ("new untouched, rolling does not force", {"rolling": True}, "noop", None, [], False),
    ("new with data", {}, "views", None, ["set"], True),
    (
        "loaded unmodified, resave off",
        {"cookie": {"max_age": 60}},
        "views",
        "noop",
        ["get", "touch"],
        False,
    ),
    (
        "loaded unmodified, resave on",
        {"resave": True, "cookie": {"max_age": 60}},
        "views",
        "noop",
        ["get", "replace"],
        False,
    ),
    (
        "loaded unmodified, rolling",
        {"rolling": True, "cookie": {"max_age": 60}},
        "views",
        "noop",
        ["get", "touch"],
        True,
    ),
    (
        "loaded modified, persistent",
        {"cookie": {"max_age": 60}},
        "views",
        "views",
        ["get", "replace"],
        True,
    ),
    ("loaded modified, browser-session", {}, "views", "views", ["get", "replace"], False),
    (
        "loaded modified, browser-session, rolling",
        {"rolling": True},
        "views",
        "views",
        ["get", "replace"],
        True,
    ),
    (
        "loaded, only max_age changed",
        {"cookie": {"max_age": 60}},
        "views",
        "maxAge5000",
        ["get", "touch"],
        False,
    ),
    (
        "loaded, manual save",
        {"cookie": {"max_age": 60}},
        "views",
        "save",
        ["get", "replace", "touch"],
        True,
    ),
    ("new, manual save, not save_uninitialized", {}, "save", None, ["set"], True),
    (
        "regenerate",
        {"cookie": {"max_age": 60}},
        "views",
        "regenerate",
        ["get", "destroy", "set"],
        True,
    ),
    ("destroy", {"cookie": {"max_age": 60}}, "views", "destroy", ["get", "destroy"], False),
    ("unset keep", {"cookie": {"max_age": 60}}, "views", "null", ["get"], False),
    (
        "unset destroy",
        {"unset": "destroy", "cookie": {"max_age": 60}},
        "views",
        "null",
        ["get", "destroy"],
        False,
    ),
    ("unset destroy, brand-new", {"unset": "destroy"}, "null", None, ["destroy"], False),
    ("secure cookie over http", {"cookie": {"secure": True}}, "views", None, ["set"], False),
]


@pytest.mark.parametrize(
    ("name", "options", "first", "second", "ops", "cookie"), ROWS, ids=[r[0] for r in ROWS]
)
def test_decision_table(
    kind: str,
    frozen: Any,
    name: str,
    options: dict[str, Any],
    first: str,
    second: str | None,
    ops: list[str],
    cookie: bool,
) -> None:
    client, store = make(kind, **options)
    client.action = first
    resp = client.request()
    if second is not None:
        jar = resp.session_cookie()
        assert jar is not None
        store.ops.clear()
        frozen["t"] += 1
        client.action = second
        resp = client.request(headers={"Cookie": jar})
    assert [op for op, _ in store.ops] == ops
    assert bool(resp.set_cookie) is cookie


def test_session_id_replaced_by_non_string(kind: str) -> None:
    """express: req.sessionID set to a non-string means nothing is saved or sent."""
    client, store = make(kind, save_uninitialized=True)
    key = "session_id" if kind == "asgi" else "fastsession.session_id"

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        scope["session"]["views"] = 1
        scope[key] = None
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def wsgi(environ: Any, start_response: Any) -> Any:
        environ["fastsession.session"]["views"] = 1
        environ[key] = 42
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b""]

    client.handler = asgi if kind == "asgi" else wsgi
    resp = client.request()
    assert resp.set_cookie == [] and store.ops == []


# -- reading the cookie (section 3.6): bad input never fails a request ---------------------


def _good_cookie(kind: str) -> tuple[Client, RecordingStore, str]:
    client, store = make(kind, cookie={"max_age": 60})
    client.action = "views"
    jar = client.request().session_cookie()
    assert jar is not None
    return client, store, jar


HOSTILE = [
    "",
    ";;;;;=====",
    "connect.sid",
    "connect.sid=",
    "connect.sid=s:",
    "connect.sid=s%3A",
    'connect.sid="s:"',
    "connect.sid=%",
    "connect.sid=%ZZ%FF%C3%28",
    "connect.sid=s%3A%E0%A4%A",
    'connect.sid="unterminated',
    "connect.sid=s:\x00\x01\x7f.sig",
    "connect.sid=s:é𝒳.ü",
    "\xff\xfe\xfd=\xff",
    "connect.sid=" + "A" * 65536,
    "; ".join(f"c{i}=v{i}" for i in range(1000)),
    "; ".join("connect.sid=s%3Abogus.bogus" for _ in range(1000)),
    "x=" + "%" * 20000,
]


@pytest.mark.parametrize("header", HOSTILE, ids=[f"hostile{i}" for i in range(len(HOSTILE))])
def test_hostile_cookie_headers_give_a_fresh_session(kind: str, header: str) -> None:
    client, store, _ = _good_cookie(kind)
    store.ops.clear()
    client.action = "views"
    resp = client.request(headers={"Cookie": header})
    assert resp.status == 200
    body = json.loads(resp.body)
    assert body["session"]["views"] == 1  # a new session, nobody else's
    assert [op for op, _ in store.ops] == ["set"]


def _forgeries(jar: str) -> list[str]:
    name, value = jar.split("=", 1)
    sid_part, sig = value.rsplit(".", 1)
    other_secret = fastsession.signing.sign("anything", "another secret")
    return [
        f"{name}={sid_part}.{sig[:-1]}",  # truncated
        f"{name}={sid_part}.{sig}A",  # extended
        f"{name}={sid_part}.{sig[:-1]}{'B' if sig[-1] != 'B' else 'C'}",  # flipped
        f"{name}={sid_part}",  # no signature
        f"{name}={sid_part}.{sig}%3D",  # padding re-added
        f"{name}={sid_part}x.{sig}",  # id changed
        f"{name}={value.replace('s%3A', '', 1)}",  # unsigned form
        f"{name}=s%3A{other_secret}",  # wrong secret
        f"{name}={value.replace('%2B', '-').replace('%2F', '_')}",  # base64url alphabet
    ]


def test_forged_signatures_never_reach_the_session(kind: str) -> None:
    client, store, jar = _good_cookie(kind)
    for forged in _forgeries(jar):
        if forged == jar:
            continue
        store.ops.clear()
        client.action = "noop"
        resp = client.request(headers={"Cookie": forged})
        body = json.loads(resp.body)
        assert "views" not in body["session"], forged
        assert ("get", body["sessionID"]) not in store.ops


def test_cookie_values_with_quotes_and_percent(kind: str) -> None:
    client, store, jar = _good_cookie(kind)
    name, value = jar.split("=", 1)
    client.action = "views"
    # Quoted and raw ("s:...+...") forms of the same signed value both verify.
    for variant in (f'{name}="{value}"', f"{name}={unquote(value)}"):
        resp = client.request(headers={"Cookie": f'a=%; b="x; {variant}; c=%E0'})
        assert json.loads(resp.body)["session"]["views"] >= 2


def test_first_cookie_with_the_name_wins(kind: str) -> None:
    client, store, jar = _good_cookie(kind)
    client.action = "noop"
    resp = client.request(headers={"Cookie": f"connect.sid=s%3Abogus.bogus; {jar}"})
    assert "views" not in json.loads(resp.body)["session"]
    resp = client.request(headers={"Cookie": f"{jar}; connect.sid=s%3Abogus.bogus"})
    assert json.loads(resp.body)["session"]["views"] == 1


def test_secret_rotation(kind: str) -> None:
    store = RecordingStore()
    old, _ = make(kind, store=store, secret="old-" + SECRET)
    old.action = "views"
    jar = old.request().session_cookie()
    assert jar is not None
    new, _ = make(kind, store=store, secret=["new-" + SECRET, "old-" + SECRET], rolling=True)
    new.action = "views"
    resp = new.request(headers={"Cookie": jar})
    assert json.loads(resp.body)["session"]["views"] == 2
    rotated = resp.session_cookie()
    assert rotated is not None and rotated != jar  # re-signed with the new secret
    only_new, _ = make(kind, store=store, secret="new-" + SECRET)
    only_new.action = "views"
    assert json.loads(only_new.request(headers={"Cookie": rotated}).body)["session"]["views"] == 3
    assert json.loads(only_new.request(headers={"Cookie": jar}).body)["session"]["views"] == 1


# -- session objects (sections 10-11) --------------------------------------------------------


def test_default_genid_is_192_bits_base64url(kind: str) -> None:
    import re

    client, _ = make(kind)
    client.action = "views"
    ids = set()
    for _ in range(50):
        sid = json.loads(client.request().body)["sessionID"]
        assert re.fullmatch(r"[A-Za-z0-9_-]{32}", sid)
        ids.add(sid)
    assert len(ids) == 50


def test_cookie_api_in_seconds(kind: str, frozen: dict[str, float]) -> None:
    seen: dict[str, Any] = {}
    client, _ = make(kind, cookie={"max_age": 60})

    def inspect(session: Any) -> None:
        c = session.cookie
        seen.update(
            max_age=c.max_age,
            original=c.original_max_age,
            expires=c.expires,
            path=c.path,
            http_only=c.http_only,
            secure=c.secure,
            id=session.id,
        )
        frozen["t"] += 10
        seen["later"] = c.max_age
        c.max_age = 120
        seen["after_set"] = (c.max_age, c.original_max_age)
        session["x"] = 1

    _run(client, kind, inspect)
    from datetime import UTC, datetime

    assert seen["max_age"] == 60 and seen["original"] == 60
    assert seen["expires"] == datetime(2030, 1, 1, 0, 1, tzinfo=UTC)
    assert seen["later"] == 50
    assert seen["after_set"] == (120, 120)
    assert seen["path"] == "/" and seen["http_only"] is True and seen["secure"] is False
    with pytest.raises(AttributeError):
        fastsession.Session("x").id = "y"  # type: ignore[misc]


def _run(client: Client, kind: str, fn: Any, headers: dict[str, str] | None = None) -> Any:
    """Run fn(session) inside a request (awaiting it for ASGI if it is a coroutine)."""

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        result = fn(scope.get("session"))
        if asyncio.iscoroutine(result):
            await result
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    def wsgi(environ: Any, start_response: Any) -> Any:
        fn(environ.get("fastsession.session"))
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]

    client.handler = asgi if kind == "asgi" else wsgi
    try:
        return client.request(headers=headers)
    finally:
        client.handler = None


def test_save_of_a_session_gone_from_the_store_raises_and_sets_no_cookie(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    client, store, jar = _good_cookie(kind)
    sid = _sid_of(jar)
    seen: dict[str, Any] = {}

    async def asave(session: Any) -> None:
        try:
            await session.save()
        except SessionNotFoundError as exc:
            seen["error"] = exc

    def save(session: Any) -> None:
        session["late"] = True
        store.destroy(sid)  # another request logged out meanwhile
        if kind == "asgi":
            return asave(session)  # type: ignore[return-value]
        try:
            session.save()
        except SessionNotFoundError as exc:
            seen["error"] = exc
        return None

    store.ops.clear()
    with caplog.at_level(logging.WARNING, logger="fastsession"):
        resp = _run(client, kind, save, {"Cookie": jar})
    assert sid in str(seen["error"])
    assert resp.status == 200 and resp.set_cookie == []
    assert store.get(sid) is None
    # The explicit save and the end of the request both found it gone: nothing written.
    assert [op for op, _ in store.ops] == ["get", "destroy", "replace", "replace", "get"]
    assert any(sid in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


def test_a_store_without_replace_is_refused(kind: str) -> None:
    class NoReplace:
        blocking = False

        def get(self, sid: str) -> Any:
            return None

        def set(self, sid: str, session: Any) -> None:
            pass

        def destroy(self, sid: str) -> None:
            pass

    with pytest.raises(TypeError, match="replace"):
        make(kind, store=NoReplace())


def test_regenerate_keeps_the_object_and_destroys_the_old_id(kind: str) -> None:
    client, store, jar = _good_cookie(kind)
    seen: dict[str, Any] = {}

    def regen(session: Any) -> Any:
        seen["before"] = (id(session), session.id, dict(session))

        async def a() -> None:
            await session.regenerate()
            seen["after"] = (id(session), session.id, dict(session))

        if kind == "asgi":
            return a()
        session.regenerate()
        seen["after"] = (id(session), session.id, dict(session))
        return None

    store.ops.clear()
    resp = _run(client, kind, regen, {"Cookie": jar})
    assert seen["before"][0] == seen["after"][0]
    assert seen["before"][1] != seen["after"][1]
    assert seen["before"][2] == {"views": 1} and seen["after"][2] == {}
    assert ("destroy", seen["before"][1]) in store.ops
    assert store.get(seen["before"][1]) is None
    assert resp.session_cookie() is not None and seen["after"][1] in resp.session_cookie()


def test_reload_of_a_missing_session_raises(kind: str) -> None:
    client, store, jar = _good_cookie(kind)
    errors: list[BaseException] = []

    def gone(session: Any) -> Any:
        store.destroy(session.id)

        async def a() -> None:
            try:
                await session.reload()
            except SessionError as exc:
                errors.append(exc)

        if kind == "asgi":
            return a()
        try:
            session.reload()
        except SessionError as exc:
            errors.append(exc)
        return None

    _run(client, kind, gone, {"Cookie": jar})
    assert len(errors) == 1 and isinstance(errors[0], SessionNotFoundError)


def test_the_cookie_key_is_reserved(kind: str) -> None:
    client, store = make(kind)

    def bad(session: Any) -> None:
        session["cookie"] = "mine"

    resp = _run(client, kind, bad)
    assert resp.status == 500 and "reserved" in resp.body
    assert store.raw_items() == []


def test_unstorable_data_names_the_key_and_keeps_the_old_record(kind: str) -> None:
    client, store, jar = _good_cookie(kind)
    before = dict(store.raw_items())

    def bad(session: Any) -> None:
        session["views"] = 2
        session["when"] = object()

    resp = _run(client, kind, bad, {"Cookie": jar})
    assert resp.status == 500
    assert isinstance(resp.error, SerializationError) and "'when'" in str(resp.error)
    assert dict(store.raw_items()) == before


def test_session_objects_are_not_pickled() -> None:
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(fastsession.Session("sid"))


def test_to_record_and_to_json_match(frozen: Any) -> None:
    s = fastsession.Session("sid", fastsession.Cookie())
    s["user"] = {"name": "ünï", "roles": ["a"]}
    assert s.to_json() == (
        b'{"cookie":{"originalMaxAge":null,"expires":null,"httpOnly":true,"path":"/"},'
        b'"user":{"name":"\xc3\xbcn\xc3\xaf","roles":["a"]}}'
    )
    assert s.to_record() == json.loads(s.to_json())


def test_nested_changes_count_as_modifications(kind: str, frozen: Any) -> None:
    client, store = make(kind, cookie={"max_age": 60})

    def first(session: Any) -> None:
        session["user"] = {"cart": [1]}

    jar = _run(client, kind, first).session_cookie()
    store.ops.clear()

    def nested(session: Any) -> None:
        session["user"]["cart"].append(2)

    resp = _run(client, kind, nested, {"Cookie": jar})
    assert [op for op, _ in store.ops] == ["get", "replace"] and resp.set_cookie
    store.ops.clear()

    def nested_cookie_key(session: Any) -> None:
        session["user"]["cookie"] = "counted"  # only the top-level "cookie" is not data

    _run(client, kind, nested_cookie_key, {"Cookie": jar})
    assert [op for op, _ in store.ops] == ["get", "replace"]
    assert store.get(_sid_of(jar))["user"]["cookie"] == "counted"


def _sid_of(jar: str) -> str:
    return unquote(jar.split("=", 1)[1])[2:].rsplit(".", 1)[0]


# -- store faults are errors ------------------------------------------------------------------


class FailingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.fail: set[str] = set()

    def get(self, sid: str) -> Any:
        if "get" in self.fail:
            raise ConnectionError("store down")
        return super().get(sid)

    def set(self, sid: str, session: Any) -> None:
        if "set" in self.fail:
            raise ConnectionError("store down")
        super().set(sid, session)

    def replace(self, sid: str, session: Any) -> bool:
        if "replace" in self.fail:
            raise ConnectionError("store down")
        return super().replace(sid, session)

    def touch(self, sid: str, session: Any) -> bool:
        if "touch" in self.fail:
            raise ConnectionError("store down")
        return super().touch(sid, session)


@pytest.mark.parametrize("op", ["get", "replace", "touch"])
def test_store_faults_are_errors_not_logouts(
    kind: str, op: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = FailingStore()
    client, _ = make(kind, store=store, cookie={"max_age": 60})
    client.action = "views"
    jar = client.request().session_cookie()
    store.fail.add(op)
    client.action = "views" if op != "touch" else "noop"
    with caplog.at_level(logging.ERROR, logger="fastsession"):
        resp = client.request(headers={"Cookie": jar})
    assert resp.status == 500 and resp.set_cookie == []
    assert any("store down" in r.getMessage() for r in caplog.records)
    store.fail.clear()
    client.action = "noop"
    body = json.loads(client.request(headers={"Cookie": jar}).body)
    assert body["session"]["views"] == 1  # nothing lost, nothing half-written


# -- paths, pass-through, logging ----------------------------------------------------------------


def test_path_prefix_is_a_plain_string_test(kind: str) -> None:
    client, store = make(kind, cookie={"path": "/app"})
    client.action = "views"
    for path, has_session in [
        ("/", False),
        ("/app", True),
        ("/application", True),
        ("/App/x", False),
        ("/app/x?y=1", True),
    ]:
        body = json.loads(client.request(path).body)
        assert (body["session"] is not None) is has_session, path


def test_asgi_root_path_and_wsgi_script_name_count() -> None:
    seen: list[Any] = []

    def app(environ: Any, start_response: Any) -> Any:
        seen.append(environ.get("fastsession.session"))
        start_response("200 OK", [])
        return [b""]

    mw = WSGISessionMiddleware(app, secret=SECRET, cookie={"path": "/mount"})
    import io

    env = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "/mount",
        "PATH_INFO": "/x",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
    }
    list(mw(env, lambda *a: None))
    assert seen[-1] is not None


def test_a_request_that_already_has_a_session_passes_through(kind: str) -> None:
    inner, inner_store = make(kind, save_uninitialized=True)
    outer_store = RecordingStore()
    if kind == "asgi":
        app: Any = SessionMiddleware(
            inner.app, secret=SECRET, store=outer_store, name="outer.sid", save_uninitialized=True
        )
    else:
        app = WSGISessionMiddleware(
            inner.app, secret=SECRET, store=outer_store, name="outer.sid", save_uninitialized=True
        )
    inner.app = app
    resp = inner.request()
    assert [c.split("=")[0] for c in resp.set_cookie] == ["outer.sid"]
    assert inner_store.ops == []


def test_debug_log_lines(kind: str, caplog: pytest.LogCaptureFixture) -> None:
    client, _ = make(kind)
    client.action = "views"
    with caplog.at_level(logging.DEBUG, logger="fastsession"):
        client.request()
    messages = [r.getMessage() for r in caplog.records if r.name == "fastsession"]
    assert any("saving session" in m for m in messages)
    assert any("set-cookie" in m for m in messages)


@pytest.mark.parametrize(
    ("own", "root", "expected"),
    [
        (logging.NOTSET, logging.DEBUG, True),  # the root's level decides
        (logging.NOTSET, logging.WARNING, False),
        (logging.INFO, logging.DEBUG, False),  # the logger's own level first
        (logging.DEBUG, logging.WARNING, True),
    ],
)
def test_debug_lines_follow_the_effective_level(
    kind: str, own: int, root: int, expected: bool, caplog: pytest.LogCaptureFixture
) -> None:
    # The compiled kernel answers "not enabled" without calling isEnabledFor;
    # both twins must agree with logging's own rule (Logger.getEffectiveLevel).
    client, _ = make(kind)
    client.action = "views"
    logger, root_logger = logging.getLogger("fastsession"), logging.getLogger()
    saved = logger.level, root_logger.level
    logger.addHandler(caplog.handler)
    try:
        logger.setLevel(own)
        root_logger.setLevel(root)
        client.request()
    finally:
        logger.removeHandler(caplog.handler)
        logger.setLevel(saved[0])
        root_logger.setLevel(saved[1])
    messages = [r.getMessage() for r in caplog.records if r.name == "fastsession"]
    assert any("saving session" in m for m in messages) is expected


def test_cookie_factory_called_per_new_session_with_the_request(kind: str) -> None:
    calls: list[Any] = []

    def factory(conn: Any) -> dict[str, Any]:
        calls.append(conn)
        return {"max_age": 30, "same_site": "auto", "secure": "auto"}

    client, _ = make(kind, cookie=factory)
    client.action = "views"
    line = client.request(scheme="https").set_cookie[0]
    assert "Secure" in line and "SameSite=None" in line and calls
    line = client.request().set_cookie[0]
    assert "Secure" not in line and "SameSite=Lax" in line


def test_existing_set_cookie_headers_are_kept(kind: str) -> None:
    client, _ = make(kind)
    client.action = "other-cookie"
    resp = client.request()
    assert resp.set_cookie[0] == "other=1; Path=/" and resp.set_cookie[1].startswith("connect.sid=")


def test_asgi_scope_names_for_starlette() -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def home(request: Request) -> JSONResponse:
        request.session["n"] = request.session.get("n", 0) + 1
        return JSONResponse({"n": request.session["n"], "sid": request.scope["session_id"]})

    app = Starlette(routes=[Route("/", home)])
    app.add_middleware(SessionMiddleware, secret=SECRET)

    async def run() -> tuple[Any, Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return (await client.get("/")).json(), (await client.get("/")).json()

    first, second = asyncio.run(run())
    assert (first["n"], second["n"]) == (1, 2) and first["sid"] == second["sid"]


def test_websocket_scopes_get_a_session() -> None:
    store = RecordingStore()
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        scope["session"]["ws"] = True
        await send({"type": "websocket.accept"})
        scope["session"]["messages"] = 1  # changed during the connection
        await send({"type": "websocket.close", "code": 1000})

    mw = SessionMiddleware(app, secret=SECRET, store=store)

    async def receive() -> Any:
        return {"type": "websocket.connect"}

    async def send(message: Any) -> None:
        seen.append(message)

    scope = {"type": "websocket", "path": "/ws", "scheme": "ws", "headers": [], "query_string": b""}
    asyncio.run(mw(scope, receive, send))
    accept = seen[0]
    assert accept["type"] == "websocket.accept"
    assert [k for k, _ in accept["headers"]] == [b"set-cookie"]
    assert [op for op, _ in store.ops] == ["set", "set"]
    ((sid, raw),) = store.raw_items()
    assert json.loads(raw)["messages"] == 1 and json.loads(raw)["ws"] is True


def test_lifespan_and_other_scopes_pass_through() -> None:
    calls: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        calls.append(scope["type"])
        assert "session" not in scope

    mw = SessionMiddleware(app, secret=SECRET)
    asyncio.run(mw({"type": "lifespan"}, None, None))  # type: ignore[arg-type]
    assert calls == ["lifespan"]


def test_a_finished_request_leaves_nothing_for_the_cyclic_gc() -> None:
    """scope → session → state → scope is cut when the request ends."""
    import gc
    import io

    async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
        scope["session"]["v"] = 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    def wsgi_app(environ: Any, start_response: Any) -> Any:
        environ["fastsession.session"]["v"] = 1
        start_response("200 OK", [])
        yield b"ok"

    asgi = SessionMiddleware(asgi_app, secret=SECRET)
    wsgi = WSGISessionMiddleware(wsgi_app, secret=SECRET)

    async def send(message: Any) -> None:
        pass

    async def run() -> int:
        gc.collect()
        for _ in range(50):
            scope = {"type": "http", "path": "/", "scheme": "http", "headers": []}
            await asgi(scope, None, send)  # type: ignore[arg-type]
        return gc.collect()

    gc.disable()
    try:
        assert asyncio.run(run()) == 0
        gc.collect()  # whatever asyncio.run itself leaves
        for _ in range(50):
            env = {
                "PATH_INFO": "/",
                "SCRIPT_NAME": "",
                "wsgi.url_scheme": "http",
                "wsgi.input": io.BytesIO(),
            }
            body = wsgi(env, lambda *a: None)
            list(body)
            body.close()  # type: ignore[attr-defined]
        assert gc.collect() == 0
    finally:
        gc.enable()
