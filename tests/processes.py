"""`crm` as a child process, the way an operator or a platform runs it."""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

CRM = str(Path(sys.executable).with_name("crm"))
START_TIMEOUT = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Process:
    """A `crm` subprocess with its own environment, stopped with SIGTERM like a platform would."""

    def __init__(self, command: str, env: dict[str, str], cwd: Path):
        """`command` is what follows `crm`, e.g. "serve" or "db upgrade"."""
        self.command, self.env, self.cwd = command, env, cwd
        self.port = int(env.get("PORT", 0))
        self.process: asyncio.subprocess.Process | None = None
        self._stderr_read = b""  # what wait_for_log consumed before output() reads the rest

    async def start(self) -> "Process":
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CRM_", "DATABASE_"))}
        self.process = await asyncio.create_subprocess_exec(
            CRM, *self.command.split(), env={**environment, **self.env}, cwd=self.cwd,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        return self

    async def wait_ready(self, http) -> None:
        deadline = asyncio.get_running_loop().time() + START_TIMEOUT
        while asyncio.get_running_loop().time() < deadline:
            if self.process.returncode is not None:
                raise AssertionError(f"crm {self.command} exited: {await self.output()}")
            try:
                async with http.get(f"http://127.0.0.1:{self.port}/readyz") as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            await asyncio.sleep(0.1)
        raise AssertionError(f"crm {self.command} not ready after {START_TIMEOUT}s")

    async def wait_for_log(self, text: str) -> None:
        """Wait until the process logs a line containing `text` (logs go to stderr)."""
        async def read_until_seen() -> None:
            while True:
                line = await self.process.stderr.readline()
                self._stderr_read += line
                if not line:
                    raise AssertionError(f"crm {self.command} ended without logging {text!r}")
                if text.encode() in line:
                    return

        try:
            await asyncio.wait_for(read_until_seen(), START_TIMEOUT)
        except asyncio.TimeoutError:
            raise AssertionError(f"crm {self.command} did not log {text!r} within {START_TIMEOUT}s") from None

    async def stop(self, terminate: bool = True) -> tuple[int, str]:
        """SIGTERM (unless `terminate` is False: wait for it to end by itself), then the exit code and output."""
        if terminate and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(self.process.wait(), START_TIMEOUT)
        except asyncio.TimeoutError:
            self.process.kill()  # never leave a stuck process behind
            raise AssertionError(
                f"crm {self.command} did not stop within {START_TIMEOUT}s: {await self.output()}") from None
        return code, await self.output()

    async def output(self) -> str:
        stdout, stderr = await self.process.communicate()
        return (stdout + self._stderr_read + stderr).decode()


def base_env(tmp_path: Path, database_url: str, port: int) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "DATA_DIR": str(tmp_path / "data"), "PORT": str(port),
            "PUBLIC_URL": "https://crm.acme.example"}
