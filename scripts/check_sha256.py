"""Hold the compiled SHA-256 (both compressions) to hashlib on millions of random inputs.

    python scripts/check_sha256.py [count]      # default 2,000,000 per compression

Run it after touching src_c/_sha256.h; tests/test_signing.py runs a smaller sample.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from fastsession import _signing_c  # noqa: E402

ALPHABETS = ("abcdefghij.", "\x00\x7f\x80\xff", "\u20ac\u0100\u07ff\u0800", "\U0001f36a\ud800x")


def node_utf8(text: str) -> bytes:
    return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text).encode()


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000
    mac = _signing_c._hmac_sha256_b64
    print(f"SHA extensions in use: {_signing_c._accelerated()}")
    for portable in (True, False):
        rng = random.Random(portable)
        start = time.perf_counter()
        for i in range(count):
            key = rng.randbytes(rng.randrange(0, 160))
            text = "".join(rng.choices(rng.choice(ALPHABETS), k=rng.randrange(0, 260)))
            want = hmac.new(key, node_utf8(text), hashlib.sha256).digest()
            got = mac(key, text, portable)
            if got != base64.b64encode(want).decode()[:43]:
                print(f"MISMATCH portable={portable} i={i} key={key.hex()} text={text!r}")
                return 1
        name = "portable" if portable else "in use"
        print(f"{name}: {count} inputs agree ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
