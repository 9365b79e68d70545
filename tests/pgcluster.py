"""A throwaway PostgreSQL server for the tests and the benchmarks: Debian's initdb/pg_ctl on a temporary
directory and a loopback port, password authentication (scram), stopped and removed afterwards.

initdb refuses to run as root, and CI runs as root: the server's commands then run as the `postgres` user.
"""
from __future__ import annotations

import glob
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

USER, PASSWORD = "qcikit", "qcikit-test-secret"


def bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd: list[str], as_postgres: bool) -> None:
    if as_postgres:
        cmd = ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(cmd)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if done.returncode:
        raise RuntimeError(f"{shlex.join(cmd)} failed: {done.stdout}\n{done.stderr}")


@contextmanager
def cluster(fsync: bool = True):
    """Start a server; yield its superuser URL (with password) to the `postgres` database."""
    bins = bindir()
    if bins is None:
        raise FileNotFoundError("no /usr/lib/postgresql/*/bin/initdb: apt-get install postgresql")
    root = os.geteuid() == 0
    tmp = Path(tempfile.mkdtemp(prefix="qcikit-pg-"))
    data, pwfile, log = tmp / "data", tmp / "pw", tmp / "log"
    pwfile.write_text(PASSWORD + "\n")
    if root:
        shutil.chown(tmp, "postgres")
        shutil.chown(pwfile, "postgres")
    port = _free_port()
    _run([str(bins / "initdb"), "-D", str(data), "-U", USER, f"--pwfile={pwfile}", "--auth=scram-sha-256",
          "-E", "UTF8", "--no-sync", "--locale=C"], root)
    opts = f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c max_connections=100" + ("" if fsync else " -c fsync=off")
    _run([str(bins / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(log), "-w", "-t", "60", "start"], root)
    try:
        yield f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{port}/postgres"
    finally:
        try:
            _run([str(bins / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], root)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def new_database(admin_url: str) -> str:
    """A fresh, empty database on the server; returns its URL."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(admin_url, autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}")
    return admin_url.rsplit("/", 1)[0] + "/" + name
