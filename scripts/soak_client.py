"""The soak test's clients: raw HTTP/1.1 over asyncio streams with keep-alive (so that
64+ clients fit beside the servers on a small machine), and the ledger of every write.

Each client owns a share of the sessions and walks through them one request at a
time, so a session never has two increments in flight and its stored counter can
be held to what the client saw: a 200 answers the new value, which the store
must keep. Now and then a client logs a session out while increments of the same
session are in flight; that session must then stay gone.
"""

from __future__ import annotations

import asyncio
import random
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import unquote

COOKIE = "connect.sid"
TIMEOUT = 30.0  # far beyond any fault: a request this slow is counted as a timeout
QUARANTINE = 15.0  # after a timeout, the session rests until its request surely ended


class HTTPError(Exception):
    """The connection failed, closed early, or answered something unreadable."""


class Connection:
    """One keep-alive HTTP/1.1 connection to 127.0.0.1."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, path: str, cookie: str | None) -> tuple[int, str | None, bytes]:
        """(status, the session cookie set or None, body); HTTPError on any failure."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
        if cookie is not None:
            head += f"Cookie: {COOKIE}={cookie}\r\n"
        try:
            self.writer.write((head + "\r\n").encode())
            status, headers = await self._head()
            body = await self._body(headers)
        except (OSError, EOFError, asyncio.IncompleteReadError, ValueError) as exc:
            self.close()
            raise HTTPError(type(exc).__name__) from exc
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, _session_cookie(headers.get("set-cookie")), body

    async def _head(self) -> tuple[int, dict[str, str]]:
        assert self.reader is not None
        line = await self.reader.readline()
        if not line:
            raise EOFError("closed before the status line")
        status = int(line.split(b" ", 2)[1])
        headers: dict[str, str] = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b"\n"):
            if not line:
                raise EOFError("closed in the headers")
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            value = value.strip()
            if name == "set-cookie" and not value.startswith(COOKIE + "="):
                continue
            headers[name] = value
        return status, headers

    async def _body(self, headers: dict[str, str]) -> bytes:
        assert self.reader is not None
        if "content-length" in headers:
            return await self.reader.readexactly(int(headers["content-length"]))
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while size := int((await self.reader.readline()).split(b";")[0], 16):
                chunks.append(await self.reader.readexactly(size))
                await self.reader.readline()
            await self.reader.readline()
            return b"".join(chunks)
        body = await self.reader.read()
        self.close()
        return body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def _session_cookie(header: str | None) -> str | None:
    return None if header is None else header.split(";", 1)[0][len(COOKIE) + 1 :]


def sid_of(cookie: str) -> str:
    return unquote(cookie)[2:].rsplit(".", 1)[0]  # "s:<sid>.<signature>"


@dataclass
class Slot:
    """One session a client drives: its cookie, once the server has set one."""

    cookie: str | None = None
    sid: str | None = None
    not_before: float = 0.0


@dataclass
class Ledger:
    """What every client sent and saw, for the comparison with the store at the end."""

    sent: Counter[str] = field(default_factory=Counter)  # increments sent, by sid
    acked: Counter[str] = field(default_factory=Counter)  # 200 answers, by sid
    top: dict[str, int] = field(default_factory=dict)  # highest value acknowledged
    logged_out: set[str] = field(default_factory=set)  # logout answered 200
    logout_unsure: set[str] = field(default_factory=set)  # logout failed: state unknown
    raced: set[str] = field(default_factory=set)  # increments raced a logout: not counted
    renewed: int = 0  # a known session answered with a new cookie (the store lost it)
    uncookied: int = 0  # a new session answered 200 without a cookie
    regressed: int = 0  # a 200 answered a value lower than one acknowledged before
    sessions: int = 0  # sessions the server created for the clients
    requests: int = 0
    # (send time, receive time, outcome): outcome "2xx", "5xx:503", "timeout", ...
    events: list[tuple[float, float, str]] = field(default_factory=list)
    latency: array = field(default_factory=lambda: array("d"))  # seconds, 2xx only


class Traffic:
    """``clients`` tasks over ``sessions`` sessions until ``deadline`` (monotonic)."""

    def __init__(
        self, host: str, port: int, *, clients: int, sessions: int, logout_every: int, seed: int
    ) -> None:
        self.host, self.port = host, port
        self.clients, self.sessions = clients, sessions
        self.logout_every = logout_every
        self.random = random.Random(seed)
        self.ledger = Ledger()

    async def run(self, deadline: float) -> Ledger:
        shares = [self.sessions // self.clients] * self.clients
        for i in range(self.sessions % self.clients):
            shares[i] += 1
        seeds = [self.random.random() for _ in shares]
        tasks = [
            self._client(n, deadline, random.Random(s)) for n, s in zip(shares, seeds, strict=True)
        ]
        await asyncio.gather(*tasks)
        return self.ledger

    async def _send(
        self, conn: Connection, path: str, cookie: str | None
    ) -> tuple[str, int, str | None, bytes]:
        ledger = self.ledger
        ledger.requests += 1
        start = time.monotonic()
        try:
            status, set_cookie, body = await asyncio.wait_for(conn.request(path, cookie), TIMEOUT)
        except TimeoutError:
            conn.close()
            ledger.events.append((start, time.monotonic(), "timeout"))
            return "timeout", 0, None, b""
        except (HTTPError, OSError) as exc:
            kind = exc.args[0] if isinstance(exc, HTTPError) else type(exc).__name__
            ledger.events.append((start, time.monotonic(), f"connection:{kind}"))
            return "connection", 0, None, b""
        end = time.monotonic()
        outcome = "2xx" if 200 <= status < 300 else f"{status // 100}xx:{status}"
        ledger.events.append((start, end, outcome))
        if outcome == "2xx":
            ledger.latency.append(end - start)
        return outcome, status, set_cookie, body

    async def _client(self, share: int, deadline: float, rnd: random.Random) -> None:
        slots = [Slot() for _ in range(share)]
        conn = Connection(self.host, self.port)
        i = 0
        while time.monotonic() < deadline:
            slot = slots[i % share]
            i += 1
            now = time.monotonic()
            if slot.not_before > now:
                if all(s.not_before > now for s in slots):
                    await asyncio.sleep(0.1)
                continue
            if slot.sid is not None and self.logout_every and rnd.randrange(self.logout_every) == 0:
                await self._logout_race(slot)
                continue
            await self._increment(conn, slot)
        conn.close()

    async def _increment(self, conn: Connection, slot: Slot) -> None:
        ledger = self.ledger
        if slot.sid is not None:
            ledger.sent[slot.sid] += 1
        outcome, _, set_cookie, body = await self._send(conn, "/inc", slot.cookie)
        if outcome == "timeout":
            slot.not_before = time.monotonic() + QUARANTINE
        if outcome != "2xx":
            return
        value = int(body)
        if set_cookie is not None and sid_of(set_cookie) != slot.sid:
            if slot.sid is not None:
                ledger.renewed += 1
            slot.cookie, slot.sid = set_cookie, sid_of(set_cookie)
            ledger.sessions += 1
            ledger.sent[slot.sid] += 1
        if slot.sid is None:
            ledger.uncookied += 1
            return
        if value < ledger.top.get(slot.sid, 0):
            ledger.regressed += 1
        ledger.acked[slot.sid] += 1
        ledger.top[slot.sid] = max(value, ledger.top.get(slot.sid, 0))

    async def _logout_race(self, slot: Slot) -> None:
        """Three increments and a logout of one session, all in flight at once."""
        sid, cookie = slot.sid, slot.cookie
        assert sid is not None
        self.ledger.raced.add(sid)
        conns = [Connection(self.host, self.port) for _ in range(4)]
        try:
            results = await asyncio.gather(
                *(self._send(c, "/inc", cookie) for c in conns[:3]),
                self._send(conns[3], "/logout", cookie),
            )
        finally:
            for c in conns:
                c.close()
        (self.ledger.logged_out if results[3][0] == "2xx" else self.ledger.logout_unsure).add(sid)
        slot.cookie = slot.sid = None  # the user starts anew


def percentile(values: array, q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
