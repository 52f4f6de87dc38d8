"""A lock the workers of one study take to count its trials and then create one.

Without it two workers can both see one trial left in the budget and both create one. With
it, counting and creating (Optuna's ``ask``) happen one worker at a time, so a study holds
exactly ``n_trials`` trials however many workers share it. PostgreSQL studies use a session
advisory lock (released by the server when a killed worker's connection drops); SQLite
studies, whose workers share a machine, an exclusive ``flock`` on a file beside the database
(released by the kernel when a worker dies). Other storages get no lock: there the objective's
check refuses a trial numbered past the budget, which then ends FAIL.
"""

from __future__ import annotations

import zlib
from types import TracebackType
from typing import Any

from sqlalchemy.engine import make_url


class BudgetLock:
    """Serializes "count the trials, then create one" across the workers of a study."""

    def __init__(self, *, url: str, study_name: str) -> None:
        parsed = make_url(url)
        self._key = zlib.crc32(study_name.encode()) & 0x7FFFFFFF
        self._held = False
        self._connection: Any = None
        self._file: Any = None
        self._kind = "none"
        if parsed.get_backend_name() == "postgresql":
            import sqlalchemy
            from sqlalchemy.pool import NullPool

            engine = sqlalchemy.create_engine(url, poolclass=NullPool)
            self._connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self._kind = "postgresql"
        elif parsed.get_backend_name() == "sqlite" and parsed.database:
            try:
                import fcntl  # noqa: F401  (POSIX only)
            except ImportError:
                return
            self._file = open(f"{parsed.database}.lock", "a+")  # noqa: SIM115 (closed by close())
            self._kind = "file"

    def acquire(self) -> None:
        """Wait for the lock."""
        if self._kind == "postgresql":
            from sqlalchemy import text

            self._connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": self._key})
        elif self._kind == "file":
            import fcntl

            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX)
        self._held = True

    def release(self) -> None:
        """Let the next worker in (a no-op when not held)."""
        if not self._held:
            return
        self._held = False
        if self._kind == "postgresql":
            from sqlalchemy import text

            self._connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
        elif self._kind == "file":
            import fcntl

            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)

    def close(self) -> None:
        """Release the lock and its connection or file."""
        self.release()
        if self._connection is not None:
            self._connection.close()
        if self._file is not None:
            self._file.close()

    def __enter__(self) -> BudgetLock:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
