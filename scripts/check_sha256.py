"""Hold the compiled SHA-256 / HMAC-SHA-256 to hashlib on millions of random inputs.

    python scripts/check_sha256.py [count]      # default 1,000,000 per compression

Each compression runs in its own child process (FASTSESSION_SHA256_PORTABLE=1 forces
the portable one), as tests/test_sha256.py does with a smaller sample. Run it after
touching src_c/_sha256.h or src_c/_sha256_ni.h.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import random
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALPHABETS = ("abcdefghij.", "\x00\x7f\x80\xff", "\u20ac\u0100\u07ff\u0800", "\U0001f36a\ud800x")


def node_utf8(text: str) -> bytes:
    return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text).encode()


def check(count: int) -> int:
    """In this process: ``count`` random bytes messages and as many strings."""
    sys.path.insert(0, ROOT)
    from fastsession import _signing_c

    rng = random.Random(count)
    start = time.perf_counter()
    for i in range(count):
        key = rng.randbytes(rng.randrange(0, 160))
        message = rng.randbytes(rng.randrange(0, 600))
        if _signing_c.hmac_sha256(key, message) != hmac.digest(key, message, "sha256"):
            print(f"HMAC MISMATCH i={i} key={key.hex()} message={message.hex()}")
            return 1
        if _signing_c.sha256(message) != hashlib.sha256(message).digest():
            print(f"SHA-256 MISMATCH i={i} message={message.hex()}")
            return 1
        text = "".join(rng.choices(rng.choice(ALPHABETS), k=rng.randrange(0, 260)))
        mac = base64.b64encode(hmac.digest(key, node_utf8(text), "sha256")).decode()[:43]
        if _signing_c.sign(text, key) != f"{text}.{mac}":
            print(f"SIGN MISMATCH i={i} key={key.hex()} text={text!r}")
            return 1
    elapsed = time.perf_counter() - start
    print(f"{_signing_c._compression()}: {count} inputs x 3 agree ({elapsed:.1f} s)")
    return 0


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    if os.environ.get("FASTSESSION_CHECK_SHA256_CHILD"):
        return check(count)
    failed = 0
    for portable in ("0", "1"):
        env = dict(os.environ, FASTSESSION_SHA256_PORTABLE=portable)
        env["FASTSESSION_CHECK_SHA256_CHILD"] = "1"
        failed |= subprocess.call([sys.executable, __file__, str(count)], env=env)
    return failed


if __name__ == "__main__":
    sys.exit(main())
