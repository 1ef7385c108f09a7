"""Start the systems under test on free loopback ports, and read their CPU time from /proc.

Server CPU = utime + stime of the server's process tree (gunicorn or granian and their workers, or node),
read before and after a measurement; the load generator runs in this process and is not counted.
The PostgreSQL backends serving the system's database are read the same way and reported apart.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg


ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else "python3"
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn") if (ROOT / ".venv").exists() else "gunicorn"
GRANIAN = str(ROOT / ".venv" / "bin" / "granian") if (ROOT / ".venv").exists() else "granian"
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            tree.setdefault(ppid, []).append(int(entry))
    return tree


def cpu_seconds(pids: list[int], *, reaped_of: int | None = None) -> float:
    """utime + stime of these processes, in seconds (processes that are gone count 0).

    ``reaped_of``: also count the children that process has waited for (cutime + cstime), so that a
    gunicorn worker recycled during a measurement (``max_requests``) keeps counting through its master.
    """
    total = 0
    for pid in pids:
        try:
            fields_ = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields_[11]) + int(fields_[12])  # utime, stime (proc(5) fields 14 and 15)
        if pid == reaped_of:
            total += int(fields_[13]) + int(fields_[14])  # cutime, cstime (fields 16 and 17)
    return total / TICKS


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    children, found, todo = _children(), [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def admin_dsn(database_url: str) -> str:
    base, _, _name = database_url.partition("?")[0].rpartition("/")
    return f"{base}/postgres"


def recreate_database(database_url: str) -> None:
    """Drop and create the database a URL names (a fresh one per run: no tokens left from the last)."""
    if database_url.startswith("sqlite:"):
        path = Path(database_url.partition("?")[0].removeprefix("sqlite:///"))
        for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            stale.unlink(missing_ok=True)
        return
    name = database_url.partition("?")[0].rpartition("/")[2]
    with psycopg.connect(admin_dsn(database_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def database_backends(database_url: str) -> list[int]:
    """PIDs of the PostgreSQL backends connected to the database (if PostgreSQL runs on this machine).

    SQLite runs inside the server's processes: its CPU is already in the server's figure."""
    if not database_url.startswith("postgres"):
        return []
    name = database_url.partition("?")[0].rpartition("/")[2]
    with psycopg.connect(admin_dsn(database_url), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (name,)
        ).fetchall()
    return [pid for (pid,) in rows if Path(f"/proc/{pid}").exists()]


@dataclass
class System:
    """A running server: its name, base URL, process and what the scenarios need (credentials...)."""

    name: str
    base_url: str
    process: subprocess.Popen
    database_url: str = ""
    info: dict = field(default_factory=dict)
    log: Path | None = None

    def server_cpu(self) -> float:
        return cpu_seconds(tree(self.process.pid), reaped_of=self.process.pid)

    def db_pids(self) -> list[int]:
        return database_backends(self.database_url) if self.database_url else []

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_until_up(url: str, process: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited ({process.returncode}); log:\n{log.read_text()[-3000:]}")
        try:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=2)
            conn.request("GET", parts.path or "/")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {seconds} s; log:\n{log.read_text()[-3000:]}")


def run_checked(args: list[str], env: dict[str, str], cwd: Path = ROOT) -> str:
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return done.stdout


SERVERS = ("gthread", "sync", "granian")


def serve(
    server: str, wsgi: str, env: dict[str, str], port: int, workers: int, threads: int, log: Path
) -> subprocess.Popen:
    """Start a WSGI application (``package.wsgi``) under ``server``, one of SERVERS, on 127.0.0.1:port.

    gthread and sync: gunicorn, which also reads ./gunicorn.conf.py (the project's production settings);
    these flags win over it. granian: our IdP with the project's granian_conf.py (as ``make run``),
    DOT with the same settings on granian's command line. granian's workers are forked children of
    the granian process, so the process tree read by System.server_cpu holds them all, as it holds
    gunicorn's master and workers.
    """
    if server == "granian" and wsgi == "idp.wsgi":
        env = env | {"HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": str(workers)}
        env |= {"SERVER_THREADS": str(threads), "LOG_LEVEL": "warning"}
        args = [PYTHON, str(ROOT / "granian_conf.py")]
    elif server == "granian":
        args = [GRANIAN, f"{wsgi}:application", "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port)]
        args += [
            "--workers",
            str(workers),
            "--blocking-threads",
            str(threads),
            "--blocking-threads-idle-timeout",
            "600",
        ]
        args += ["--http", "1", "--no-ws", "--no-access-log", "--log-level", "warning"]
    else:
        args = [GUNICORN, wsgi, "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--log-level", "warning"]
        args += ["--worker-class", server] + (["--threads", str(threads)] if server == "gthread" else [])
    return subprocess.Popen(args, env=env, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT)
