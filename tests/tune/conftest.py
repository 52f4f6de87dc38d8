"""A throwaway PostgreSQL server for the tune tests (Debian's package: initdb, then pg_ctl).

The server lives in a temporary folder, listens on 127.0.0.1 at a free port (and on a unix
socket in that folder), trusts local connections, and is stopped and deleted after the tests.
initdb refuses to run as root, so as root (CI) the server runs as the ``postgres`` system user
that Debian's package creates. Without a server (no initdb, no such user, no psycopg) the
tests that need it skip, except under CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


def _no_server(reason: str) -> None:
    message = f"no PostgreSQL server for the tune tests: {reason}"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI must run them: make test installs Debian's postgresql)")
    pytest.skip(message)


def _binary(name: str) -> str | None:
    """A PostgreSQL program: from Debian's versioned folder (newest first), else on PATH."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_version, reverse=True)
    return found[0] if found else shutil.which(name)


def _version(path: str) -> float:
    try:
        return float(path.split("/")[4])
    except (IndexError, ValueError):
        return 0.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of a fresh PostgreSQL database, for the whole test session."""
    try:
        import psycopg  # noqa: F401  (the driver lhyrl gives SQLAlchemy for postgresql://)
    except ImportError:
        _no_server("psycopg is not installed (pip install 'psycopg[binary]')")
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        _no_server("initdb/pg_ctl not found (apt-get install postgresql)")
    assert initdb is not None and pg_ctl is not None
    as_user: list[str] = []
    folder = tempfile.mkdtemp(prefix="lhyrl-pg-")
    if os.geteuid() == 0:
        try:
            shutil.chown(folder, user="postgres", group="postgres")
        except (LookupError, PermissionError) as err:
            shutil.rmtree(folder)
            _no_server(f"root cannot run initdb and there is no postgres user ({err})")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = os.path.join(folder, "data"), _free_port()

    def run(*args: str) -> None:
        out = subprocess.run([*as_user, *args], capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            log = os.path.join(folder, "server.log")
            tail = Path(log).read_text()[-2000:] if os.path.exists(log) else ""
            raise RuntimeError(f"{args[:2]} failed:\n{out.stdout}\n{out.stderr}\n{tail}")

    try:
        run(initdb, "-D", data, "-U", "lhyrl", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        run(
            pg_ctl,
            "-D",
            data,
            "-l",
            os.path.join(folder, "server.log"),
            "-o",
            options,
            "-w",
            "start",
        )
    except RuntimeError as err:
        shutil.rmtree(folder, ignore_errors=True)
        _no_server(str(err))
    try:
        yield f"postgresql://lhyrl@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", data, "-m", "fast", "-w", "stop"], timeout=120)
        shutil.rmtree(folder, ignore_errors=True)
