"""The API reference (docs/build_api.py, pdoc) builds without a warning and
documents every public name: a name added without a docstring fails here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILDER = ROOT / "docs" / "build_api.py"

# DESIGN.md's public names, and where the reference documents each.
PAGES = {
    "fastsession.html": [
        "SessionMiddleware", "WSGISessionMiddleware", "Session", "AsyncSession", "Cookie",
        "Store", "AsyncStore", "MemoryStore", "SessionError", "EXTENSIONS", "StorableSession",
        "CookieParams", "CookieOptions", "flash", "get_flashed_messages",
    ],
    "fastsession/flash.html": ["flash", "get_flashed_messages", "FlashSession", "FLASHES_KEY"],
    "fastsession/starlette.html": ["get_session"],
    "fastsession/fastapi.html": ["SessionDep"],
    "fastsession/signing.html": ["sign", "unsign"],
    "fastsession/cookies.html": ["parse", "serialize"],
    "fastsession/stores/redis.html": ["RedisStore", "AsyncRedisStore"],
    "fastsession/testing.html": ["StoreContract", "AsyncStoreContract"],
}  # fmt: skip


def test_the_api_reference_builds_and_documents_every_public_name(tmp_path: Path) -> None:
    if not BUILDER.is_file():
        pytest.skip("needs the source checkout (docs/build_api.py)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FASTSESSION_")}
    proc = subprocess.run(
        [sys.executable, str(BUILDER), str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=600, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    for page, names in PAGES.items():
        html = (tmp_path / page).read_text(encoding="utf-8")
        for name in names:
            assert f'id="{name}"' in html, (page, name)
    # The options are documented with the middleware, Starlette's names included.
    top = (tmp_path / "fastsession.html").read_text(encoding="utf-8")
    assert "secret_key" in top and "save_uninitialized" in top


def test_the_builder_refuses_an_undocumented_public_name(tmp_path: Path) -> None:
    if not BUILDER.is_file():
        pytest.skip("needs the source checkout (docs/build_api.py)")
    package = tmp_path / "pkg"
    script = f"""
import sys, types
sys.path.insert(0, {str(BUILDER.parent)!r})
import build_api, fastsession.starlette as target
def shiny(x: int) -> int:
    return x
target.shiny = shiny
target.__all__ = [*target.__all__, "shiny"]
problems = build_api.build(__import__("pathlib").Path({str(package)!r}))
print(problems)
"""
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=600, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr
    assert "fastsession.starlette.shiny" in proc.stdout
