"""The real-traffic benchmarks time what they claim: many distinct stored sessions, each
visited request finding its own, in a shuffled order that is a permutation, cycled.

Small counts, the variants of the test extra (fastsession, Starlette, Flask); the peers'
variants run in `pytest benchmarks/bench_traffic.py`.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import fastsession
from benchmarks import apps, calls, http_traffic, traffic
from benchmarks.http_load import Settings, Target, running

N = 300


class Recorder:
    """fastsession around the benchmark app, recording (path, session id, user) of every
    request: which stored session each visit reached."""

    def __init__(self, protocol: str) -> None:
        self.seen: list[tuple[str, str, Any]] = []
        self.store = apps.memory_store()
        if protocol == "asgi":
            self.app: Any = fastsession.SessionMiddleware(
                self.asgi, secret=apps.SECRET, store=self.store
            )
        else:
            self.inner = apps.session_wsgi("fastsession.session", explicit_save=False)
            self.app = fastsession.WSGISessionMiddleware(
                self.wsgi, secret=apps.SECRET, store=self.store
            )

    def note(self, path: str, session: Any) -> None:
        self.seen.append((path, session.id, session.get("user")))

    async def asgi(self, scope: calls.Scope, receive: calls.Receive, send: calls.Send) -> None:
        await apps.session_asgi(scope, receive, send)
        self.note(scope["path"], scope["session"])

    def wsgi(self, environ: dict[str, Any], start_response: calls.StartResponse) -> Any:
        body = self.inner(environ, start_response)
        self.note(environ["PATH_INFO"], environ["fastsession.session"])
        return body


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def recorded_traffic(protocol: str, loop: asyncio.AbstractEventLoop) -> tuple[Recorder, Any]:
    recorder = Recorder(protocol)
    variant = (apps.ASGI_VARIANTS if protocol == "asgi" else apps.WSGI_VARIANTS)["fastsession"]
    cookies = traffic.login(variant, recorder.app, N, loop)
    ready = traffic.Traffic(
        variant, recorder.app, cookies, traffic.shuffled(cookies), recorder.store.length
    )
    return recorder, ready


def timed_round(ready: traffic.Traffic, loop: asyncio.AbstractEventLoop, op: str) -> Any:
    if ready.variant.protocol == "asgi":
        return traffic.asgi_round(loop, ready, f"/{op}", 100)
    return traffic.wsgi_round(ready, f"/{op}", 100)


@pytest.mark.parametrize("protocol", ["asgi", "wsgi"])
def test_rounds_visit_every_stored_session_in_the_shuffled_order(
    protocol: str, loop: asyncio.AbstractEventLoop
) -> None:
    recorder, ready = recorded_traffic(protocol, loop)
    logins = recorder.seen[:]
    assert len({sid for _, sid, _ in logins}) == N and recorder.store.length() == N
    user_of = {cookie: str(i) for i, cookie in enumerate(ready.cookies)}
    sid_of = {user: sid for _, sid, user in logins}
    recorder.seen.clear()

    run = timed_round(ready, loop, "read")
    for _ in range(4):  # a full turn and a third: the order is cycled
        run()
    expected = [user_of[c] for c in ready.visits] + [user_of[c] for c in ready.visits[:100]]
    assert [user for _, _, user in recorder.seen] == expected
    assert all(sid == sid_of[user] for _, sid, user in recorder.seen)  # no new session
    assert recorder.store.length() == N


@pytest.mark.parametrize("protocol", ["asgi", "wsgi"])
def test_timed_writes_land_in_the_visited_sessions(
    protocol: str, loop: asyncio.AbstractEventLoop
) -> None:
    recorder, ready = recorded_traffic(protocol, loop)
    start = ready.rotation.taken
    run = timed_round(ready, loop, "write")
    for _ in range(4):
        run()
    assert recorder.store.length() == N  # a write that missed would store a new session
    traffic.check_after(ready, "write", start, loop)
    views = [r.body for r in traffic.visit(ready.variant, ready.app, "/read", ready.visits, loop)]
    assert views == [b"3"] * 100 + [b"2"] * (N - 100)  # one turn, then the first 100 again


def test_the_visit_order_is_a_seeded_permutation() -> None:
    cookies = [f"c={i}" for i in range(1000)]
    order = traffic.shuffled(cookies)
    assert sorted(order) == sorted(cookies) and order != cookies
    assert traffic.shuffled(cookies) == order
    assert traffic.shuffled(cookies, seed=1) != order


def test_rotation_cycles_and_says_what_it_handed_out() -> None:
    turn = traffic.Rotation([1, 2, 3, 4, 5])
    assert turn.take(3) == [1, 2, 3]
    assert turn.take(3) == [4, 5, 1]
    assert turn.take(12) == [2, 3, 4, 5, 1, 2, 3, 4, 5, 1, 2, 3]
    assert turn.taken == 18
    assert turn.since(15, 10) == [3, 2, 1]
    assert sorted(turn.since(0, 100)) == [1, 2, 3, 4, 5]  # at most one full turn


@pytest.mark.parametrize(
    "variant",
    [
        apps.ASGI_VARIANTS["fastsession"],
        apps.WSGI_VARIANTS["fastsession"],
        apps.WSGI_VARIANTS["flask+fastsession"],
        apps.ASGI_VARIANTS["starlette"],  # the data in the cookie: distinct users, cookies
        apps.ASGI_VARIANTS["floor"],
        apps.WSGI_VARIANTS["floor"],
    ],
    ids=lambda v: f"{v.protocol}-{v.name}",
)
def test_prepare_creates_distinct_sessions_that_reads_find(
    variant: apps.Variant, loop: asyncio.AbstractEventLoop
) -> None:
    ready = traffic.prepare(variant, 120, loop)
    assert len(set(ready.cookies)) == 120 and sorted(ready.visits) == sorted(ready.cookies)
    if variant.name in traffic.COOKIE_ONLY:
        assert ready.stored is None
    else:
        assert ready.stored is not None and ready.stored() == 120
    reads = traffic.visit(variant, ready.app, "/read", ready.visits, loop)
    assert all(traffic.found_session(variant, "read", r) for r in reads)
    assert all(r.set_cookie() is None for r in reads) or variant.name in traffic.COOKIE_ONLY


def test_bare_variants_get_distinct_cookies_of_the_session_shape() -> None:
    ready = traffic.prepare(apps.ASGI_VARIANTS["bare"], 500)
    assert len(set(ready.visits)) == 500 and ready.stored is None
    parsed = fastsession.cookies.parse(ready.visits[0])
    assert list(parsed) == ["connect.sid"] and parsed["connect.sid"].startswith("s:")


def test_check_after_fails_when_visits_miss_their_sessions(
    loop: asyncio.AbstractEventLoop,
) -> None:
    recorder, ready = recorded_traffic("asgi", loop)
    recorder.store.clear()  # every visit now misses: each write stores a new session
    start = ready.rotation.taken
    timed_round(ready, loop, "write")()
    with pytest.raises(RuntimeError, match="missed their session"):
        traffic.check_after(ready, "write", start, loop)


def test_check_after_reads_back_the_visited_sessions_where_the_store_cannot_count(
    loop: asyncio.AbstractEventLoop,
) -> None:
    recorder, counted = recorded_traffic("wsgi", loop)
    ready = traffic.Traffic(counted.variant, counted.app, counted.cookies, counted.visits, None)
    start = ready.rotation.taken
    timed_round(ready, loop, "read")()
    traffic.check_after(ready, "read", start, loop)  # all found
    recorder.store.clear()
    with pytest.raises(RuntimeError, match="100 of 100 reads did not find their session"):
        traffic.check_after(ready, "read", start, loop)


def test_the_session_count_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(traffic.SESSIONS_ENV, raising=False)
    assert traffic.sessions_wanted() == 100_000
    monkeypatch.setenv(traffic.SESSIONS_ENV, "2500")
    assert traffic.sessions_wanted() == 2500
    monkeypatch.setenv(traffic.SESSIONS_ENV, "0")
    with pytest.raises(ValueError, match=traffic.SESSIONS_ENV):
        traffic.sessions_wanted()


# --- over HTTP: a real uvicorn server, the sessions created by logins ----------------------


def settings(load: str) -> Settings:
    return Settings(
        duration=1.0,
        warmup=0.0,
        rounds=1,
        connections=4,
        pin=False,
        load=load,
        loop="asyncio",
        http="h11",
        sessions=60,
    )


@pytest.fixture(scope="module")
def server() -> Iterator[int]:
    target = Target("starlette", "fastsession", ("read", "write"))
    with running(target, settings("python")) as found:
        yield found.port


def drive_and_check(port: int, tmp_path: Path, load: str) -> None:
    s = settings(load)
    cookies = http_traffic.rotation(True, port, s.sessions, tmp_path, "fastsession")
    assert cookies.file is not None and cookies.count == s.sessions
    lines = cookies.file.read_text().split()
    assert len(set(lines)) == s.sessions

    rps, errors, requests = http_traffic.drive(port, "/write", cookies, "write", 1.0, s)
    assert errors == 0 and requests >= s.sessions and rps > 0
    # Every session was written, in turn: none was left at 1, none was created anew.
    for cookie in lines:
        status, set_cookie, body = http_traffic.get(port, "/read", cookie)
        assert status == 200 and set_cookie is None and int(body) >= 2

    forged = tmp_path / "forged.cookies"
    forged.write_text(lines[0] + "\nconnect.sid=s%3Anot-a-session.bad-signature\n")
    missing = http_traffic.Cookies(file=forged, count=2)
    _, errors, requests = http_traffic.drive(port, "/read", missing, "read", 1.0, s)
    assert requests > 0 and errors >= requests // 2  # every other visit misses


def test_the_fallback_load_client_visits_each_session_in_turn(server: int, tmp_path: Path) -> None:
    drive_and_check(server, tmp_path, "python")


def test_the_wrk_script_visits_each_session_in_turn(server: int, tmp_path: Path) -> None:
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (apt-get install wrk); the fallback client is tested")
    drive_and_check(server, tmp_path, "wrk")


def test_wrk_output_counts_session_misses_as_errors() -> None:
    output = (
        "  1200 requests in 1.00s, 150KB read\n"
        "Requests/sec:   1200.00\n"
        "Session misses: 7\n"
        "Cookies rotated: 10000\n"
    )
    assert http_traffic.parse_wrk(output) == (1200.0, 7, 1200)
