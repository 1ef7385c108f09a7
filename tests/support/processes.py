"""Start and stop the servers that tests talk to over HTTP: subprocesses of this checkout on free loopback ports."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests


ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(env: dict[str, str], log: Path, *args: str, timeout: float) -> None:
    """Run ``manage.py`` of this checkout with ``env``; fail the session with the log's tail if it fails."""
    with log.open("a") as out:
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, stdout=out, stderr=out, timeout=timeout
        )
    if done.returncode:
        pytest.fail(f"manage.py {args[0]} failed:\n{log.read_text()[-3000:]}")


def is_up(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:  # not listening yet, or busy starting
        return False


def start(
    command: list[str], *, env: dict[str, str], log: Path, ready_url: str, deadline: float, pass_fds: tuple[int, ...]
) -> subprocess.Popen:
    """Start ``command`` and return once ``ready_url`` answers 200; fail with the log's tail otherwise."""
    with log.open("a") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out, pass_fds=pass_fds)
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if is_up(ready_url):
                return process
            time.sleep(0.1)
    except BaseException:  # interrupted: never leave a server behind
        stop(process)
        raise
    if process.poll() is None:
        stop(process)
        pytest.fail(f"{command[3]} did not answer {ready_url} in time:\n{log.read_text()[-3000:]}")
    pytest.fail(f"{command[3]} stopped (exit {process.returncode}):\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown: no waiting on kept-alive connections
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
