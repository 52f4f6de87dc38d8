"""A throwaway PostgreSQL server for the tune tests (:func:`lhyrl.tune.postgres.throwaway_postgres`:
Debian's initdb and pg_ctl in a temporary folder, on 127.0.0.1, stopped after the session).

Without a server (no initdb, no postgres user under root, no psycopg) the tests that need it
skip, except under CI (``CI`` set), where they fail: ``make test`` installs Debian's postgresql.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from lhyrl.tune.postgres import PostgresUnavailableError, throwaway_postgres


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of a fresh PostgreSQL database, for the whole test session."""
    try:
        server = throwaway_postgres()
        url = server.__enter__()
    except PostgresUnavailableError as err:
        message = f"no PostgreSQL server for the tune tests: {err}"
        if os.environ.get("CI"):
            pytest.fail(message + " (under CI they must run: make test installs postgresql)")
        pytest.skip(message)
    try:
        yield url
    finally:
        server.__exit__(None, None, None)
