"""AsyncStoreContract: the same contract for async stores, on one event loop."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from fastsession.stores import AsyncStore

from ._contract import StoreContract
from ._data import Op


class SyncAdapter:
    """Calls an async store's methods from sync code, on one event loop."""

    def __init__(self, store: AsyncStore, run: Callable[[Awaitable[Any]], Any]) -> None:
        self.store = store
        self._run = run

    def index_users(self, key: str) -> None:
        """Not a coroutine: the middleware calls it once, at construction."""
        store: Any = self.store  # the method is optional in the protocol
        store.index_users(key)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.store, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            result = attr(*args, **kwargs)
            assert inspect.isawaitable(result), f"{name}() of an async store must be awaited"
            return self._run(result)

        return call


class AsyncStoreContract(StoreContract):
    """The same contract for an ``AsyncStore``: implement ``make_store`` (a coroutine)."""

    _runner: asyncio.Runner

    async def make_store(self) -> AsyncStore:
        raise NotImplementedError("subclasses build a fresh, empty store with ttl=self.TTL")

    async def close_store(self, store: AsyncStore) -> None:
        """Release what ``make_store`` opened (connections)."""

    def run(self, awaitable: Awaitable[Any]) -> Any:
        """Run a coroutine on the store's event loop (for ``advance``)."""
        return self._runner.run(_awaited(awaitable))

    @pytest.fixture
    def store(self) -> Iterator[Any]:
        with asyncio.Runner() as runner:
            self._runner = runner
            raw = runner.run(self.make_store())
            try:
                yield SyncAdapter(raw, self.run)
            finally:
                runner.run(self.close_store(raw))

    def run_concurrently(self, store: Any, writers: list[list[Op]]) -> list[list[Any]]:
        """The writers as tasks on the store's event loop, each awaiting its calls in order."""
        raw = store.store

        async def work(ops: list[Op]) -> list[Any]:
            return [await getattr(raw, name)(*args) for name, *args in ops]

        async def everyone() -> list[list[Any]]:
            return list(await asyncio.gather(*(work(ops) for ops in writers)))

        results: list[list[Any]] = self.run(everyone())
        return results

    def test_store_class(self, store: Any) -> None:
        assert isinstance(store.store, AsyncStore)
        for name in ("get", "set", "replace", "destroy", "touch", "all", "clear", "length"):
            assert inspect.iscoroutinefunction(getattr(store.store, name)), name
        if self.USER_INDEX:
            for name in ("sessions_of", "destroy_user"):
                assert inspect.iscoroutinefunction(getattr(store.store, name)), name
            raw: Any = store.store
            assert not inspect.iscoroutinefunction(raw.index_users)


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable
