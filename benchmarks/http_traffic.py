"""Real traffic over HTTP, and the load generators that send it.

A server with sessions first serves ``n`` logins (``/login/<i>``, over one keep-alive
connection), whose Set-Cookie values, checked distinct and read back, are shuffled into
a file; the load then sends each request with the next cookie of that file, cycled:
wrk through ``rotate_cookies.lua``, or ``load_client.py --cookies-file``. Both count the
responses that did not find their session (a read's body is the views seen, at least 1;
a write's at least 2), and any such miss fails the run. The bare servers get a file of
as many synthetic cookies of the same shape.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks import traffic

if TYPE_CHECKING:
    from benchmarks.http_load import Settings, Target

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # never anything else: this load stays on the loopback interface
LUA = Path(__file__).resolve().with_name("rotate_cookies.lua")
SESSIONS = 10_000
CHECKS = 200  # cookies read back after the logins (a sample: each costs a round trip)


@dataclass(frozen=True)
class Cookies:
    """What a load sends: one cookie (or none) on every request, or, with ``file``, the
    ``count`` cookies of the file in turn."""

    single: str | None = None
    file: Path | None = None
    count: int = 1


def get(port: int, path: str, cookie: str | None = None) -> tuple[int, str | None, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = conn.getresponse()
        set_cookie = response.getheader("set-cookie")
        return response.status, set_cookie, response.read()
    finally:
        conn.close()


def session_cookie(target: Target, port: int) -> str | None:
    """The cookie of a session holding views == 1, checked to be found when replayed."""
    if not target.has_session:
        return None
    status, set_cookie, body = get(port, "/write")
    if status != 200 or body != b"1" or not set_cookie:
        raise RuntimeError(f"{target}: first write gave {status} {set_cookie!r} {body!r}")
    cookie = set_cookie.split(";", 1)[0].strip()
    status, _, body = get(port, "/read", cookie)
    if body != b"1":
        raise RuntimeError(f"{target}: replaying {cookie!r} read {body!r}, not 1")
    return cookie


def login_sessions(port: int, n: int) -> list[str]:
    """``n`` logins, each a new session: the cookies a browser would send back."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    found = []
    try:
        for i in range(n):
            conn.request("GET", f"/login/{i}")
            response = conn.getresponse()
            body, set_cookie = response.read(), response.getheader("set-cookie")
            if response.status != 200 or body != b"1" or not set_cookie:
                raise RuntimeError(f"login {i}: {response.status} {set_cookie!r} {body!r}")
            found.append(set_cookie.split(";", 1)[0].strip())
    finally:
        conn.close()
    if len(set(found)) != n:
        raise RuntimeError(f"{n} logins on port {port} gave {len(set(found))} distinct cookies")
    return found


def read_back(port: int, cookies: list[str]) -> None:
    """Each cookie reaches its session: ``/read`` answers the views it holds (a number)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        for cookie in cookies:
            conn.request("GET", "/read", headers={"Cookie": cookie})
            response = conn.getresponse()
            body = response.read()
            if response.status != 200 or not body.isdigit():
                raise RuntimeError(f"{cookie!r} read {response.status} {body!r} on port {port}")
    finally:
        conn.close()


def rotation(has_session: bool, port: int, n: int, directory: Path, name: str) -> Cookies:
    """Create (or, for a bare server, make up) ``n`` cookies and write them shuffled."""
    if has_session:
        cookies = login_sessions(port, n)
        read_back(port, random.Random(traffic.SEED).sample(cookies, min(CHECKS, n)))
    else:
        cookies = traffic.synthetic(n)
    path = directory / f"{name}.cookies"
    path.write_text("".join(c + "\n" for c in traffic.shuffled(cookies)))
    return Cookies(file=path, count=n)


def pinned(cpu: int, command: list[str], settings: Settings) -> list[str]:
    # Server on one core, load generator on the other: less noise on a 2-core machine.
    if settings.pin and shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", str(cpu), *command]
    return command


WRK_RPS = re.compile(r"Requests/sec:\s+([0-9.]+)")
WRK_REQUESTS = re.compile(r"(\d+) requests in")
WRK_ERRORS = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)|Socket errors:.*?timeout (\d+)")
WRK_MISSES = re.compile(r"Session misses:\s+(\d+)")


def parse_wrk(output: str) -> tuple[float, int, int]:
    """Requests/s, the error count (non-2xx responses, timeouts, and with the rotation
    script the responses that missed their session) and the requests of a wrk run."""
    found = WRK_RPS.search(output)
    count = WRK_REQUESTS.search(output)
    if found is None or count is None:
        raise RuntimeError(f"no Requests/sec in wrk output:\n{output}")
    errors = sum(int(a or b or 0) for a, b in WRK_ERRORS.findall(output))
    errors += sum(int(m) for m in WRK_MISSES.findall(output))
    return float(found.group(1)), errors, int(count.group(1))


def wrk_command(url: str, cookies: Cookies, expect: str, seconds: float, c: int) -> list[str]:
    command = ["wrk", "-t1", f"-c{c}", f"-d{max(1, round(seconds))}s", "--timeout", "5s"]
    if cookies.file is not None:
        return [*command, "-s", str(LUA), url, "--", str(cookies.file), expect]
    if cookies.single:
        command += ["-H", f"Cookie: {cookies.single}"]
    return [*command, url]


def drive(
    port: int, path: str, cookies: Cookies, expect: str, seconds: float, settings: Settings
) -> tuple[float, int, int]:
    """Requests/s, errors and requests of one bounded run of the load generator.
    ``expect`` is read, write or bare: what a response that found its session shows."""
    if settings.load == "wrk":
        url = f"http://{HOST}:{port}{path}"
        command = wrk_command(url, cookies, expect, seconds, settings.connections)
        done = subprocess.run(
            pinned(1, command, settings),
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=True,
        )
        return parse_wrk(done.stdout)
    command = [
        sys.executable,
        "-m",
        "benchmarks.load_client",
        "--port",
        str(port),
        "--path",
        path,
        "--seconds",
        str(seconds),
        "--connections",
        str(settings.connections),
    ]
    if cookies.file is not None:
        command += ["--cookies-file", str(cookies.file), "--expect", expect]
    elif cookies.single:
        command += ["--cookie", cookies.single]
    done = subprocess.run(
        pinned(1, command, settings),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    result = json.loads(done.stdout)
    errors = int(result["errors"]) + int(result.get("misses", 0))
    return float(result["rps"]), errors, int(result["requests"])
