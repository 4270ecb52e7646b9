"""UserIndexCases: the store contract's per-user index tests (``user_key``).

A store that keeps a per-user index (``index_users``, ``sessions_of``,
``destroy_user``) passes these; a store without one sets ``USER_INDEX = False``
in its contract subclass, and they are then not collected for it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from ._data import ContractHooks

INDEX_TESTS = (
    "test_user_index_lists_a_users_live_sessions",
    "test_user_index_keys_users_by_str",
    "test_user_index_follows_destroy_and_regenerate",
    "test_user_index_follows_a_changed_user",
    "test_user_index_drops_a_session_whose_user_left",
    "test_user_index_follows_expiry",
    "test_user_index_follows_touch",
    "test_user_index_follows_replace",
    "test_destroy_user_keeps_the_current_session",
    "test_user_index_values_that_are_no_user",
    "test_user_index_is_set_once",
)


class UserIndexCases(ContractHooks):
    """The index tests; mixed into StoreContract, which provides the hooks."""

    USER_INDEX: ClassVar[bool] = True
    """False for a store without a per-user index: the tests below are left out."""

    USER_KEY: ClassVar[str] = "user_id"

    def indexed(self, store: Any) -> Any:
        """``store``, made to index its sessions by ``USER_KEY`` (as the middleware does)."""
        store.index_users(self.USER_KEY)
        return store

    def user_session(self, sid: str, user: Any, max_age: float | None = 60, **data: Any) -> Any:
        return self.session(sid, {self.USER_KEY: user, **data}, max_age=max_age)

    def test_user_index_lists_a_users_live_sessions(self, store: Any) -> None:
        store = self.indexed(store)
        store.set("a", self.user_session("a", "alice", views=1))
        store.set("b", self.user_session("b", "alice", views=2))
        store.set("c", self.user_session("c", "bob"))
        store.set("d", self.session("d", {"views": 4}))
        mine = store.sessions_of("alice")
        assert sorted(mine) == ["a", "b"]
        assert mine["a"] == store.get("a") and mine["b"]["views"] == 2
        assert list(store.sessions_of("bob")) == ["c"]
        assert store.sessions_of("carol") == {}
        assert store.length() == 4

    def test_user_index_keys_users_by_str(self, store: Any) -> None:
        store = self.indexed(store)
        store.set("a", self.user_session("a", 42))
        store.set("b", self.user_session("b", "42"))
        store.set("c", self.user_session("c", 420))
        assert sorted(store.sessions_of(42)) == ["a", "b"]
        assert sorted(store.sessions_of("42")) == ["a", "b"]
        assert store.sessions_of(42)["a"][self.USER_KEY] == 42
        assert store.sessions_of("ünï 🔑") == {}
        store.set("u", self.user_session("u", "ünï 🔑"))
        assert list(store.sessions_of("ünï 🔑")) == ["u"]

    def test_user_index_follows_replace(self, store: Any) -> None:
        store = self.indexed(store)
        store.set("a", self.user_session("a", "alice"))
        assert store.replace("a", self.user_session("a", "bob")) is True
        assert list(store.sessions_of("bob")) == ["a"]
        assert store.sessions_of("alice") == {}
        store.destroy("a")
        # Gone: nothing written, and no user finds it.
        assert store.replace("a", self.user_session("a", "carol")) is False
        assert store.get("a") is None
        assert store.sessions_of("carol") == {} and store.sessions_of("bob") == {}

    def test_user_index_follows_destroy_and_regenerate(self, store: Any) -> None:
        store = self.indexed(store)
        store.set("old", self.user_session("old", "alice"))
        store.set("other", self.user_session("other", "alice"))
        # regenerate: the old id destroyed, the session saved under a new one
        store.destroy("old")
        store.set("new", self.user_session("new", "alice"))
        assert sorted(store.sessions_of("alice")) == ["new", "other"]
        store.destroy("other")
        assert list(store.sessions_of("alice")) == ["new"]

    def test_user_index_follows_a_changed_user(self, store: Any) -> None:
        store = self.indexed(store)
        store.set("a", self.user_session("a", "alice"))
        store.set("a", self.user_session("a", "bob"))
        assert store.sessions_of("alice") == {}
        assert list(store.sessions_of("bob")) == ["a"]
        assert store.destroy_user("alice") == 0
        assert store.get("a")[self.USER_KEY] == "bob"

    def test_user_index_drops_a_session_whose_user_left(self, store: Any) -> None:
        store = self.indexed(store)
        store.set("a", self.user_session("a", "alice", cart=[1]))
        store.set("a", self.session("a", {"cart": [1]}))  # logout keeps the session
        assert store.sessions_of("alice") == {}
        assert store.destroy_user("alice") == 0
        assert store.get("a")["cart"] == [1]

    def test_user_index_follows_expiry(self, store: Any) -> None:
        store = self.indexed(store)
        store.set("long", self.user_session("long", "alice", max_age=100))
        store.set("short", self.user_session("short", "alice", max_age=10))
        store.set("browser", self.user_session("browser", "alice", max_age=None))
        self.advance(store, 12)
        assert sorted(store.sessions_of("alice")) == ["browser", "long"]
        self.advance(store, 100)
        assert list(store.sessions_of("alice")) == ["browser"]
        assert store.destroy_user("alice", keep="browser") == 0
        store.set("short", self.user_session("short", "alice", max_age=10))
        assert sorted(store.sessions_of("alice")) == ["browser", "short"]

    def test_user_index_follows_touch(self, store: Any) -> None:
        store = self.indexed(store)
        store.set("a", self.user_session("a", "alice", max_age=10))
        self.advance(store, 6)
        store.touch("a", self.user_session("a", "alice", max_age=10))
        self.advance(store, 6)  # 12 s after set, 6 s after touch
        assert list(store.sessions_of("alice")) == ["a"]
        self.advance(store, 6)
        assert store.sessions_of("alice") == {}

    def test_destroy_user_keeps_the_current_session(self, store: Any) -> None:
        store = self.indexed(store)
        for sid in ("a", "b", "c"):
            store.set(sid, self.user_session(sid, 7))
        store.set("d", self.user_session("d", 8))
        assert store.destroy_user(7, keep="b") == 2
        assert store.get("a") is None and store.get("c") is None
        assert store.get("b")[self.USER_KEY] == 7 and store.get("d") is not None
        assert list(store.sessions_of(7)) == ["b"]
        assert store.destroy_user("7", keep="nobody") == 1
        assert store.get("b") is None and store.sessions_of(7) == {}
        assert store.destroy_user(7) == 0
        assert list(store.sessions_of(8)) == ["d"]
        store.clear()  # every session gone: every user's too
        assert store.sessions_of(8) == {}
        store.set("d", self.user_session("d", 8))
        assert list(store.sessions_of(8)) == ["d"]

    def test_user_index_values_that_are_no_user(self, store: Any) -> None:
        store = self.indexed(store)
        for sid, value in (("t", True), ("f", 1.0), ("n", None), ("l", [1]), ("o", {"a": 1})):
            store.set(sid, self.user_session(sid, value))
        assert store.sessions_of(1) == {} and store.sessions_of("True") == {}
        assert store.sessions_of("1.0") == {} and store.sessions_of("None") == {}
        assert store.destroy_user(1) == 0 and store.length() == 5
        for bad in (True, 1.5, None, ["a"]):
            with pytest.raises(TypeError, match="user"):
                store.sessions_of(bad)
            with pytest.raises(TypeError, match="user"):
                store.destroy_user(bad)
        with pytest.raises(TypeError, match="keep"):
            store.destroy_user("x", keep=3)

    def test_user_index_is_set_once(self, store: Any) -> None:
        with pytest.raises(TypeError, match="no user index"):
            store.sessions_of("alice")
        with pytest.raises(ValueError, match="user_key"):
            store.index_users("not a key")
        with pytest.raises(ValueError, match="user_key"):
            store.index_users("cookie")
        store = self.indexed(store)
        store.index_users(self.USER_KEY)  # the same key again: nothing changes
        with pytest.raises(ValueError, match="already indexes"):
            store.index_users("account")
        store.set("a", self.user_session("a", "alice"))
        assert list(store.sessions_of("alice")) == ["a"]
