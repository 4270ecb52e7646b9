"""The hand-written SHA-256 and HMAC-SHA-256 (src_c/_sha256.h, with its SHA-NI compression
in src_c/_sha256_ni.h) against the standards.

Known answers: FIPS 180-4 examples and NIST CAVS SHA256ShortMsg / SHA256LongMsg
entries, RFC 4231 test cases 1-7. Then a differential test against hashlib and hmac
over every message length 0-300 and key length 0-200, random long messages, and
strings of every PEP 393 kind through the Signer.

Everything here runs on the compression in use; test_the_portable_compression
runs this whole file again in a child process with FASTSESSION_SHA256_PORTABLE=1,
so a machine with SHA-NI tests both.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib
import os
import random
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from conftest import Impl

# (message hex, digest hex). The first four are FIPS 180-4's examples (the NIST
# "Examples with intermediate values": "abc", the empty string, the 448-bit and the
# 896-bit messages); then SHA256ShortMsg.rsp Len = 8 ... 96 and 512, and the first
# SHA256LongMsg.rsp entry (Len = 1304). Typed in from the .rsp files.
NIST = [
    (b"abc".hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    (
        b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".hex(),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    ),
    (
        b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
        b"ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu".hex(),
        "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
    ),
    ("d3", "28969cdfa74a12c82f3bad960b0b000aca2ac329deea5c2328ebc6f2ba9802c1"),
    ("11af", "5ca7133fa735326081558ac312c620eeca9970d1e70a4b95533d956f072d1f98"),
    ("b4190e", "dff2e73091f6c05e528896c4c831b9448653dc2ff043528f6769437bc7b975c2"),
    ("74ba2521", "b16aa56be3880d18cd41e68384cf1ec8c17680c45a02b1575dc1518923ae8b0e"),
    ("c299209682", "f0887fe961c9cd3beab957e8222494abb969b1ce4c6557976df8b0f6d20e9166"),
    ("e1dc724d5621", "eca0a060b489636225b4fa64d267dabbe44273067ac679f20820bddc6b6a90ac"),
    ("06e076f5a442d5", "3fd877e27450e6bbd5d74bb82f9870c64c66e109418baa8e6bbcff355e287926"),
    ("5738c929c4f4ccb6", "963bb88f27f512777aab6c8b1a02c70ec0ad651d428f870036e1917120fb48bf"),
    ("3334c58075d3f4139e", "078da3d77ed43bd3037a433fd0341855023793f9afd08b4b08ea1e5597ceef20"),
    ("74cb9381d89f5aa73368", "73d6fad1caaa75b43b21733561fd3958bdc555194a037c2addec19dc2d7a52bd"),
    ("76ed24a0f40a41221ebfcf", "044cef802901932e46dc46b2545e6c99c0fc323a0ed99b081bda4216857f38ac"),
    (
        "9baf69cba317f422fe26a9a0",
        "fe56287cd657e4afc50dba7a3a54c2a6324b886becdcd1fae473b769e551a09b",
    ),
    (
        "5a86b737eaea8ee976a0a24da63e7ed7eefad18a101c1211e2b3650c5187c2a8"
        "a650547208251f6d4237e661c7bf4c77f335390394c37fa1a9f9be836ac28509",
        "42e61e174fbb3897d6dd6cef3dd2802fe67b331953b06114a65c772859dfc1aa",
    ),
    (
        "451101250ec6f26652249d59dc974b7361d571a8101cdfd36aba3b5854d3ae08"
        "6b5fdd4597721b66e3c0dc5d8c606d9657d0e323283a5217d1f53f2f284f57b8"
        "5c8a61ac8924711f895c5ed90ef17745ed2d728abd22a5f7a13479a462d71b56"
        "c19a74a40b655c58edfe0a188ad2cf46cbf30524f65d423c837dd1ff2bf462ac"
        "4198007345bb44dbb7b1c861298cdf61982a833afc728fae1eda2f87aa2c9480"
        "858bec",
        "3c593aa539fdcdae516cdf2f15000f6634185c88f505b39775fb9ab137a10aa2",
    ),
]
MILLION_A = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"

# RFC 4231 section 4: (key, data, HMAC-SHA-256); case 5's output is truncated to 128 bits.
RFC4231 = [
    (
        b"\x0b" * 20,
        b"Hi There",
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
    ),
    (
        b"Jefe",
        b"what do ya want for nothing?",
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    ),
    (
        b"\xaa" * 20,
        b"\xdd" * 50,
        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
    ),
    (
        bytes(range(1, 26)),
        b"\xcd" * 50,
        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
    ),
    (b"\x0c" * 20, b"Test With Truncation", "a3b6167473100ee06e0c796c2955552b"),
    (
        b"\xaa" * 131,
        b"Test Using Larger Than Block-Size Key - Hash Key First",
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    ),
    (
        b"\xaa" * 131,
        b"This is a test using a larger than block-size key and a larger than block-size "
        b"data. The key needs to be hashed before being used by the HMAC algorithm.",
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    ),
]

PORTABLE = os.environ.get("FASTSESSION_SHA256_PORTABLE", "").strip().lower() in (
    "1",
    "true",
    "yes",
    "on",
)


def compiled() -> ModuleType:
    """The compiled twin, imported inside each test: a pure-only run deselects them."""
    return importlib.import_module("fastsession._signing_c")


# ---- known answers, both twins ----------------------------------------------------


@pytest.mark.parametrize(("message", "digest"), NIST, ids=lambda v: str(len(v) * 4))
def test_nist_sha256(signing_impl: Impl, message: str, digest: str) -> None:
    assert signing_impl.sha256(bytes.fromhex(message)).hex() == digest


def test_nist_million_a(signing_impl: Impl) -> None:
    assert signing_impl.sha256(b"a" * 1_000_000).hex() == MILLION_A


@pytest.mark.parametrize(("key", "data", "mac"), RFC4231, ids=[f"case{i}" for i in range(1, 8)])
def test_rfc4231_hmac_sha256(signing_impl: Impl, key: bytes, data: bytes, mac: str) -> None:
    assert signing_impl.hmac_sha256(key, data).hex()[: len(mac)] == mac


def test_the_vectors_are_the_standards_own() -> None:
    # Typed-in vectors agree with hashlib/hmac: a typo would fail here, not hide.
    for message, digest in NIST:
        assert hashlib.sha256(bytes.fromhex(message)).hexdigest() == digest
    for key, data, mac in RFC4231:
        assert hmac.new(key, data, hashlib.sha256).hexdigest()[: len(mac)] == mac
    assert len(RFC4231[4][2]) == 32  # case 5: 128 bits


def test_entry_points_take_bytes_only(signing_impl: Impl) -> None:
    for bad in ("abc", bytearray(b"abc"), memoryview(b"abc"), None):
        with pytest.raises(TypeError, match="msg must be bytes"):
            signing_impl.sha256(bad)
        with pytest.raises(TypeError, match="msg must be bytes"):
            signing_impl.hmac_sha256(b"k", bad)
        with pytest.raises(TypeError, match="key must be bytes"):
            signing_impl.hmac_sha256(bad, b"m")


# ---- the compiled hash against hashlib/hmac ------------------------------------------


@pytest.mark.c_extension
def test_the_compression_in_use() -> None:
    c = compiled()
    expected = "portable" if PORTABLE or not c._sha_ni_supported() else "sha-ni"
    assert c._compression() == expected


@pytest.mark.c_extension
def test_every_length_against_hashlib() -> None:
    """Every message length 0-300 (all padding cases, up to five blocks) with every
    key length 0-200 (empty, short, exactly a block, hashed first)."""
    c = compiled()
    rng = random.Random(1804)
    data = rng.randbytes(300)
    keys = rng.randbytes(200)
    for n in range(301):
        message = data[:n]
        assert c.sha256(message) == hashlib.sha256(message).digest(), n
        for k in range(201):
            key = keys[:k]
            assert c.hmac_sha256(key, message) == hmac.digest(key, message, "sha256"), (k, n)


@pytest.mark.c_extension
def test_random_long_messages_against_hashlib() -> None:
    c = compiled()
    rng = random.Random(4231)
    for _ in range(40):
        message = rng.randbytes(rng.randrange(301, 200_000))
        key = rng.randbytes(rng.randrange(0, 300))
        assert c.sha256(message) == hashlib.sha256(message).digest()
        assert c.hmac_sha256(key, message) == hmac.digest(key, message, "sha256")


def node_utf8(text: str) -> bytes:
    return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text).encode()


@pytest.mark.c_extension
def test_strings_of_every_kind_through_the_signer() -> None:
    """The Signer hashes PEP 393 buffers (1, 2 and 4 bytes a character) as UTF-8."""
    c = compiled()
    rng = random.Random(99)
    alphabets = ("abc.", "\x00\xff", "\u20ac\u0100", "\U0001f36a\ud800x")
    for _ in range(5_000):
        key = rng.randbytes(rng.randrange(0, 200))
        text = "".join(rng.choices(rng.choice(alphabets), k=rng.randrange(0, 300)))
        mac = hmac.new(key, node_utf8(text), hashlib.sha256).digest()
        expected = text + "." + base64.b64encode(mac).decode().rstrip("=")
        assert c.Signer((key,)).sign(text) == expected


# ---- the portable compression, forced in a child process ---------------------------


@pytest.mark.c_extension
def test_the_portable_compression() -> None:
    """This file again with FASTSESSION_SHA256_PORTABLE=1: test_the_compression_in_use
    then proves the child ran the portable code, and every vector ran on it."""
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, FASTSESSION_SHA256_PORTABLE="1")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__]
        + ["-k", "not test_the_portable_compression"],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = proc.stdout.strip().splitlines()[-1]
    assert "failed" not in summary and "error" not in summary, summary
    assert " passed" in summary and "skipped" not in summary, summary
