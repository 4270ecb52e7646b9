"""LifetimeCases: the store contract's tests of a session's lifetime.

Expiry (the cookie's, or ``ttl`` for a browser-session cookie), ``touch``
(a new deadline, the data kept, nothing created for a session that is gone)
and ``replace`` (written only over a session still stored). Mixed into
StoreContract, which provides the hooks (``store``, ``advance``, ``session``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from ._data import ContractHooks, to_js_json


class LifetimeCases(ContractHooks):
    """The expiry, touch and replace tests; mixed into StoreContract."""

    TTL: ClassVar[float]  # StoreContract's

    TOUCH_TELLS_GONE: ClassVar[bool] = False
    """True when the store's ``touch`` returns False for a session it does not
    hold (and True for one it does), rather than None."""

    # -- expiry -------------------------------------------------------------

    def test_expiry_follows_the_cookie(self, store: Any) -> None:
        store.set("short", self.session("short", {"v": 1}, max_age=10))
        store.set("long", self.session("long", {"v": 2}, max_age=100))
        self.advance(store, 8)
        assert store.get("short") is not None
        self.advance(store, 4)
        assert store.get("short") is None
        assert store.get("long") is not None
        self.advance(store, 90)
        assert store.get("long") is None

    def test_a_cookie_longer_than_the_ttl_outlives_it(self, store: Any) -> None:
        store.set("sid-1", self.session("sid-1", {"v": 1}, max_age=self.TTL + 100))
        self.advance(store, self.TTL + 10)
        assert store.get("sid-1") is not None
        self.advance(store, 100)
        assert store.get("sid-1") is None

    def test_browser_session_cookie_lives_for_the_store_ttl(self, store: Any) -> None:
        store.set("sid-1", self.session("sid-1", {"v": 1}, max_age=None))
        self.advance(store, self.TTL - 5)
        assert store.get("sid-1") is not None
        self.advance(store, 10)
        assert store.get("sid-1") is None

    def test_already_expired_record_is_never_returned(self, store: Any) -> None:
        store.set("past", self.session("past", {"v": 1}, max_age=-5))
        assert store.get("past") is None
        assert "past" not in store.all()
        assert store.length() == 0

    def test_set_after_expiry_starts_again(self, store: Any) -> None:
        store.set("sid-1", self.session("sid-1", {"v": 1}, max_age=5))
        self.advance(store, 10)
        assert store.get("sid-1") is None
        store.set("sid-1", self.session("sid-1", {"v": 2}, max_age=5))
        assert store.get("sid-1")["v"] == 2

    # -- touch --------------------------------------------------------------

    def test_touch_extends_the_lifetime(self, store: Any) -> None:
        store.set("sid-1", self.session("sid-1", {"v": 1}, max_age=10))
        self.advance(store, 6)
        store.touch("sid-1", self.session("sid-1", {"v": 1}, max_age=10))
        self.advance(store, 6)  # 12 s after set, 6 s after touch
        assert store.get("sid-1") is not None
        self.advance(store, 6)
        assert store.get("sid-1") is None

    def test_touch_keeps_the_stored_data(self, store: Any) -> None:
        store.set("sid-1", self.session("sid-1", {"views": 1}))
        store.touch("sid-1", self.session("sid-1", {"views": 99, "new": True}))
        record = store.get("sid-1")
        assert record["views"] == 1
        assert "new" not in record

    def test_touch_of_a_missing_session_creates_nothing(self, store: Any) -> None:
        store.touch("nobody", self.session("nobody", {"v": 1}))
        assert store.get("nobody") is None

    def test_touch_after_destroy_creates_nothing(self, store: Any) -> None:
        store.set("sid-1", self.session("sid-1", {"v": 1}))
        store.destroy("sid-1")
        store.touch("sid-1", self.session("sid-1", {"v": 1}))
        assert store.get("sid-1") is None

    def test_touch_of_an_expired_session_creates_nothing(self, store: Any) -> None:
        store.set("sid-1", self.session("sid-1", {"v": 1}, max_age=5))
        self.advance(store, 10)
        store.touch("sid-1", self.session("sid-1", {"v": 1}, max_age=60))
        assert store.get("sid-1") is None

    def test_touch_says_whether_the_session_is_there(self, store: Any) -> None:
        store.set("sid-1", self.session("sid-1", {"v": 1}))
        there = store.touch("sid-1", self.session("sid-1", {"v": 1}))
        missing = store.touch("nobody", self.session("nobody", {"v": 1}))
        store.destroy("sid-1")
        destroyed = store.touch("sid-1", self.session("sid-1", {"v": 1}))
        if self.TOUCH_TELLS_GONE:
            assert (there, missing, destroyed) == (True, False, False)
        else:
            assert there in (None, True)
            assert missing in (None, False) and destroyed in (None, False)
        assert store.get("sid-1") is None and store.get("nobody") is None

    # -- replace ------------------------------------------------------------

    def test_replace_writes_a_stored_session_as_set_would(self, store: Any) -> None:
        store.set("sid-1", self.session("sid-1", {"views": 1, "gone": True}, max_age=10))
        fresh = self.session("sid-1", {"views": 2}, max_age=100)
        assert store.replace("sid-1", fresh) is True
        assert to_js_json(store.get("sid-1")) == fresh.to_json()
        self.advance(store, 20)  # the new cookie's expiry, not the old one
        assert store.get("sid-1")["views"] == 2

    def test_replace_of_a_missing_session_writes_nothing(self, store: Any) -> None:
        assert store.replace("nobody", self.session("nobody", {"v": 1})) is False
        assert store.get("nobody") is None
        assert store.length() == 0

    def test_replace_after_destroy_writes_nothing(self, store: Any) -> None:
        store.set("sid-1", self.session("sid-1", {"user": "ann"}))
        store.destroy("sid-1")
        assert store.replace("sid-1", self.session("sid-1", {"user": "ann", "n": 2})) is False
        assert store.get("sid-1") is None
        assert "sid-1" not in store.all()

    def test_replace_of_an_expired_session_writes_nothing(self, store: Any) -> None:
        store.set("sid-1", self.session("sid-1", {"v": 1}, max_age=5))
        self.advance(store, 10)
        assert store.replace("sid-1", self.session("sid-1", {"v": 2}, max_age=60)) is False
        assert store.get("sid-1") is None

    def test_set_still_creates_a_session(self, store: Any) -> None:
        fresh = self.session("sid-1", {"v": 1})
        assert store.replace("sid-1", fresh) is False
        store.set("sid-1", fresh)
        assert to_js_json(store.get("sid-1")) == fresh.to_json()
        assert store.replace("sid-1", self.session("sid-1", {"v": 2})) is True
        assert store.get("sid-1")["v"] == 2
