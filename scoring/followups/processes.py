"""Real processes for reliability tests and the bench: a Celery worker, a throwaway redis-server, a
gunicorn web server — started in their own process groups so a test can SIGKILL them whole."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the project root (manage.py)
VENV_BIN = Path(sys.executable).parent


def free_port(start: int) -> int:
    for port in range(start, start + 200):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError(f"no free port from {start}")


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


class Managed:
    """A subprocess in its own session (process group), with its output in a temp file."""

    name = "process"

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self.log = Path(tempfile.mkstemp(prefix=f"fu-{self.name}-", suffix=".log")[1])

    def command(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    def start(self) -> Managed:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603
                self.command(),
                cwd=ROOT,
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_ready()
        return self

    def wait_ready(self) -> None:
        pass

    def kill(self) -> None:
        """SIGKILL the whole process group: nothing gets to clean up (acks, shutdown hooks)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.process = None

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


class RedisServer(Managed):
    name = "redis"

    def __init__(self, port: int) -> None:
        self.port = port
        super().__init__()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        return [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]

    def wait_ready(self) -> None:
        wait_for_port(self.port)


class CeleryWorker(Managed):
    name = "worker"

    def __init__(
        self,
        env: dict[str, str],
        *,
        concurrency: int = 2,
        node: str = "fu",
        include: str | None = None,
        queues: str | None = None,
    ) -> None:
        self.extra_env, self.concurrency, self.node, self.include = env, concurrency, node, include
        self.queues = queues  # e.g. "followups": leave other work (rollup refreshes, surveys) queued
        super().__init__()

    def command(self) -> list[str]:
        command = [
            str(VENV_BIN / "celery"),
            "-A",
            "qa_center",
            "worker",
            "--pool=prefork",
            "-c",
            str(self.concurrency),
            "-n",
            f"{self.node}@%h",
            "-l",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        if self.include:
            command += ["--include", self.include]
        if self.queues:
            command += ["-Q", self.queues]
        return command

    def env(self) -> dict[str, str]:
        return {**os.environ, **self.extra_env}

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        start = self.log.stat().st_size
        while time.monotonic() < deadline:
            with self.log.open("rb") as f:
                f.seek(start)
                if b" ready." in f.read():
                    return
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.tail()}")
            time.sleep(0.1)
        raise TimeoutError(f"worker not ready after {timeout} s:\n{self.tail()}")


class CeleryBeat(Managed):
    name = "beat"

    def __init__(self, env: dict[str, str]) -> None:
        self.extra_env = env
        super().__init__()

    def command(self) -> list[str]:
        schedule = self.log.with_suffix(".schedule")
        return [str(VENV_BIN / "celery"), "-A", "qa_center", "beat", "-l", "INFO", "-s", str(schedule)]

    def env(self) -> dict[str, str]:
        return {**os.environ, **self.extra_env}


class WebServer(Managed):
    name = "web"

    def __init__(self, env: dict[str, str], *, port: int, workers: int = 2, threads: int = 1) -> None:
        self.extra_env, self.port, self.workers, self.threads = env, port, workers, threads
        super().__init__()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [
            str(VENV_BIN / "gunicorn"),
            "qa_center.wsgi",
            "-b",
            f"127.0.0.1:{self.port}",
            "-w",
            str(self.workers),
            "--threads",
            str(self.threads),
            "--timeout",
            "60",
            "--log-level",
            "warning",
        ]

    def env(self) -> dict[str, str]:
        return {**os.environ, **self.extra_env}

    def wait_ready(self) -> None:
        wait_for_port(self.port, timeout=20)
