"""fastsession.flash: Flask's flash messages on Session, AsyncSession and any mapping,
with Flask's semantics (compared with flask.flash / flask.get_flashed_messages
themselves), the per-request cache on the session object, and clear errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import flask
import pytest
from flask.json.tag import TaggedJSONSerializer

import fastsession
from fastsession import AsyncSession, Session, flash, get_flashed_messages
from fastsession.flash import FLASHES_KEY

SESSIONS: list[Callable[[], Any]] = [
    lambda: Session("a" * 32),
    lambda: AsyncSession("b" * 32),
]
SESSION_IDS = ["Session", "AsyncSession"]


@pytest.fixture(params=SESSIONS, ids=SESSION_IDS)
def session(request: pytest.FixtureRequest) -> Any:
    return request.param()


def test_the_package_exports_the_functions() -> None:
    assert fastsession.flash is flash
    assert fastsession.get_flashed_messages is get_flashed_messages
    assert {"flash", "get_flashed_messages"} <= set(fastsession.__all__)


def test_messages_are_stored_as_flask_stores_them(session: Any) -> None:
    flash(session, "saved")
    flash(session, "no access", "error")
    assert session[FLASHES_KEY] == [["message", "saved"], ["error", "no access"]]
    # The record's JSON: arrays under Flask's key, beside the cookie.
    assert json.loads(session.to_json())["_flashes"] == [
        ["message", "saved"],
        ["error", "no access"],
    ]


def test_reading_takes_the_messages_out_and_the_request_keeps_them(session: Any) -> None:
    flash(session, "one")
    flash(session, "two", "warning")
    assert get_flashed_messages(session) == ["one", "two"]
    assert FLASHES_KEY not in session
    # A second call on the same session (the same request): the same messages.
    assert get_flashed_messages(session) == ["one", "two"]
    assert get_flashed_messages(session, with_categories=True) == [
        ("message", "one"),
        ("warning", "two"),
    ]
    # Flashed after the read: kept for the next request, not added to this one's.
    flash(session, "three")
    assert get_flashed_messages(session) == ["one", "two"]
    assert session[FLASHES_KEY] == [["message", "three"]]
    # The next request has a new session object, with what the store kept.
    following = type(session)(session.id, data=dict(session))
    assert get_flashed_messages(following) == ["three"]
    assert FLASHES_KEY not in following


def test_a_category_filter_keeps_its_categories_and_takes_out_all(session: Any) -> None:
    flash(session, "a", "info")
    flash(session, "b", "error")
    flash(session, "c", "warning")
    assert get_flashed_messages(session, category_filter=["error", "warning"]) == ["b", "c"]
    assert get_flashed_messages(session, True, ("info",)) == [("info", "a")]
    assert FLASHES_KEY not in session
    assert get_flashed_messages(session) == ["a", "b", "c"]


def test_no_messages_is_an_empty_list_and_leaves_the_session_unchanged(session: Any) -> None:
    session["user"] = "ann"
    assert get_flashed_messages(session) == []
    assert get_flashed_messages(session, with_categories=True) == []
    assert dict(session) == {"user": "ann"}


def test_a_plain_dict_works_without_the_request_cache() -> None:
    data: dict[str, Any] = {}
    flash(data, {"text": "saved", "id": 3}, "info")
    assert data == {"_flashes": [["info", {"text": "saved", "id": 3}]]}
    assert get_flashed_messages(data, with_categories=True) == [
        ("info", {"text": "saved", "id": 3})
    ]
    assert data == {}
    assert get_flashed_messages(data) == []  # a dict keeps nothing beside its data


def test_tuples_and_flask_tagged_tuples_are_read_as_pairs(session: Any) -> None:
    # flask.flash appends tuples; serializer="tagged" stores them as {" t": [...]}.
    tagged = TaggedJSONSerializer().tag([("info", "hi"), ("error", "no")])
    assert tagged == [{" t": ["info", "hi"]}, {" t": ["error", "no"]}]
    session[FLASHES_KEY] = [*tagged, ("message", "plain")]
    flash(session, "more")
    assert session[FLASHES_KEY][-1] == ["message", "more"]
    assert get_flashed_messages(session, with_categories=True) == [
        ("info", "hi"),
        ("error", "no"),
        ("message", "plain"),
        ("message", "more"),
    ]


@pytest.mark.parametrize(
    "stored",
    ["a string", {"not": "a list"}, [["only one"]], [[1, "category not a str"]], [None]],
)
def test_other_data_under_the_key_is_a_clear_error(session: Any, stored: Any) -> None:
    session[FLASHES_KEY] = stored
    with pytest.raises(ValueError, match="_flashes"):
        get_flashed_messages(session)
    with pytest.raises(ValueError, match="_flashes"):
        flash(session, "x")
    assert session[FLASHES_KEY] == stored  # nothing was taken out


def test_bad_arguments_are_refused(session: Any) -> None:
    with pytest.raises(TypeError, match="category is a str"):
        flash(session, "x", 3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not one str"):
        get_flashed_messages(session, category_filter="error")
    assert FLASHES_KEY not in session


# -- Flask's own functions give the same answers -------------------------------------


def _script(
    do_flash: Callable[[Any, str], None],
    read: Callable[[bool, tuple[str, ...]], Any],
) -> list[Any]:
    """Two requests' worth of flashing and reading, the results in order."""
    seen = []
    do_flash("first", "message")
    do_flash("second", "error")
    seen.append(read(False, ("error",)))
    seen.append(read(True, ()))
    do_flash("third", "info")
    seen.append(read(False, ()))
    return seen


def test_the_same_answers_as_flask_in_a_request() -> None:
    app = flask.Flask(__name__)
    app.secret_key = "a Flask secret key, long enough to sign"

    def flask_read(with_categories: bool, category_filter: tuple[str, ...]) -> Any:
        found = flask.get_flashed_messages(with_categories, list(category_filter))
        return [tuple(item) for item in found] if with_categories else found

    with app.test_request_context("/"):
        expected = _script(lambda m, c: flask.flash(m, c), flask_read)
        left_by_flask = [list(pair) for pair in flask.session["_flashes"]]
    for make in SESSIONS:
        session = make()
        got = _script(
            lambda m, c, session=session: flash(session, m, c),
            lambda w, f, session=session: get_flashed_messages(session, w, f),
        )
        assert got == expected
        assert session[FLASHES_KEY] == left_by_flask == [["info", "third"]]
