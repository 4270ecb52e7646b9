"""The benchmark variants time what they claim: an existing session, found by its cookie.

Only the variants built from the test extra (fastsession, Starlette, Flask) run here;
the peers' variants are exercised by `pytest benchmarks/bench_middleware.py`.
"""

from __future__ import annotations

import pytest

from benchmarks import apps
from benchmarks.bench_middleware import CALLS

SERVER_SIDE = [
    apps.ASGI_VARIANTS["fastsession"],
    apps.WSGI_VARIANTS["fastsession"],
    apps.WSGI_VARIANTS["flask+fastsession"],
    apps.STARLETTE_VARIANTS["fastsession"],
    # The yardstick must keep sessions as the real contenders do, or it measures less.
    apps.ASGI_VARIANTS["floor"],
    apps.WSGI_VARIANTS["floor"],
    apps.STARLETTE_VARIANTS["floor"],
]
COOKIE_BASED = [apps.ASGI_VARIANTS["starlette"], apps.WSGI_VARIANTS["flask+cookie"]]


@pytest.mark.parametrize("variant", SERVER_SIDE, ids=lambda v: f"{v.protocol}-{v.name}")
def test_replayed_cookie_reaches_the_same_session(variant: apps.Variant) -> None:
    app = variant.build()
    cookie = apps.existing_session(variant, app)
    assert cookie is not None
    assert apps.call(variant, app, "/write", cookie).body == b"2"
    assert apps.call(variant, app, "/read", cookie).body == b"2"


@pytest.mark.parametrize("variant", COOKIE_BASED, ids=lambda v: f"{v.protocol}-{v.name}")
def test_cookie_based_peers_replay_the_data_they_carry(variant: apps.Variant) -> None:
    # The data is in the cookie: each timed write starts again from views == 1.
    app = variant.build()
    cookie = apps.existing_session(variant, app)
    assert apps.call(variant, app, "/write", cookie).body == b"2"
    assert apps.call(variant, app, "/read", cookie).body == b"1"


@pytest.mark.parametrize(
    "variant",
    [apps.ASGI_VARIANTS["fastsession"], apps.WSGI_VARIANTS["fastsession"]],
    ids=lambda v: v.protocol,
)
def test_fastsession_read_of_an_existing_session_sets_no_cookie(variant: apps.Variant) -> None:
    app = variant.build()
    cookie = apps.existing_session(variant, app)
    response = apps.call(variant, app, "/read", cookie)
    assert response.status == 200 and response.set_cookie() is None


def test_bare_variants_answer_without_a_session() -> None:
    for variant in (apps.ASGI_VARIANTS["bare"], apps.WSGI_VARIANTS["bare"]):
        app = variant.build()
        assert apps.existing_session(variant, app) is None
        assert apps.call(variant, app, "/read").body == b"ok"


def test_a_cookie_that_does_not_reach_a_session_is_refused() -> None:
    variant = apps.ASGI_VARIANTS["fastsession"]
    app = variant.build()
    forged = "connect.sid=s%3Aabc.def"
    assert apps.call(variant, app, "/read", forged).body == b"None"


def test_cyclic_garbage_counts_objects_only_the_gc_frees() -> None:
    from benchmarks.bench_middleware import cyclic_garbage

    kept: list[object] = []

    def acyclic() -> None:
        for _ in range(CALLS):
            kept[:] = [{"a": 1}]  # freed by reference counting alone

    def cyclic() -> None:
        for _ in range(CALLS):
            a: list[object] = []
            b: list[object] = [a]
            a.append(b)

    assert cyclic_garbage(acyclic) == 0
    assert cyclic_garbage(cyclic) == 2
