"""``pisa serve`` in a child process, for scripts, benchmarks and tests::

    with ServerProcess([config, checkpoint, "--queue", "8"], log_path="serve.log") as server:
        assess_file(server.url, "recital.mp4")

It listens on a free port (``--port 0`` unless the arguments give one), waits until
``/health`` answers, and is stopped (SIGTERM, then SIGKILL) when the block ends.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from pisa.serve.client import get_json

LISTENING = re.compile(r"pisa serve: listening on (http://\S+/)")


class ServerProcess:
    """A ``pisa serve ARGS`` child process; its standard output and error go to
    ``log_path`` (default: a temporary file). :attr:`url` is set once it answers."""

    def __init__(self, args: Sequence[str], env: Optional[Dict[str, str]] = None,
                 log_path: Optional[os.PathLike] = None, startup_timeout: float = 180.0) -> None:
        self.args: List[str] = [str(a) for a in args]
        if "--port" not in self.args:
            self.args += ["--port", "0"]
        self.env = dict(os.environ if env is None else env)
        self.log_path = Path(log_path) if log_path else Path(
            tempfile.mkstemp(prefix="pisa-serve-", suffix=".log")[1])
        self.startup_timeout = startup_timeout
        self.process: Optional[subprocess.Popen] = None
        self.url = ""

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> "ServerProcess":
        """Start the child and wait until ``/health`` answers 200; a child that exits
        first (or not in ``startup_timeout``) is a ``RuntimeError`` quoting its log."""
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "pisa.cli", "serve", *self.args], stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env)
        end = time.monotonic() + self.startup_timeout
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise RuntimeError(f"pisa serve exited with status {self.process.returncode}:\n"
                                   f"{self.log()[-3000:]}")
            found = LISTENING.search(self.log())
            if found:
                try:
                    status, _ = get_json(found.group(1) + "health", timeout=5)
                except OSError:
                    status = 0
                if status == 200:
                    self.url = found.group(1)
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"pisa serve did not answer within {self.startup_timeout:g} s:\n"
                           f"{self.log()[-3000:]}")

    def stop(self) -> Optional[int]:
        """Stop the child (SIGTERM, SIGKILL after 15 s); its exit status (uvicorn ends
        by the SIGTERM it shut down on: -15)."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
