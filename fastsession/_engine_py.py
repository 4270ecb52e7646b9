"""Pure-Python engine core: the spec of src_c/_engine.pxi.

`EngineCore` is one middleware's constants as the request kernel reads them
(fastsession.engine.make_engine builds it from the options), and the one thing
it learns as requests go by: the shape of the stored cookies' members, which a
site's cookies share.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ._model_py import CookieCore, CookieShape, SessionCore, shape_of
from ._sid_py import SidReader

if TYPE_CHECKING:
    from ._load_py import LoadCore

__all__ = ["CREATED_KEY", "EngineCore"]

CREATED_KEY = "_created"
"""The data key holding when the session was created (epoch milliseconds), kept
while ``absolute_timeout`` is set: ordinary session data, so express-session
(which keeps the data keys it does not know) stores it back as it is."""

_MISSING = object()


def _same_members(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """The same members with values of the same types (True == 1, but each is
    written differently): then they have the same shape."""
    if len(a) != len(b):
        return False
    for key, value in a.items():
        other = b.get(key, _MISSING)
        if type(other) is not type(value) or other != value:
            return False
    return True


class EngineCore:
    """One middleware's constants, as the request kernel reads them.

    Built by fastsession.engine.make_engine. ``store`` is called directly when
    ``inline`` (a sync store: WSGI, or one that never waits on I/O); otherwise
    ``aget``, ``aset``, ``areplace``, ``atouch`` and ``adestroy`` are awaited.
    """

    __slots__ = (
        "sids", "session_key", "id_key", "session_cls", "cookie_cls",
        "genid", "new_cookie", "set_cookie_line", "secure_of",
        "resave", "rolling", "save_uninitialized", "unset_destroy",
        "store", "has_touch", "inline", "aget", "aset", "areplace", "atouch", "adestroy",
        "touch_after_ms", "absolute_ms", "cache_headers", "lifecycle", "last_shape",
    )  # fmt: skip

    def __init__(
        self,
        *,
        sids: SidReader,
        session_key: str,
        id_key: str,
        session_cls: type[SessionCore],
        cookie_cls: type[CookieCore],
        genid: Callable[[Any], str],
        new_cookie: Callable[[LoadCore], CookieCore],
        set_cookie_line: Callable[[str, Any], str | None],
        secure_of: Callable[[Any], bool],
        resave: bool,
        rolling: bool,
        save_uninitialized: bool,
        unset_destroy: bool,
        store: Any,
        has_touch: bool,
        inline: bool,
        aget: Callable[..., Any],
        aset: Callable[..., Any],
        areplace: Callable[..., Any],
        atouch: Callable[..., Any],
        adestroy: Callable[..., Any],
        touch_after_ms: int = -1,
        absolute_ms: int = -1,
        cache_headers: bool = False,
    ) -> None:
        self.sids = sids
        self.session_key = session_key
        self.id_key = id_key
        self.session_cls = session_cls
        self.cookie_cls = cookie_cls
        self.genid = genid
        self.new_cookie = new_cookie
        self.set_cookie_line = set_cookie_line
        self.secure_of = secure_of
        self.resave = resave
        self.rolling = rolling
        self.save_uninitialized = save_uninitialized
        self.unset_destroy = unset_destroy
        self.store = store
        self.has_touch = has_touch
        self.inline = inline
        self.aget = aget
        self.aset = aset
        self.areplace = areplace
        self.atouch = atouch
        self.adestroy = adestroy
        # touch_after and absolute_timeout in ms, -1 when off; ``lifecycle``:
        # either is on, so the request path tests one flag when both are off.
        self.touch_after_ms = int(touch_after_ms)
        self.absolute_ms = int(absolute_ms)
        self.lifecycle = self.touch_after_ms >= 0 or self.absolute_ms >= 0
        self.cache_headers = bool(cache_headers)
        # The members of the last stored cookie read, and their shape: a site's
        # cookies share one layout, so most records need no shape_of().
        self.last_shape: tuple[dict[str, Any], CookieShape] | None = None

    def shape_for(self, fields: dict[str, Any]) -> CookieShape:
        """``shape_of(fields)``, the last one reused while the members are the same."""
        last = self.last_shape
        if last is not None and _same_members(last[0], fields):
            return last[1]
        shape = shape_of(fields)
        self.last_shape = (dict(fields), shape)
        return shape
