"""A throwaway local PostgreSQL server: try many ``lhyrl tune`` workers on one machine.

:func:`throwaway_postgres` runs Debian's (or any) PostgreSQL programs: ``initdb`` in a new
temporary folder, then ``pg_ctl start`` on 127.0.0.1 at a free port (and a unix socket in that
folder), trusting local connections; on exit ``pg_ctl stop -m fast`` and the folder is deleted.
``initdb`` refuses to run as root, so as root the server runs as the ``postgres`` system user
(which Debian's package creates). The tests and ``benchmarks/hpo.py`` use it; a real study
across machines needs a real server.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path


class PostgresUnavailableError(RuntimeError):
    """No throwaway server can be had here (what is missing is in the message)."""


def binary(name: str) -> str | None:
    """A PostgreSQL program: Debian's newest ``/usr/lib/postgresql/<v>/bin``, else on PATH."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_version, reverse=True)
    return found[0] if found else shutil.which(name)


def _version(path: str) -> float:
    try:
        return float(Path(path).parts[4])
    except (IndexError, ValueError):
        return 0.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[str]:
    """Start a fresh PostgreSQL server; yields the URL of its ``postgres`` database.

    Raises:
        PostgresUnavailableError: If the driver, ``initdb``/``pg_ctl`` or (as root) the
            ``postgres`` user is missing, or the server does not start.
    """
    try:
        import psycopg  # noqa: F401  (the driver lhyrl gives SQLAlchemy for postgresql://)
    except ImportError as err:
        raise PostgresUnavailableError("pip install 'psycopg[binary]'") from err
    initdb, pg_ctl = binary("initdb"), binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        raise PostgresUnavailableError("no initdb/pg_ctl: apt-get install postgresql")
    as_user: list[str] = []
    folder = tempfile.mkdtemp(prefix="lhyrl-pg-")
    if os.geteuid() == 0:
        try:
            shutil.chown(folder, user="postgres", group="postgres")
        except (LookupError, PermissionError) as err:
            shutil.rmtree(folder)
            raise PostgresUnavailableError(
                f"initdb refuses root and there is no postgres user ({err})"
            ) from err
        as_user = ["runuser", "-u", "postgres", "--"]
    data, log, port = os.path.join(folder, "data"), os.path.join(folder, "server.log"), _free_port()

    def run(*args: str) -> None:
        out = subprocess.run([*as_user, *args], capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            tail = Path(log).read_text()[-2000:] if os.path.exists(log) else ""
            raise PostgresUnavailableError(
                f"{Path(args[0]).name} failed:\n{out.stdout}{out.stderr}{tail}"
            )

    try:
        run(initdb, "-D", data, "-U", "lhyrl", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        run(pg_ctl, "-D", data, "-l", log, "-o", options, "-w", "start")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    try:
        yield f"postgresql://lhyrl@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, pg_ctl, "-D", data, "-m", "fast", "-w", "stop"],
            capture_output=True,
            timeout=120,
        )
        shutil.rmtree(folder, ignore_errors=True)
