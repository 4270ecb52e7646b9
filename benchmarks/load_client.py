"""A bounded keep-alive HTTP/1.1 load generator for 127.0.0.1, used when wrk is missing.

Raw asyncio streams (uvloop when installed), one request in flight per connection,
stopped by time and by count. Prints {"requests", "seconds", "rps", "errors"} as JSON.
Slower than wrk, so a fast server may saturate it: keep ratios stay comparable only
between runs made with the same generator.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import sys
import time
from collections.abc import Sequence

HOST = "127.0.0.1"
MAX_REQUESTS = 50_000_000


async def load(
    port: int, path: str, cookie: str | None, seconds: float, connections: int
) -> dict[str, float]:
    request = f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
    if cookie:
        request += f"Cookie: {cookie}\r\n"
    payload = (request + "\r\n").encode("latin-1")
    deadline = time.monotonic() + seconds
    counts = {"requests": 0, "errors": 0}

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            while time.monotonic() < deadline and counts["requests"] < MAX_REQUESTS:
                writer.write(payload)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
                counts["requests"] += 1
                if head[9:12] != b"200":
                    counts["errors"] += 1
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
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args(argv)
    if not (0 < args.seconds <= 600 and 0 < args.connections <= 1024):
        parser.error("seconds must be in (0, 600] and connections in [1, 1024]")
    if importlib.util.find_spec("uvloop") is not None:
        import uvloop

        uvloop.install()
    result = asyncio.run(load(args.port, args.path, args.cookie, args.seconds, args.connections))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
