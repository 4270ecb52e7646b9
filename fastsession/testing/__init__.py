"""The store contract suite: the tests every session store passes, for any store's own tests.

A store, shipped here or by a third party, proves it follows DESIGN.md's store
protocol by subclassing one class in its pytest tests; pytest collects the
subclass (name it ``Test...``) and runs every test of the contract on it::

    # tests/test_my_store.py (pytest is needed; `import fastsession.testing` says so)
    from collections.abc import Iterator
    from contextlib import contextmanager
    from typing import Any

    import pytest
    from fastsession.testing import StoreContract

    from my_package import MyStore, MyBackendError

    class TestMyStore(StoreContract):
        @pytest.fixture
        def store(self) -> Iterator[MyStore]:
            store = MyStore(ttl=self.TTL)   # fresh and empty, configured with ttl=self.TTL
            yield store
            store.close()

        def advance(self, store: Any, seconds: float) -> None:
            ...                             # let `seconds` pass for the store's expiry

        # Optional: make the store's backend fail, to check faults become StoreError.
        @contextmanager
        def store_fault(self, store: Any) -> Iterator[type[BaseException]]:
            with my_backend_down():
                yield MyBackendError        # the cause every StoreError must carry

For an ``AsyncStore``, subclass ``AsyncStoreContract`` and implement
``make_store()`` (and ``close_store()`` if needed) as coroutines instead of the
``store`` fixture; the same tests then run through ``SyncAdapter`` on one event
loop, ``self.run(coro)`` runs more coroutines on that loop (in ``advance``), and
the concurrency test runs its writers as tasks on that loop instead of threads.

The hooks, kept small on purpose:

* ``store``: fixture giving a fresh, empty store configured with ``ttl=self.TTL``.
* ``advance(store, seconds)``: make ``seconds`` of time pass as far as the
  store's expiry is concerned. A fake clock advances it; a Redis store can
  lower every key's TTL instead (``PTTL`` then ``PEXPIRE key pttl - ms``, which
  deletes a key whose TTL reaches zero), so no test sleeps.
* ``now()``: the time new sessions are created at (default: the library clock).
* ``store_fault(store)`` (optional): a context manager inside which every call
  on the store fails in its backend (a stopped server, a missing table, a
  revoked permission); it yields the exception type (or tuple of types) each
  ``StoreError`` must carry as its ``__cause__``. After the block the store
  works again and has lost nothing. A subclass that does not override it runs
  no fault tests (they are not collected for it, rather than skipped): a store
  with no backend that can fail, like ``MemoryStore``, has nothing to show. Every
  store shipped with fastsession that does I/O implements it.

What the contract covers: get/set/replace/touch/destroy/all/clear/length
(``replace`` writes only a session still stored; set ``TOUCH_TELLS_GONE``
when ``touch`` returns False for a missing session); the per-user
index (``index_users``, ``sessions_of``, ``destroy_user``; a store without one
sets ``USER_INDEX = False`` and those tests are left out); expiry from
the cookie and ``ttl`` for browser-session cookies; express-session's JSON
kept byte for byte; unicode ids and data; concurrent writers; faults raised as
``StoreError`` with their cause.

The expiry tests keep at least a second of margin on both sides of every
deadline, since stores such as Redis keep whole seconds; the exact boundary
(``expires == now`` is expired) belongs to each store's own tests.

The data the tests store, importable for a store's own tests: `RICH_DATA`
(nesting, unicode, floats), `UNICODE_IDS` and `UNICODE_DATA` (ids and data
beyond ASCII), `EXACT_DATA` (numbers and escapes JSON must keep exactly); `Op`
is a store call for ``run_concurrently`` (the method name, then its arguments)
and `FaultCause` the exception type(s) ``store_fault`` yields.

``StandInSession`` is test data with the shape of ``fastsession.StorableSession``:
``to_json()`` gives express-session's record JSON for a cookie of the given max
age, or exactly the bytes it was given (to store a corrupt record).
"""

from __future__ import annotations

try:
    import pytest  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a subprocess
    raise ImportError(
        "fastsession.testing is a pytest suite and needs pytest: pip install pytest"
    ) from exc

from ._async_contract import AsyncStoreContract, SyncAdapter
from ._contract import StoreContract
from ._data import (
    EXACT_DATA,
    RICH_DATA,
    UNICODE_DATA,
    UNICODE_IDS,
    FaultCause,
    Op,
    StandInCookie,
    StandInSession,
    iso_ms,
    to_js_json,
)

__all__ = [
    "EXACT_DATA",
    "RICH_DATA",
    "UNICODE_DATA",
    "UNICODE_IDS",
    "AsyncStoreContract",
    "FaultCause",
    "Op",
    "StandInCookie",
    "StandInSession",
    "StoreContract",
    "SyncAdapter",
    "iso_ms",
    "to_js_json",
]
