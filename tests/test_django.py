"""fastsession.django through Django's own test clients (Client: the WSGI-style
handler; AsyncClient: the ASGI one): request.session as Django code uses it,
auth, messages, CSRF in the session, set_expiry and the test cookie, the
settings' defaults and their precedence."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client, RequestFactory, override_settings
from django_support import PASSWORD, migrate

from fastsession.django import (
    DjangoSession,
    SessionMiddleware,
    default_store,
    django_options,
    get_session,
)
from fastsession.signing import sign
from fastsession.stores.memory import MemoryStore

NAME = "sessionid"  # Django's SESSION_COOKIE_NAME: the default name here


@pytest.fixture(scope="module", autouse=True)
def database() -> None:
    migrate()


@pytest.fixture
def store() -> Iterator[MemoryStore]:
    store = MemoryStore()
    with override_settings(FASTSESSION={"store": store}):
        yield store


def sid_of(client: Client | AsyncClient) -> str:
    """The session id in the client's cookie (``s:<id>.<signature>``)."""
    value = client.cookies[NAME].value
    assert value.startswith("s%3A"), value
    return value[4:].rsplit(".", 1)[0]


def record(store: MemoryStore, sid: str) -> dict[str, Any] | None:
    return store.get(sid)


def body(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.content
    return json.loads(response.content)  # type: ignore[no-any-return]


# ------------------------------------------------------------------ the data


@pytest.mark.parametrize("path", ["/counter", "/acounter"])
def test_counter(store: MemoryStore, path: str) -> None:
    client = Client()
    first = client.get(path)
    assert body(first)["views"] == 1
    set_cookie = first.cookies[NAME].output(header="").strip()
    assert set_cookie.startswith(f"{NAME}=s%3A") and "HttpOnly" in set_cookie
    assert "Path=/" in set_cookie and "SameSite=Lax" in set_cookie
    assert "Cookie" in first["Vary"]
    sid = sid_of(client)
    assert [body(client.get(path))["views"] for _ in range(3)] == [2, 3, 4]
    stored = record(store, sid)
    assert stored is not None and stored["views"] == 4
    # Django's default cookie age, two weeks, is the stored cookie's lifetime.
    assert stored["cookie"]["originalMaxAge"] == 1209600 * 1000
    assert body(Client().get(path))["views"] == 1  # another browser, another session


def test_counter_under_the_async_client(store: MemoryStore) -> None:
    async def visits() -> list[int]:
        client = AsyncClient()
        return [body(await client.get("/acounter"))["views"] for _ in range(3)]

    assert asyncio.run(visits()) == [1, 2, 3]
    assert [r["views"] for r in store.all().values()] == [3]


def test_an_unmodified_visit_sets_no_cookie_and_a_new_empty_session_stores_nothing(
    store: MemoryStore,
) -> None:
    client = Client()
    response = client.get("/testcookie/check")
    assert body(response) == {"session_key": None, "worked": False, "after": False}
    assert NAME not in response.cookies and store.length() == 0
    client.get("/counter")
    again = client.get("/testcookie/check")
    assert body(again)["session_key"] == sid_of(client)
    assert NAME not in again.cookies


def test_no_save_on_a_server_error(store: MemoryStore) -> None:
    client = Client()
    response = client.get("/boom")
    assert response.status_code == 500 and NAME not in response.cookies
    assert store.length() == 0


# ------------------------------------------------------------------ auth


@pytest.mark.parametrize("login_path", ["/login", "/alogin"])
def test_login_cycles_the_key_and_logout_flushes_the_store(
    store: MemoryStore, login_path: str
) -> None:
    client = Client()
    client.get("/counter")
    anonymous = sid_of(client)
    response = client.post(login_path, {"username": "ann", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/whoami"
    user_sid = sid_of(client)
    assert user_sid != anonymous
    assert record(store, anonymous) is None  # the old key is gone from the store
    stored = record(store, user_sid)
    assert stored is not None
    # What auth stores round-trips as JSON; the anonymous data is kept (cycle_key).
    assert stored["_auth_user_id"] == "1" and stored["views"] == 1
    assert stored["_auth_user_backend"] == "django.contrib.auth.backends.ModelBackend"
    assert re.fullmatch(r"[0-9a-f]{64}", stored["_auth_user_hash"])

    who = body(client.get("/whoami"))
    assert who["user"] == "ann" and who["session_key"] == user_sid
    if login_path == "/login":
        assert who["key_before_login"] == anonymous

    response = client.post("/logout")
    assert response.status_code == 302
    assert record(store, user_sid) is None  # flushed from the store
    # The message added after logout lives in a new session.
    after = body(client.get("/messages/show"))
    assert after["messages"] == ["logged out"]
    assert sid_of(client) not in (user_sid, anonymous)
    assert body(client.get("/whoami"))["user"] is None


def test_login_as_another_user_flushes_the_first_users_data(store: MemoryStore) -> None:
    client = Client()
    client.post("/login", {"username": "ann", "password": PASSWORD})
    ann = sid_of(client)
    client.get("/counter")
    client.post("/login", {"username": "bob", "password": PASSWORD})
    bob = sid_of(client)
    assert bob != ann and record(store, ann) is None
    stored = record(store, bob)
    assert stored is not None and stored["_auth_user_id"] == "2" and "views" not in stored


def test_async_logout_flushes(store: MemoryStore) -> None:
    async def run() -> tuple[str, dict[str, Any]]:
        client = AsyncClient()
        await client.post("/alogin", {"username": "ann", "password": PASSWORD})
        sid = sid_of(client)
        return sid, body(await client.post("/alogout"))

    sid, after = asyncio.run(run())
    assert after == {"session_key": None, "data": {}}
    assert record(store, sid) is None and store.length() == 0


def test_logout_with_nothing_after_deletes_the_cookie(store: MemoryStore) -> None:
    client = Client()
    client.post("/login", {"username": "ann", "password": PASSWORD})
    response = client.post("/interop/django/logout")
    assert store.length() == 0
    deleted = response.cookies[NAME]
    assert deleted.value == "" and deleted["max-age"] == 0 and deleted["path"] == "/"


# ------------------------------------------------------------------ messages, CSRF


def test_messages_unchanged(store: MemoryStore) -> None:
    client = Client()
    response = client.get("/messages/add", {"text": "saved!"}, follow=True)
    assert body(response)["messages"] == ["saved!"]
    assert body(client.get("/messages/show"))["messages"] == []
    # The messages were in the store, as JSON, between the two requests.
    client.get("/messages/add", {"text": "again"})
    stored = record(store, sid_of(client))
    assert stored is not None and "again" in stored["_messages"]


def test_csrf_token_in_the_session(store: MemoryStore) -> None:
    client = Client(enforce_csrf_checks=True)
    page = client.get("/form").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    assert "csrftoken" not in client.cookies  # CSRF_USE_SESSIONS: no cookie of its own
    stored = record(store, sid_of(client))
    assert stored is not None and len(stored["_csrftoken"]) == 32
    form = {"csrfmiddlewaretoken": token.group(1)}
    assert client.post("/form", form).content == b"accepted"
    assert client.post("/form", {}).status_code == 403
    stranger = Client(enforce_csrf_checks=True)
    assert stranger.post("/form", form).status_code == 403


# ------------------------------------------------------------------ expiry, test cookie


def cookie_of(response: Any) -> SimpleCookie:
    jar: SimpleCookie = SimpleCookie()
    jar.load(response.cookies[NAME].output(header="").strip())
    return jar


@pytest.mark.parametrize(
    ("value", "age", "at_close"),
    [("300", 300, False), ("td600", 600, False), ("dt900", 900, False), ("0", 1209600, True)],
)
def test_set_expiry(store: MemoryStore, value: str, age: int, at_close: bool) -> None:
    client = Client()
    client.get("/counter")
    response = client.get("/expiry", {"value": value})
    state = body(response)
    assert age - 2 <= state["age"] <= age and state["at_browser_close"] is at_close
    assert abs(state["date"] - (datetime.now(UTC).timestamp() + age)) < 3
    morsel = cookie_of(response)[NAME]
    stored = record(store, sid_of(client))
    assert stored is not None
    if at_close:
        assert morsel["expires"] == "" and stored["cookie"]["expires"] is None
    else:
        expires = datetime.strptime(morsel["expires"], "%a, %d %b %Y %H:%M:%S GMT")
        assert abs(expires.replace(tzinfo=UTC).timestamp() - state["date"]) < 3
        assert age * 1000 - 3000 <= stored["cookie"]["originalMaxAge"] <= age * 1000
    # The choice stays with the session: the next visit reads it back.
    again = body(client.get("/expiry"))
    assert again["at_browser_close"] is at_close and age - 3 <= again["age"] <= age


def test_set_expiry_alone_resends_the_cookie_and_none_restores_the_default(
    store: MemoryStore,
) -> None:
    client = Client()
    client.get("/expiry")
    # Only the cookie changes (the data is the same): still saved and sent, as Django does.
    short = client.get("/expiry", {"value": "60"})
    assert NAME in short.cookies and 58 <= body(short)["age"] <= 60
    back = client.get("/expiry", {"value": "none"})
    assert NAME in back.cookies and body(back)["age"] >= 1209598
    stored = record(store, sid_of(client))
    assert stored is not None and stored["cookie"]["originalMaxAge"] == 1209600 * 1000


def test_test_cookie_family(store: MemoryStore) -> None:
    client = Client()
    assert body(client.get("/testcookie/check"))["worked"] is False
    client.get("/testcookie/set")
    assert body(client.get("/testcookie/check")) == {
        "session_key": sid_of(client),
        "worked": True,
        "after": True,
    }
    deleted = body(client.get("/testcookie/check", {"delete": "1"}))
    assert deleted["worked"] is True and deleted["after"] is False
    assert body(client.get("/testcookie/check"))["worked"] is False


# ------------------------------------------------------------------ settings


def test_secret_key_fallbacks_verify() -> None:
    store = MemoryStore()
    client = Client()
    with override_settings(FASTSESSION={"store": store}):
        client.get("/counter")
    sid = sid_of(client)
    old_key = "the Django test project's secret key, long enough to sign"
    with override_settings(
        FASTSESSION={"store": store}, SECRET_KEY="a new key " * 4, SECRET_KEY_FALLBACKS=[old_key]
    ):
        # A new client: a handler (and its middleware) made under these settings.
        cookies, client = client.cookies, Client()
        client.cookies = cookies
        response = client.get("/counter")
        assert body(response)["views"] == 2 and sid_of(client) == sid
        # Re-signed with the new key (the data changed): the old key only verifies.
        assert client.cookies[NAME].value == "s%3A" + sign(sid, "a new key " * 4).replace(
            "/", "%2F"
        ).replace("+", "%2B")
    with override_settings(FASTSESSION={"store": store}, SECRET_KEY="another key " * 4):
        fresh = Client()
        fresh.cookies[NAME] = "s:" + sign(sid, old_key)
        assert body(fresh.get("/counter"))["views"] == 1  # unknown key: a new session


def test_django_settings_are_the_defaults_and_fastsession_wins() -> None:
    with override_settings(
        FASTSESSION={"cookie": {"same_site": "strict"}},
        SESSION_COOKIE_NAME="dj",
        SESSION_COOKIE_SAMESITE="None",
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_PATH="/app",
        SESSION_COOKIE_AGE=600,
    ):
        config, age = django_options()
    assert config["name"] == "dj" and age == 600
    assert config["cookie"] == {
        "path": "/app",
        "secure": True,
        "same_site": "strict",
        "max_age": 600,
    }
    assert config["store"] is default_store()
    with override_settings(
        FASTSESSION={"name": "connect.sid", "cookie": {"maxAge": None, "same_site": None}},
        SESSION_EXPIRE_AT_BROWSER_CLOSE=False,
        SESSION_SAVE_EVERY_REQUEST=True,
    ):
        config, age = django_options()
    assert config["name"] == "connect.sid" and config["cookie"]["max_age"] is None
    assert "same_site" not in config["cookie"]  # None: no attribute, as fastsession's default
    assert config["rolling"] is True and config["resave"] is True and age == 1209600


def test_save_every_request_sends_the_cookie_every_time(store: MemoryStore) -> None:
    client = Client()
    client.get("/counter")
    with override_settings(FASTSESSION={"store": store}, SESSION_SAVE_EVERY_REQUEST=True):
        rolling = Client()
        rolling.cookies = client.cookies
        assert NAME in rolling.get("/testcookie/check").cookies
    assert NAME not in client.get("/testcookie/check").cookies


@pytest.mark.parametrize(
    ("fastsession", "message"),
    [
        ([("secret", "x")], "settings.FASTSESSION must be a dict"),
        ({"cookie": {"max_age": "long"}}, "settings.FASTSESSION: cookie option 'max_age'"),
        ({"resave": "yes"}, "settings.FASTSESSION: option 'resave' must be a bool"),
        ({"colour": "blue"}, "settings.FASTSESSION: "),
    ],
)
def test_bad_settings_are_refused_at_startup(fastsession: Any, message: str) -> None:
    with (
        override_settings(FASTSESSION=fastsession),
        pytest.raises(ImproperlyConfigured, match=re.escape(message)),
    ):
        SessionMiddleware(lambda request: None)


def test_no_secret_key_is_refused() -> None:
    with (
        override_settings(SECRET_KEY="", FASTSESSION={}),
        pytest.raises(ImproperlyConfigured, match="SECRET_KEY"),
    ):
        django_options()


def test_get_session_is_request_session_typed() -> None:
    seen: list[DjangoSession] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(get_session(request))
        return HttpResponse("ok")

    request = RequestFactory().get("/")
    with pytest.raises(LookupError, match="fastsession.django.SessionMiddleware"):
        get_session(request)
    with override_settings(FASTSESSION={"store": MemoryStore()}):
        SessionMiddleware(view)(request)
    assert seen == [request.session] and seen[0].fastsession.cookie.max_age is not None


@pytest.mark.parametrize("path", ["/save-after-logout", "/asave-after-logout"])
def test_an_explicit_save_after_a_logout_elsewhere_is_interrupted(
    store: MemoryStore, path: str
) -> None:
    client = Client()
    body(client.get("/counter"))
    sid = sid_of(client)
    response = client.get(path)
    # Nothing written: the session stays gone, its late change dropped, no cookie for it.
    assert body(response) == {"session_key": sid, "interrupted": True}
    assert record(store, sid) is None
    assert NAME not in response.cookies


def test_genid_and_a_cookie_factory_are_given_the_django_request(store: MemoryStore) -> None:
    seen: list[str] = []

    def genid(request: HttpRequest) -> str:
        seen.append(type(request).__name__)
        return f"{request.path.strip('/')}-{len(seen)}-0123456789abcdef"

    def cookie(request: HttpRequest) -> dict[str, Any]:
        return {"max_age": 60 if request.path == "/counter" else 120}

    with override_settings(FASTSESSION={"store": store, "genid": genid, "cookie": cookie}):
        client = Client()
        client.get("/counter")
        assert sid_of(client) == "counter-1-0123456789abcdef" and seen == ["WSGIRequest"]
        stored = record(store, sid_of(client))
        assert stored is not None and stored["cookie"]["originalMaxAge"] == 60_000
        assert stored["cookie"]["sameSite"] == "Lax"  # Django's default, under the factory's
