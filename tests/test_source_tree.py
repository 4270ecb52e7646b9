"""The README's first command from a fresh clone: `pip install . && python -m
fastsession demo` runs the installed, compiled kernels, not the clone's
uncompiled source tree that `python -m` finds first in the current directory;
and `info` says why and what to do whenever the kernels are pure Python.

A real wheel is built from a copy of the tracked source files (no compiled
modules in it) and installed into a directory on PYTHONPATH."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
from pathlib import Path

import httpx
import pytest

from fastsession._source_tree import compiled_on_disk

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.c_extension  # builds the compiled kernels: once per CI run


def _tracked_files() -> list[str]:
    if not (ROOT / "setup.py").is_file() or not (ROOT / "src_c").is_dir():
        pytest.skip("needs the source tree (setup.py, src_c/), not an installed wheel")
    proc = subprocess.run(
        ["git", "ls-files", "fastsession", "src_c", "setup.py", "pyproject.toml",
         "README.md", "LICENSE", "MANIFEST.in"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    if proc.returncode != 0 or not proc.stdout:
        pytest.skip(f"needs a git checkout to copy the tracked files: {proc.stderr.strip()}")
    return proc.stdout.split()


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("FASTSESSION_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def clone_and_python(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A clone-like copy of the source tree, and the Python of a fresh virtualenv
    where the wheel built from it is installed (`pip install .`)."""
    base = tmp_path_factory.mktemp("source-tree")
    clone = base / "clone"
    for name in _tracked_files():
        target = clone / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    assert not compiled_on_disk(clone / "fastsession")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    # The wheel's dependencies and the demo's server come from this interpreter's
    # site-packages, read as a plain path: its .pth files (an editable install of
    # this checkout) are not processed there, so only the wheel provides fastsession.
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    Path(site, "outer-site.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = _env(FASTSESSION_REQUIRE_EXTENSIONS="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    wheels = base / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(clone)],
        capture_output=True, text=True, env=env, timeout=1200,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout + build.stderr
    (wheel,) = wheels.glob("fastsession_express-*.whl")
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert install.returncode == 0, install.stdout + install.stderr
    shutil.rmtree(clone / "build", ignore_errors=True)
    assert not compiled_on_disk(clone / "fastsession")  # the clone stays uncompiled
    installed = Path(site, "fastsession")
    assert len(compiled_on_disk(installed)) == 5, list(installed.iterdir())
    return clone, python


def _info(clone: Path, python: Path, **extra: str) -> str:
    proc = subprocess.run(
        [str(python), "-m", "fastsession", "info"],
        cwd=clone, capture_output=True, text=True, env=_env(**extra), timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _installed(python: Path) -> Path:
    out = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    return Path(out, "fastsession").resolve()


def test_python_m_from_the_clone_runs_the_installed_compiled_kernels(
    clone_and_python: tuple[Path, Path],
) -> None:
    clone, python = clone_and_python
    out = _info(clone, python)
    assert "implementation: compiled (EXTENSIONS=True)" in out, out
    assert f"package: {_installed(python)}" in out
    assert f"note: started from the source tree {(clone / 'fastsession').resolve()}" in out


def test_info_says_why_and_the_fix_when_the_source_tree_is_used(
    clone_and_python: tuple[Path, Path],
) -> None:
    clone, python = clone_and_python
    # The guard of the second run: no second re-run, so the source tree is what runs.
    out = _info(clone, python, FASTSESSION_RERUN_FROM=str(clone / "fastsession"))
    assert "implementation: pure Python (EXTENSIONS=False)" in out, out
    why = next(line for line in out.splitlines() if line.startswith("why pure Python:"))
    assert f"imported from the source tree {(clone / 'fastsession').resolve()}" in why
    assert f"the installed copy at {_installed(python)} has them" in why
    assert "current directory first on sys.path" in why
    fix = next(line for line in out.splitlines() if line.startswith("fix:"))
    assert "python -P -m fastsession" in fix and "pip install -e ." in fix


def test_info_says_why_when_disabled() -> None:
    # REQUIRE (set in CI) would refuse the import this test asks for on purpose.
    env = {k: v for k, v in os.environ.items() if k != "FASTSESSION_REQUIRE_EXTENSIONS"}
    proc = subprocess.run(
        [sys.executable, "-m", "fastsession", "info"],
        capture_output=True, text=True, timeout=120,
        env={**env, "FASTSESSION_NO_EXTENSIONS": "1"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "why pure Python: FASTSESSION_NO_EXTENSIONS is set" in proc.stdout
    assert "fix: unset FASTSESSION_NO_EXTENSIONS" in proc.stdout


def test_the_demo_from_the_clone_serves_with_compiled_kernels(
    clone_and_python: tuple[Path, Path],
) -> None:
    clone, python = clone_and_python
    proc = subprocess.Popen(
        [str(python), "-u", "-m", "fastsession", "demo", "--port", "0"],
        cwd=clone, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    errors: list[str] = []
    threading.Thread(target=lambda: errors.extend(proc.stderr), daemon=True).start()
    try:
        first = lines.get(timeout=60)
        assert first.startswith("fastsession demo on http://127.0.0.1:"), first
        page = httpx.get(first.split()[3], timeout=30).text
        assert "compiled kernels" in page, page
        assert "pure Python kernels" not in page
    finally:
        if os.name == "nt":
            proc.terminate()
        else:
            proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
