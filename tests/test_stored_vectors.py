"""express_session_stored.json and the Cookie constructor vectors of
express_session_options.json: the same Set-Cookie and the same stored bytes."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from conftest import load_vector
from harness import Client, RecordingStore

import fastsession._clock
from fastsession import Cookie
from fastsession.options import normalize_cookie_options
from fastsession.record import datetime_to_ms, format_iso

STORED = load_vector("express_session_stored.json")
OPTIONS = load_vector("express_session_options.json")


def _cookie_options(raw: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "maxAge":
            out["max_age"] = value / 1000
        elif key == "expires":
            out["expires"] = datetime.fromisoformat(value)
        else:
            out[{"sameSite": "same_site", "httpOnly": "http_only"}.get(key, key)] = value
    return out


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
@pytest.mark.parametrize("case", STORED, ids=[c["name"] for c in STORED])
def test_stored_record(case: dict[str, Any], kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fastsession._clock, "now", lambda: case["now_ms"] / 1000)
    opts = dict(case["session_options"])
    kwargs: dict[str, Any] = {
        "secret": opts.pop("secret"),
        "resave": opts.pop("resave"),
        "save_uninitialized": opts.pop("saveUninitialized"),
        "genid": lambda _: "test-session-id",
    }
    opts.pop("genid")
    for key in ("proxy", "name"):
        if key in opts:
            kwargs[key] = opts.pop(key)
    cookie = _cookie_options(opts.pop("cookie", {}))
    assert not opts
    store = RecordingStore()
    if "foo" in cookie:
        # express keeps an unknown cookie option on the object and never
        # writes it; fastsession refuses it at construction, naming it.
        with pytest.raises(TypeError, match="'foo'"), pytest.warns(UserWarning):
            Client(kind, store=store, cookie=cookie, **kwargs)
        return
    if cookie.get("max_age") == 0:
        # express sends a cookie that is expired on arrival (a new session on
        # every request); fastsession refuses it at construction, naming it.
        with (
            pytest.raises(ValueError, match="'max_age' must be more than 0"),
            pytest.warns(UserWarning),
        ):
            Client(kind, store=store, cookie=cookie, **kwargs)
        return
    with pytest.warns(UserWarning):
        client = Client(kind, store=store, cookie=cookie, **kwargs)
    client.action = "views"
    resp = client.request(case["request"]["path"], case["request"]["headers"])
    assert resp.status == case["status"]
    assert resp.set_cookie == (case["set_cookie"] or [])
    assert [op for op, _ in store.ops] == case["store_ops"]
    expected = {"test-session-id": case["stored"].encode()}
    if json.loads(case["stored"])["cookie"]["expires"] == case["now_iso"]:
        # Expired the moment it was written: express's map still holds it
        # until read; MemoryStore holds it too but never shows it.
        expected = {}
        assert store.get("test-session-id") is None
    assert dict(store.raw_items()) == expected


def _js_cookie_options(raw: Any) -> Any:
    if not isinstance(raw, dict):
        return raw
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, str) and value.startswith("DATE:"):
            value = datetime.fromisoformat(value[5:])
        if key == "maxAge":
            if isinstance(value, datetime) or isinstance(value, bool) or isinstance(value, str):
                out["max_age"] = value
            else:
                out["max_age"] = value / 1000
        elif key in ("data", "originalMaxAge"):
            out[key] = value
        else:
            out[{"sameSite": "same_site", "httpOnly": "http_only"}.get(key, key)] = value
    return out


CASES = OPTIONS["cookie_constructor_cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["description"] for c in CASES])
def test_cookie_constructor(case: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fastsession._clock, "now", lambda: case["now_ms"] / 1000)
    opts = _js_cookie_options(case["options"])
    python_only = (
        # express-only forms: a Date as maxAge, maxAge false, the "data" and
        # "originalMaxAge" keys. In Python these are errors naming the key.
        isinstance(opts, dict)
        and (
            "data" in opts
            or "originalMaxAge" in opts
            or isinstance(opts.get("max_age"), (datetime, bool))
        )
    )
    if case["error"] is not None or python_only:
        with pytest.raises((TypeError, ValueError)):
            Cookie(normalize_cookie_options(opts))
        return
    cookie = Cookie(normalize_cookie_options(opts))
    assert cookie.to_json() == case["result"]["json"].encode()
    expected = json.loads(case["result"]["json"])
    if expected["originalMaxAge"] is None:
        assert cookie.original_max_age is None and cookie.max_age is None
    else:
        assert cookie.original_max_age == expected["originalMaxAge"] / 1000
        assert cookie.max_age == case["result"]["maxAge"] / 1000
        assert cookie.expires is not None
        assert format_iso(datetime_to_ms(cookie.expires)) == expected["expires"]
