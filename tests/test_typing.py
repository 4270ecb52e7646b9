"""Type checkers on the public API: ``mypy --strict`` and pyright pass on every
example and on tests/typing_usage.py (the README's usage), and both flag the
mistakes the typed options are there to catch."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECKED = [ROOT / "examples", ROOT / "tests" / "typing_usage.py"]


def readme_quick_start(tmp_path: Path) -> list[Path]:
    """The README's Starlette and FastAPI quick-start blocks, each as a module."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quick start: Starlette and FastAPI", 1)[1].split("\n## ", 1)[0]
    blocks = [b.split("```", 1)[0] for b in section.split("```python\n")[1:]]
    assert len(blocks) >= 2, "the README's quick start lost its code blocks"
    paths = []
    for n, block in enumerate(blocks):
        path = tmp_path / f"readme_quick_start_{n}.py"
        path.write_text(block, encoding="utf-8")
        paths.append(path)
    return paths


BAD = """
from starlette.applications import Starlette
from starlette.requests import Request

from fastsession import SessionMiddleware, WSGISessionMiddleware


async def app(scope: object, receive: object, send: object) -> None: ...


def wsgi(environ: object, start_response: object) -> list[bytes]:
    return []


async def handler(request: Request) -> None:
    await request.session.regenerate()  # error: Starlette's dict


SessionMiddleware(app, secret="s" * 32, resave="yes")  # error
SessionMiddleware(app, secret="s" * 32, cookie={"maxage": 1})  # error
SessionMiddleware(app, secret="s" * 32, resav=True)  # error
WSGISessionMiddleware(wsgi, secret="s" * 32, unset="drop")  # error
starlette = Starlette()
starlette.add_middleware(SessionMiddleware, secret="s" * 32, rolling="no")  # error
"""
BAD_LINES = {n for n, line in enumerate(BAD.splitlines(), 1) if "# error" in line}


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FASTSESSION_")}
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)


def _mypy(*paths: Path) -> subprocess.CompletedProcess[str]:
    return _run(
        sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir",
        os.devnull, *map(str, paths),
    )  # fmt: skip


def _pyright(*paths: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("node") is None:
        pytest.fail("pyright needs Node.js: apt-get install nodejs (.ci/run installs it)")
    return _run(
        sys.executable, "-m", "pyright", "--pythonpath", sys.executable, *map(str, paths)
    )  # fmt: skip


def test_mypy_strict_passes_on_the_examples_and_the_readme_usage(tmp_path: Path) -> None:
    proc = _mypy(*CHECKED, *readme_quick_start(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success: no issues found" in proc.stdout


def test_pyright_passes_on_the_examples_and_the_readme_usage(tmp_path: Path) -> None:
    proc = _pyright(*CHECKED, *readme_quick_start(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 errors" in proc.stdout


def _error_lines(output: str, name: str) -> set[int]:
    lines = set()
    for line in output.splitlines():
        if name in line and "error" in line:
            lines.add(int(line.split(name, 1)[1].split(":")[1]))
    return lines


def test_mypy_flags_each_mistake(tmp_path: Path) -> None:
    (tmp_path / "bad_usage.py").write_text(BAD)
    proc = _mypy(tmp_path / "bad_usage.py")
    assert proc.returncode == 1, proc.stdout
    assert _error_lines(proc.stdout, "bad_usage.py") == BAD_LINES, proc.stdout
    assert 'Unexpected keyword argument "resav"' in proc.stdout
    assert "CookieParams" in proc.stdout


def test_pyright_flags_each_mistake(tmp_path: Path) -> None:
    (tmp_path / "bad_usage.py").write_text(BAD)
    proc = _pyright(tmp_path / "bad_usage.py")
    assert proc.returncode == 1, proc.stdout
    assert _error_lines(proc.stdout, "bad_usage.py") == BAD_LINES, proc.stdout
    assert 'No parameter named "resav"' in proc.stdout
