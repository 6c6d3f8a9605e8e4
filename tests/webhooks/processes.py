"""Start and stop the receiver process; read what it accepted."""

import json
import socket
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Receiver:
    def __init__(self, secret: str, log: Path, *, status: int = 204, delay: float = 0, port: int | None = None):
        self.secret, self.log, self.status, self.delay = secret, log, status, delay
        self.port = port or free_port()
        self.process = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> "Receiver":
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(HERE / "receiver.py"),
                str(self.port),
                self.secret,
                str(self.log),
                str(self.status),
                str(self.delay),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout.readline().strip() == "ready"
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def accepted(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]
