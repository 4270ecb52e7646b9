"""Every flow in express_session_flows.json, replayed through both middlewares.

Same options (translated to Python), same genid counter, same clock: the same
Set-Cookie lines, the same store calls, the same store contents after each
step, and the same session the handler saw. Where fastsession deliberately
differs from express-session 1.19, the step says so and asserts our behaviour.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from conftest import load_vector
from harness import Client, RecordingStore

import fastsession._clock

ALL_FLOWS = load_vector("express_session_flows.json")

# Python stores emit no connect/disconnect events: a store that cannot serve
# raises instead of letting requests through without a session (a silent
# logout). test_no_store_readiness_switch below asserts that instead.
READINESS_FLOW = "store disconnect/connect events"
FLOWS = [f for f in ALL_FLOWS if f["name"] != READINESS_FLOW]


def _factory_for(flow_name: str) -> Any:
    def path_of(conn: dict[str, Any]) -> str:
        return conn.get("path") or conn.get("PATH_INFO") or "/"

    if "secure:auto" in flow_name:
        return lambda conn: {"secure": "auto", "max_age": 60}
    if "sameSite:auto" in flow_name:
        return lambda conn: {"same_site": "auto", "max_age": 60}
    if "per-request path" in flow_name:

        def per_tenant(conn: dict[str, Any]) -> dict[str, Any]:
            segment = path_of(conn).split("/")[1]
            return {"path": "/" + segment if segment else "/", "max_age": 60}

        return per_tenant
    raise AssertionError(flow_name)


def translate(flow_name: str, opts: dict[str, Any]) -> dict[str, Any]:
    """express-session options → fastsession keyword arguments."""
    out: dict[str, Any] = {}
    for key, value in opts.items():
        if key in ("secret", "resave", "rolling", "unset", "proxy"):
            out[key] = value
        elif key == "saveUninitialized":
            out["save_uninitialized"] = value
        elif key in ("name", "key"):  # `key` is express's legacy alias of `name`
            out["name"] = value
        elif key == "cookie":
            if isinstance(value, str):
                out["cookie"] = _factory_for(flow_name)
            else:
                cookie = {}
                for ck, cv in value.items():
                    if ck == "maxAge":
                        cookie["max_age"] = cv / 1000
                    else:
                        cookie[{"sameSite": "same_site", "httpOnly": "http_only"}.get(ck, ck)] = cv
                out["cookie"] = cookie
        else:
            raise AssertionError(f"untranslated option {key}")
    return out


def _expected(
    flow: dict[str, Any], step: dict[str, Any], created: dict[str, bool], live: set[str]
) -> dict[str, Any]:
    """What the step must show; our deliberate differences are applied here."""
    exp = {
        "status": step["status"],
        "set_cookie": step["set_cookie"] or [],
        "ops": _writes_of_loaded_sessions_replace(step["store_ops"], live),
        "store": {k: json.loads(v) for k, v in step["store_after"].items()},
        "body": step["body"],
    }
    name = flow["name"]
    xfp = step["request"]["headers"].get("X-Forwarded-Proto")
    if "secure:auto" in name and xfp == "http":
        # "auto" is resolved for callable options too: over http the cookie
        # is not Secure, so it is sent (express leaves "auto", a truthy string).
        exp["set_cookie"] = "unsecured-session-cookie"
    if "sameSite:auto" in name:
        # Resolved to "none" over https instead of failing to serialize.
        exp["set_cookie"] = "samesite-none-session-cookie"
    if "secure:auto" in name or "sameSite:auto" in name:
        # The same "auto", resolved when each session was made.
        body = json.loads(exp["body"])
        records = [*exp["store"].items(), (body["sessionID"], body["session"])]
        for sid, record in records:
            cookie = record["cookie"]
            created_secure = created.setdefault(sid, xfp == "https")
            if cookie.get("secure") == "auto":
                cookie["secure"] = created_secure
            if cookie.get("sameSite") == "auto":
                cookie["sameSite"] = "none" if created_secure else "lax"
        exp["body"] = json.dumps(body)
    if name.startswith("proxy=false") and flow["apps"][step["app"]]["express_trust_proxy"]:
        # proxy=False means "the scheme the server reports", like None: a
        # server that trusts its proxy reports https, so the cookie is sent.
        exp["set_cookie"] = "secure-session-cookie"
    return exp


def _writes_of_loaded_sessions_replace(
    store_ops: list[dict[str, str]], live: set[str]
) -> list[tuple[str, str]]:
    """express's store calls, with the save of a session the request loaded (it
    was live, read, and not destroyed since) made with ``replace``, not ``set``:
    a session destroyed meanwhile by another request is not written back."""
    ops: list[tuple[str, str]] = []
    for o in store_ops:
        op, sid = o["op"], o["sid"]
        if op == "set" and sid in live and ("get", sid) in ops and ("destroy", sid) not in ops:
            op = "replace"
        ops.append((op, sid))
    return ops


def _ids(flows: list[dict[str, Any]]) -> list[str]:
    return [f["name"] for f in flows]


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
@pytest.mark.parametrize("flow", FLOWS, ids=_ids(FLOWS))
def test_flow(flow: dict[str, Any], kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    now = {"ms": flow["steps"][0]["now_ms"]}
    monkeypatch.setattr(fastsession._clock, "now", lambda: now["ms"] / 1000)
    counter = itertools.count(1)

    def genid(_: Any) -> str:
        return f"sid-{next(counter)}"

    shared = RecordingStore()
    clients, stores = [], []
    for app in flow["apps"]:
        store = shared if flow["shared_store"] else RecordingStore()
        options = translate(flow["name"], app["session_options"])
        with pytest.warns(UserWarning, match="shorter than 32 bytes"):
            clients.append(Client(kind, store=store, genid=genid, **options))
        stores.append(store)

    created: dict[str, bool] = {}  # session id -> created over https
    for i, step in enumerate(flow["steps"]):
        now["ms"] = step["now_ms"]
        client, store = clients[step["app"]], stores[step["app"]]
        store.ops.clear()
        live = {sid for sid, _ in store.raw_items()}  # the sessions a get would find
        if step["pre"] == 'store.get fails with Error("boom")':
            store.fail_get = RuntimeError("boom")
        elif step["pre"] == "store.get fails with ENOENT":
            store.fail_get = FileNotFoundError(2, "ENOENT")
        else:
            assert step["pre"] is None, step["pre"]
        client.action = step["action"]
        headers = dict(step["request"]["headers"])
        scheme = "http"
        if flow["apps"][step["app"]]["express_trust_proxy"]:
            # A server that trusts its proxy reports the forwarded scheme
            # (uvicorn --proxy-headers, werkzeug ProxyFix), as Express's req.secure.
            if headers.get("X-Forwarded-Proto", "").split(",")[0].strip() == "https":
                scheme = "https"
        resp = client.request(step["request"]["path"], headers, scheme=scheme)
        exp = _expected(flow, step, created, live)
        where = f"step {i} ({step['action']})"

        assert resp.status == exp["status"], where
        if exp["set_cookie"] == "unsecured-session-cookie":
            assert len(resp.set_cookie) == 1 and "Secure" not in resp.set_cookie[0], where
        elif exp["set_cookie"] == "secure-session-cookie":
            assert len(resp.set_cookie) == 1 and "Secure" in resp.set_cookie[0], where
        elif exp["set_cookie"] == "samesite-none-session-cookie":
            assert len(resp.set_cookie) == 1 and "SameSite=None" in resp.set_cookie[0], where
        else:
            assert resp.set_cookie == exp["set_cookie"], where
        assert store.ops == exp["ops"], where
        held = {sid: json.loads(raw) for sid, raw in store.raw_items()}
        assert held == exp["store"], where
        if exp["body"].startswith("ERR:"):
            assert resp.body == exp["body"] or "boom" in resp.body, where
        elif step["action"] == "write-then-views":
            assert resp.body.startswith("early;"), where
            expected_body = exp["body"][len("early;") :]
            assert json.loads(resp.body[len("early;") :]) == json.loads(expected_body), where
        else:
            assert json.loads(resp.body) == json.loads(exp["body"]), where


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_no_store_readiness_switch(kind: str) -> None:
    """Where express skips sessions after a store 'disconnect' event, the
    session is always there, and a store that fails says so (see test_middleware)."""
    (flow,) = [f for f in ALL_FLOWS if f["name"] == READINESS_FLOW]
    store = RecordingStore()
    with pytest.warns(UserWarning):
        client = Client(
            kind, store=store, **translate(flow["name"], flow["apps"][0]["session_options"])
        )
    client.action = "noop"
    body = json.loads(client.request().body)
    assert body["session"] is not None and store.ops == []
    client.action = "views"
    resp = client.request()
    assert resp.session_cookie() is not None and [op for op, _ in store.ops] == ["set"]
