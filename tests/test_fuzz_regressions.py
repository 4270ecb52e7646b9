"""The fuzzer's saved inputs, replayed: the seed corpus and every input that once failed.

Each input goes through its target in fuzz/ (scripts/fuzz.py), which runs the
compiled and the pure twin and checks they agree and express's invariants hold
(no error for a client's bytes, a session only from a cookie the server signed,
Set-Cookie exactly when express sends one).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fastsession.signing import sign  # noqa: E402
from fuzz import kernels, middleware  # noqa: E402

TARGETS = {
    "cookies": kernels.fuzz_cookies,
    "serialize": kernels.fuzz_serialize,
    "signing": kernels.fuzz_signing,
    "asgi": middleware.fuzz_asgi,
    "wsgi": middleware.fuzz_wsgi,
}
CORPUS = ROOT / "fuzz" / "corpus"

pytestmark = pytest.mark.c_extension  # every target compares the compiled twin


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_seed_corpus_passes(name: str) -> None:
    inputs = sorted((CORPUS / name).iterdir())
    assert len(inputs) >= 20, "the seed corpus went missing"
    for path in inputs:
        TARGETS[name](path.read_bytes())


def test_the_reference_reads_only_ids_the_server_signed() -> None:
    # The fuzz targets judge the kernels by this reference; it must itself be right.
    good = kernels.signed_cookie("abc")
    assert good == "s:" + sign("abc", kernels.SECRET)
    read = kernels.expected_sid
    assert read("connect.sid=" + good, "connect.sid") == "abc"
    assert read("connect.sid=" + good.replace(":", "%3A"), "connect.sid") == "abc"
    assert (
        read("x=1; connect.sid=" + kernels.signed_cookie("abc", kernels.ROTATED), "connect.sid")
        == "abc"
    )
    assert read("connect.sid=" + good[:-1] + "x", "connect.sid") is None
    assert read("connect.sid=" + kernels.signed_cookie("abc", kernels.OTHER), "connect.sid") is None
    assert read("connect.sid=" + good[2:], "connect.sid") is None
    assert read("connect.sid=bad; connect.sid=" + good, "connect.sid") is None
