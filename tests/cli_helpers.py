"""Running the real command line in a subprocess, and a served instance of it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

COMMAND = [os.environ["FORTYTWO_BINARY"]] if os.environ.get("FORTYTWO_BINARY") else [sys.executable, "-m", "fortytwo"]


def cli(data_dir: Path, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORTYTWO_") or k == "FORTYTWO_BINARY"}
    proc = subprocess.run(
        [*COMMAND, "--data-dir", str(data_dir), *args],
        capture_output=True, text=True, input=input, env=env, timeout=60,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"fortytwo {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
    return proc


def call(method: str, url: str, token: str | None = None, body: Any = None,
         headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """One HTTP request with the standard library: (status, parsed JSON body or None)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if body is not None:
        request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def cli_json(data_dir: Path, *args: str) -> Any:
    return json.loads(cli(data_dir, *args, "--json").stdout)


def _drain(stream, sink: list[str]) -> None:  # type: ignore[no-untyped-def]
    for line in stream:
        sink.append(line)


class Server:
    """``fortytwo serve --port 0`` in a subprocess; the URL is read from its first line.

    Its output is drained by background threads (a full pipe would block the server);
    ``log`` returns what it wrote to stderr so far.
    """

    def __init__(self, data_dir: Path, *extra: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FORTYTWO_") or k == "FORTYTWO_BINARY"}
        self.proc = subprocess.Popen(
            [*COMMAND, "--data-dir", str(data_dir), "serve", "--port", "0", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        deadline = time.monotonic() + 30
        line = ""
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            match = re.search(r"listening on (\S+)", line)
            if match:
                self.url = match.group(1)
                self._err: list[str] = []
                self._threads = [
                    threading.Thread(target=_drain, args=(self.proc.stdout, []), daemon=True),
                    threading.Thread(target=_drain, args=(self.proc.stderr, self._err), daemon=True),
                ]
                for thread in self._threads:
                    thread.start()
                return
            if self.proc.poll() is not None:
                break
        self.proc.kill()
        raise AssertionError(f"server did not start: {line} {self.proc.stderr.read()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            for thread in self._threads:
                thread.join(5)

    def log(self) -> str:
        return "".join(self._err)
