"""Real HTTP servers for the interop and fault tests, on 127.0.0.1:
uvicorn (ASGI) and waitress (WSGI) in threads, and the Express app of
tests/interop in a Node process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Literal

import uvicorn
import waitress  # type: ignore[import-untyped]
from redis_server import HOST, free_port, require_service

INTEROP_DIR = Path(__file__).resolve().parent / "interop"


class UvicornThread:
    """An ASGI app served by uvicorn in a thread of this process (its own event loop);
    ``lifespan="on"`` runs the app's lifespan (what opens an async pool on that loop)."""

    def __init__(self, app: Any, *, lifespan: Literal["auto", "on", "off"] = "off") -> None:
        self.port = free_port()
        config = uvicorn.Config(
            app, host=HOST, port=self.port, log_level="warning", lifespan=lifespan, access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> UvicornThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


class WaitressThread:
    """A WSGI app served by waitress in a thread of this process."""

    def __init__(self, app: Any) -> None:
        self.server: Any = waitress.create_server(
            app, host=HOST, port=0, threads=4, asyncore_loop_timeout=0.1
        )
        self.port = int(self.server.effective_port)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> WaitressThread:
        self.thread.start()
        return self

    def stop(self) -> None:
        def shut() -> None:
            # In the loop's own thread: a socket closed under select() is EBADF there.
            # Idle keep-alive connections would keep the loop running: close them too.
            for channel in list(self.server.active_channels.values()):
                channel.will_close = True
            self.server.close()

        self.server.trigger.pull_trigger(shut)
        self.thread.join(10)
        self.server.task_dispatcher.shutdown()


def require_node() -> str:
    node = shutil.which("node")
    modules = INTEROP_DIR / "node_modules"
    installed = all((modules / p).is_dir() for p in ("connect-redis", "connect-pg-simple"))
    require_service(
        node is not None and installed,
        "Node.js with the npm packages of tests/interop",
        "apt-get install nodejs npm && (cd tests/interop && npm ci)",
    )
    assert node is not None
    return node


class ExpressApp:
    """tests/interop/app.mjs: express-session with connect-redis on a ``redis://`` URL,
    or connect-pg-simple on a ``postgresql://`` one; ``env`` adds app.mjs settings."""

    def __init__(
        self,
        store_url: str,
        secrets: list[str],
        *,
        name: str,
        max_age_ms: int | None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.node = require_node()
        self.port = free_port()
        self.env = {
            **os.environ,
            **(env or {}),
            "PORT": str(self.port),
            "PG_URL" if store_url.startswith("postgres") else "REDIS_URL": store_url,
            "SECRETS": json.dumps(secrets),
            "COOKIE_NAME": name,
        }
        if max_age_ms is not None:
            self.env["MAX_AGE_MS"] = str(max_age_ms)
        self.process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> ExpressApp:
        self.process = subprocess.Popen(
            [self.node, "app.mjs"],
            cwd=INTEROP_DIR,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        # The app prints "listening <port>" once it accepts requests.
        line = self.process.stdout.readline()
        if not line.startswith("listening"):
            self.stop()
            raise RuntimeError(f"the Express app did not start: {line!r}")
        # Keep reading, so that a chatty process never blocks on a full pipe.
        threading.Thread(target=self.process.stdout.read, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


__all__ = ["ExpressApp", "UvicornThread", "WaitressThread", "require_node"]
