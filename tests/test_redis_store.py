"""RedisStore and AsyncRedisStore against a real redis-server: connect-redis 9
vectors (the exact commands, read from MONITOR, and the resulting keys, values
and TTLs), options, corrupt records, listing, the documented ACL."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from conftest import load_vector
from redis_server import CommandLog, RedisServer, redis_db, redis_server
from redis_support import StandInSession, SyncFacade, session_with

import fastsession._clock
from fastsession.errors import CorruptSessionError
from fastsession.stores.redis import AsyncRedisStore, RedisStore

pytestmark = pytest.mark.redis
__all__ = ["redis_db", "redis_server"]  # the helper's fixtures, used here

UNIT_CASES = load_vector("connect_redis.json")["unit_cases"]


StoreFactory = Callable[..., Any]


@pytest.fixture(params=["sync", "async"])
def make_store(request: pytest.FixtureRequest, redis_db: RedisServer) -> Iterator[StoreFactory]:
    """``make_store(**options)`` → a store on the test server, both faces."""
    made: list[Any] = []

    def make(client_options: dict[str, Any] | None = None, **options: Any) -> Any:
        client_options = client_options or {}
        if request.param == "sync":
            store: Any = RedisStore(redis_db.client(**client_options), **options)
        else:
            store = SyncFacade(AsyncRedisStore(redis_db.async_client(**client_options), **options))
        made.append(store)
        return store

    yield make
    for store in made:
        if isinstance(store, SyncFacade):
            store.close()
        else:
            store.client.close()


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    def freeze(now_ms: int) -> None:
        monkeypatch.setattr(fastsession._clock, "now", lambda: now_ms / 1000)

    return freeze


# ---------------------------------------------------------------- vectors

_TTL_FUNCTIONS: dict[str, Callable[[Any], int]] = {
    "(sess) => (sess.views ? 10 : 20)": lambda s: 10 if s.to_record().get("views") else 20,
    "() => 0": lambda s: 0,
}

# Set cases that end in DEL carry no JSON in the vector: the expiry they describe.
_DELETED_SET_EXPIRES_S = {
    "set with cookie.expires == now (ttl 0 -> DEL)": 0,
    "set with cookie.expires in the past (-> DEL)": -60,
    "ttl function returning 0 -> DEL": 60,
    "disableTTL still deletes when expires already passed": -60,
}
_TOUCH_EXPIRES_S: dict[str, int | None] = {
    "touch with expires 90 s ahead -> EXPIRE 90": 90,
    "touch with no expires -> EXPIRE 86400": None,
    "touch with expires in past -> EXPIRE negative": -60,
    "touch with disableTouch -> no command": 90,
    "touch with disableTTL -> no command": 90,
}


def python_options(store_options: dict[str, Any]) -> dict[str, Any]:
    names = {"prefix": "prefix", "ttl": "ttl", "disableTTL": "disable_ttl",
             "disableTouch": "disable_touch", "scanCount": "scan_count"}  # fmt: skip
    out = {names[k]: v for k, v in store_options.items()}
    if isinstance(out.get("ttl"), str):
        out["ttl"] = _TTL_FUNCTIONS[out["ttl"]]
    return out


def expected_commands(case: dict[str, Any]) -> list[list[str]]:
    out = []
    for call in case["redis_calls"]:
        args = [call["cmd"], *(str(a) for a in call["args"])]
        if "options" in call:
            expiration = call["options"]["expiration"]
            args += [expiration["type"], str(expiration["value"])]
        out.append(args)
    return out


def at(case: dict[str, Any], seconds: float | None) -> datetime | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(case["now_ms"] / 1000, UTC) + timedelta(seconds=seconds)


def _case_id(case: dict[str, Any]) -> str:
    return str(case["description"])


@pytest.mark.parametrize("case", UNIT_CASES, ids=_case_id)
def test_connect_redis_vector(
    case: dict[str, Any],
    make_store: StoreFactory,
    redis_db: RedisServer,
    frozen: Callable[[int], None],
) -> None:
    frozen(case["now_ms"])
    store = make_store(**python_options(case["store_options"]))
    assert store.prefix == case["resolved"]["prefix"]
    admin = redis_db.admin()
    description: str = case["description"]
    calls = case["redis_calls"]
    key = calls[0]["args"][0] if calls else store.prefix + "sid-1"
    log = CommandLog(redis_db)
    try:
        if description.startswith("ids/"):
            _listing_case(case, store, log)
            return
        # What the key holds before the call, so that DEL and EXPIRE have an effect to show.
        if not description.startswith("get"):
            admin.set(key, "{}", ex=1_000_000)
        log.take()

        if description.startswith("touch"):
            store.touch("sid-1", session_with("sid-1", at(case, _TOUCH_EXPIRES_S[description])))
        elif description.startswith("get"):
            for call in calls[:-1]:
                store.set("sid-1", StandInSession("sid-1", call["args"][1]))
            assert store.get(calls[-1]["args"][0].removeprefix(store.prefix)) == case["result"]
        elif description.startswith("destroy"):
            store.destroy("sid-1")
        elif calls[0]["cmd"] == "SET":
            store.set("sid-1", StandInSession("sid-1", calls[0]["args"][1]))
        else:
            expires = at(case, _DELETED_SET_EXPIRES_S[description])
            store.set("sid-1", session_with("sid-1", expires))
        assert log.take() == expected_commands(case)
        _check_key(case, admin, key)
    finally:
        log.close()
        admin.close()


def _check_key(case: dict[str, Any], admin: redis.Redis, key: str) -> None:
    """The key's value and TTL after the calls, read back from the server."""
    last = case["redis_calls"][-1] if case["redis_calls"] else None
    pttl = admin.pttl(key)
    if last is None:
        assert pttl > 900_000_000  # untouched
    elif last["cmd"] == "DEL" or (last["cmd"] == "EXPIRE" and last["args"][1] <= 0):
        assert pttl == -2  # gone: Redis deletes a key given a TTL <= 0
    elif last["cmd"] == "EXPIRE":
        assert 0 < pttl <= last["args"][1] * 1000
        assert admin.get(key) == b"{}"  # touch does not rewrite the value
    elif last["cmd"] == "GET" and len(case["redis_calls"]) == 1:
        assert pttl == -2  # a miss creates nothing
    else:
        sets = [c for c in case["redis_calls"] if c["cmd"] == "SET"]
        assert admin.get(key) == sets[-1]["args"][1].encode()
        if "options" in sets[-1]:
            assert 0 < pttl <= sets[-1]["options"]["expiration"]["value"] * 1000
        else:
            assert pttl == -1  # disable_ttl: no expiry at all


def _listing_case(case: dict[str, Any], store: Any, log: CommandLog) -> None:
    for call in case["redis_calls"]:
        if call["cmd"] == "SET":
            store.set(call["args"][0].removeprefix("sess:"), StandInSession("x", call["args"][1]))
    log.take()
    result = case["result"]
    assert sorted(store.ids()) == result["ids"]
    assert store.length() == result["len"]
    expected_all = {r["id"]: {k: v for k, v in r.items() if k != "id"} for r in result["all"]}
    assert store.all() == expected_all
    store.clear()
    assert store.length() == result["len_after_clear"]
    commands = log.take()
    scans = [c for c in commands if c[0] == "SCAN"]
    assert len(scans) >= 4 and all(c[2:] == ["MATCH", "sess:*", "COUNT", "100"] for c in scans)
    assert [sorted(c[1:]) for c in commands if c[0] in ("MGET", "DEL")] == [
        ["sess:a", "sess:b"],
        ["sess:a", "sess:b"],
    ]


# ---------------------------------------------------------------- behaviour


def test_round_trip_keeps_the_bytes_and_key_order(
    make_store: StoreFactory, redis_db: RedisServer
) -> None:
    store = make_store()
    cookie = '{"originalMaxAge":null,"expires":null,"httpOnly":true,"path":"/"}'
    text = '{"cookie":' + cookie + ',"z":1,"a":"é\\n"}'
    store.set("abc", StandInSession("abc", text))
    assert redis_db.admin().get("sess:abc") == text.encode()
    record = store.get("abc")
    assert list(record) == ["cookie", "z", "a"]
    assert record["a"] == "é\n"


def test_decode_responses_client(make_store: StoreFactory, redis_db: RedisServer) -> None:
    store = make_store({"decode_responses": True})
    store.set("s1", session_with("s1", None, n=1))
    store.set("s2", session_with("s2", None, n=2))
    assert store.get("s1")["n"] == 1
    assert sorted(store.ids()) == ["s1", "s2"]
    assert {k: v["n"] for k, v in store.all().items()} == {"s1": 1, "s2": 2}


def test_get_absent_and_empty_value_are_none(
    make_store: StoreFactory, redis_db: RedisServer
) -> None:
    store = make_store()
    assert store.get("missing") is None
    redis_db.admin().set("sess:empty", "")
    assert store.get("empty") is None  # connect-redis: `if (!data) return null`


@pytest.mark.parametrize(
    "stored",
    [b"not json", b'{"views":1}', b'{"cookie":null}', b'{"cookie":"x"}', b"[1,2]", b"\xff\xfe"],
)
def test_corrupt_record_is_an_error(
    stored: bytes, make_store: StoreFactory, redis_db: RedisServer
) -> None:
    store = make_store()
    redis_db.admin().set("sess:bad", stored)
    with pytest.raises(CorruptSessionError):
        store.get("bad")
    with pytest.raises(CorruptSessionError):
        store.all()


@pytest.mark.parametrize("serializer", [json, pickle], ids=["json", "pickle"])
def test_custom_serializer(
    serializer: Any, make_store: StoreFactory, redis_db: RedisServer
) -> None:
    store = make_store(serializer=serializer)
    session = session_with("s", None, views=3)
    store.set("s", session)
    raw = redis_db.admin().get("sess:s")
    assert serializer.loads(raw) == session.to_record()
    assert store.get("s") == session.to_record()
    assert store.all() == {"s": session.to_record()}


def test_disable_ttl_stores_without_expiry_and_never_touches(
    make_store: StoreFactory, redis_db: RedisServer
) -> None:
    store = make_store(disable_ttl=True)
    session = session_with("s", datetime.now(UTC) + timedelta(seconds=60))
    store.set("s", session)
    admin = redis_db.admin()
    assert admin.pttl("sess:s") == -1
    store.touch("s", session)
    assert admin.pttl("sess:s") == -1


def test_touch_resets_ttl_without_rewriting(
    make_store: StoreFactory, redis_db: RedisServer
) -> None:
    store = make_store(ttl=50)
    admin = redis_db.admin()
    store.set("s", session_with("s", None, v=1))
    admin.expire("sess:s", 5)
    store.touch("s", session_with("s", None, v=2))
    assert 5_000 < admin.pttl("sess:s") <= 50_000
    assert store.get("s")["v"] == 1


@pytest.mark.parametrize(
    ("ttl", "seconds"),
    [(3600, 3600), (1.2, 2), (timedelta(minutes=2), 120), (0, 86400), (None, 86400)],
)
def test_ttl_forms(ttl: Any, seconds: int, make_store: StoreFactory, redis_db: RedisServer) -> None:
    store = make_store(ttl=ttl)
    store.set("s", session_with("s", None))
    assert seconds * 1000 - 5000 < redis_db.admin().pttl("sess:s") <= seconds * 1000


def test_ttl_in_effect_and_timedelta_from_a_function(
    make_store: StoreFactory, redis_db: RedisServer
) -> None:
    assert make_store(ttl=0).ttl == 86400 and make_store(ttl=1.2).ttl == 2

    def ninety_seconds(session: Any) -> timedelta:
        return timedelta(seconds=89.5)

    store = make_store(ttl=ninety_seconds)
    assert store.ttl is ninety_seconds
    store.set("s", session_with("s", None))
    assert 85_000 < redis_db.admin().pttl("sess:s") <= 90_000


def test_ttl_function_wins_over_expiry(make_store: StoreFactory, redis_db: RedisServer) -> None:
    store = make_store(ttl=lambda session: 7.5)
    store.set("s", session_with("s", datetime.now(UTC) + timedelta(days=3)))
    assert 0 < redis_db.admin().pttl("sess:s") <= 8000


@pytest.mark.parametrize(
    ("options", "error", "names"),
    [
        ({"ttl": -1}, ValueError, "ttl"),
        ({"ttl": float("nan")}, ValueError, "ttl"),
        ({"ttl": "60"}, TypeError, "ttl"),
        ({"ttl": True}, TypeError, "ttl"),
        ({"prefix": 5}, TypeError, "prefix"),
        ({"scan_count": 0}, ValueError, "scan_count"),
        ({"scan_count": 2.5}, ValueError, "scan_count"),
        ({"serializer": object()}, TypeError, "serializer"),
    ],
)
def test_bad_options_name_themselves(
    options: dict[str, Any], error: type[Exception], names: str, redis_db: RedisServer
) -> None:
    for cls in (RedisStore, AsyncRedisStore):
        with pytest.raises(error, match=names):
            cls(redis_db.client(), **options)
    with pytest.raises(TypeError, match="client"):
        RedisStore(None)


def test_listing_pages_through_scan_and_clear_keeps_other_keys(
    make_store: StoreFactory, redis_db: RedisServer
) -> None:
    store = make_store(scan_count=7)
    admin = redis_db.admin()
    with admin.pipeline(transaction=False) as pipe:
        for i in range(1205):
            pipe.set(f"sess:{i}", f'{{"cookie":{{}},"i":{i}}}')
        pipe.set("other:1", "keep")
        pipe.set("sessX", "keep")
        pipe.execute()
    assert store.length() == 1205
    assert sorted(store.ids(), key=int) == [str(i) for i in range(1205)]
    records = store.all()
    assert len(records) == 1205 and records["42"] == {"cookie": {}, "i": 42}
    store.clear()
    assert store.length() == 0
    assert admin.get("other:1") == b"keep" and admin.get("sessX") == b"keep"


def test_prefix_with_glob_characters_is_matched_literally(
    make_store: StoreFactory, redis_db: RedisServer
) -> None:
    store = make_store(prefix="app[1]*?:")
    store.set("s", session_with("s", None))
    redis_db.admin().set("app1x?:t", "{}")  # would match the unescaped pattern
    assert store.ids() == ["s"]
    store.clear()
    assert redis_db.admin().exists("app1x?:t") == 1


def test_sessions_are_visible_to_the_other_face(redis_db: RedisServer) -> None:
    sync_store = RedisStore(redis_db.client())
    async_store = SyncFacade(AsyncRedisStore(redis_db.async_client()))
    try:
        sync_store.set("s", session_with("s", None, by="sync"))
        assert async_store.get("s")["by"] == "sync"
        async_store.destroy("s")
        assert sync_store.get("s") is None
    finally:
        async_store.close()
        sync_store.client.close()


def test_the_documented_acl_is_enough(redis_db: RedisServer) -> None:
    """docs/redis.md's ACL user can do everything the store does, and no more."""
    rule = "on >pw resetkeys ~sess:* -@all +get +set +del +expire +scan +mget +ping"
    with redis_db.admin() as admin:
        admin.execute_command("ACL", "SETUSER", "sessions", *rule.split())
    client = redis_db.client(username="sessions", password="pw", health_check_interval=1)
    try:
        store = RedisStore(client)
        session = session_with("s", None, n=1)
        store.set("s", session)
        store.touch("s", session)
        assert store.get("s") == session.to_record()
        assert store.all() == {"s": session.to_record()} and store.ids() == ["s"]
        store.destroy("s")
        store.clear()
        assert store.length() == 0
        with pytest.raises(redis.exceptions.NoPermissionError):
            client.get("other:key")
    finally:
        client.close()
        with redis_db.admin() as admin:
            admin.execute_command("ACL", "DELUSER", "sessions")
