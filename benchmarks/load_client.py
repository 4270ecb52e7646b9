"""A bounded keep-alive HTTP/1.1 load generator for 127.0.0.1, used when wrk is missing.

Raw asyncio streams (uvloop when installed), one request in flight per connection,
stopped by time and by count. With ``--cookies-file`` each request carries the next
cookie of the file, in turn, and ``--expect`` says what a response that found its session
shows (as benchmarks/rotate_cookies.lua does for wrk). Prints {"requests", "seconds",
"rps", "errors", "misses"} as JSON.
Slower than wrk, so a fast server may saturate it: keep ratios stay comparable only
between runs made with the same generator.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import itertools
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

HOST = "127.0.0.1"
MAX_REQUESTS = 50_000_000


def found(expect: str, body: bytes) -> bool:
    """A read shows the views seen (at least 1), a write at least 2, a bare app "ok"."""
    if expect == "bare":
        return body == b"ok"
    return body.isdigit() and int(body) >= (2 if expect == "write" else 1)


async def load(
    port: int,
    path: str,
    cookies: Sequence[str | None],
    seconds: float,
    connections: int,
    expect: str | None = None,
) -> dict[str, float]:
    def payload(cookie: str | None) -> bytes:
        request = f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
        if cookie:
            request += f"Cookie: {cookie}\r\n"
        return (request + "\r\n").encode("latin-1")

    # One shared turn over the cookies: each request takes the next.
    following = itertools.cycle([payload(c) for c in cookies]).__next__
    deadline = time.monotonic() + seconds
    counts = {"requests": 0, "errors": 0, "misses": 0}

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            while time.monotonic() < deadline and counts["requests"] < MAX_REQUESTS:
                writer.write(following())
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                counts["requests"] += 1
                if head[9:12] != b"200":
                    counts["errors"] += 1
                elif expect is not None and not found(expect, body):
                    counts["misses"] += 1
        finally:
            writer.close()

    started = time.monotonic()
    await asyncio.wait_for(
        asyncio.gather(*(connection() for _ in range(connections))), timeout=seconds + 30
    )
    elapsed = time.monotonic() - started
    return {**counts, "seconds": elapsed, "rps": counts["requests"] / elapsed}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/read")
    parser.add_argument("--cookie")
    parser.add_argument("--cookies-file", type=Path, help="one Cookie value a line, in turn")
    parser.add_argument("--expect", choices=("read", "write", "bare"), help="check bodies")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args(argv)
    if not (0 < args.seconds <= 600 and 0 < args.connections <= 1024):
        parser.error("seconds must be in (0, 600] and connections in [1, 1024]")
    if importlib.util.find_spec("uvloop") is not None:
        import uvloop

        uvloop.install()
    cookies: list[str | None] = [args.cookie]
    if args.cookies_file:
        cookies = [line for line in args.cookies_file.read_text().splitlines() if line]
        if not cookies:
            parser.error(f"no cookies in {args.cookies_file}")
    result = asyncio.run(
        load(args.port, args.path, cookies, args.seconds, args.connections, args.expect)
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
