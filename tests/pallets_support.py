"""What tests/test_flask.py and tests/test_quart.py share: the example loader,
cookie helpers, and the values Flask's own session stores."""

from __future__ import annotations

import importlib.util
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from markupsafe import Markup

from fastsession.signing import unsign

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SECRET = "a Flask secret key, long enough to sign"
OLD_SECRET = "the previous Flask secret key, now a fallback"

# What Flask's own session stores (its tagged JSON). Flask's datetime tag
# keeps whole seconds in UTC, as Flask's own session does.
TAGGED_VALUES: dict[str, Any] = {
    "when": datetime(2026, 5, 17, 8, 30, 15, tzinfo=UTC),
    "id": uuid.UUID("7d4c8a4e-8f8e-4c2e-9d86-2f5c1b2a3e4f"),
    "raw": b"\x00\xffbytes",
    "pair": ("a", 1, ("nested", 2.5)),
    "html": Markup("<b>bold</b>"),
    "deep": {"dates": [datetime(2020, 1, 1, tzinfo=UTC)], "plain": [1, "two", None]},
    " t": "a key that looks like a tag",
    "lookalike": {" t": [1, 2]},
}


def load_example(name: str) -> ModuleType:
    path = EXAMPLES / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"example_{name}", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def set_cookies(headers: Any, name: str) -> list[str]:
    """The Set-Cookie lines for cookie ``name``."""
    getter = getattr(headers, "get_list", None) or headers.getlist
    return [line for line in getter("set-cookie") if line.startswith(name + "=")]


def cookie_value(line: str) -> str:
    from urllib.parse import unquote

    return unquote(line.split(";", 1)[0].split("=", 1)[1])


def attributes(line: str) -> dict[str, str]:
    out = {}
    for part in line.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        out[key.lower()] = value
    return out


def sid_of(line: str, *secrets: str) -> str | None:
    """The session id a Set-Cookie line carries, if one of ``secrets`` signed it."""
    value = cookie_value(line)
    assert value.startswith("s:"), line
    return unsign(value[2:], list(secrets or [SECRET]))


def is_deletion(line: str) -> bool:
    return attributes(line).get("expires") == "Thu, 01 Jan 1970 00:00:00 GMT"


def interop_view(side: str, session: Any) -> dict[str, Any]:
    """The JSON body of tests/interop/app.mjs's routes, for a Flask or Quart session."""
    return {
        "side": side,
        "sid": session.id,
        "views": session.get("views"),
        "user": session.get("user"),
    }
