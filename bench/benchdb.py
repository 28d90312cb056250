"""The throwaway database a benchmark runs in.

Its name is the configured database's (DATABASE_URL) with `_bench_<label>` after it, so a
benchmark never meets the application's data nor the test database pytest makes from the same
URL (`test_<name>`): a benchmark and the test suite can run side by side on one DATABASE_URL,
and so can two different benchmarks. The database is created when the benchmark starts (one left
behind by an interrupted run of the same benchmark is dropped first) and dropped at the end.
"""

import contextlib
from collections.abc import Iterator

from django.db import connection
from django.test.utils import setup_test_environment, teardown_test_environment


def bench_database_name(label: str) -> str:
    base = connection.settings_dict["NAME"]
    name = f"{base}_bench_{label}"
    # Postgres cuts names at 63 bytes; two labels must not come out as one name.
    if len(name.encode()) > 63:
        raise SystemExit(f"The benchmark database name {name!r} is longer than Postgres allows.")
    if name == f"test_{base}":
        raise SystemExit(f"{name!r} is the test database's name; give the benchmark another.")
    return name


def bench_database_create(label: str) -> str:
    """Create the benchmark's database and point the default connection (and so
    `settings.DATABASES`, which subprocesses are given) at it; the configured name, for
    `bench_database_drop`."""
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = bench_database_name(label)
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    return old_name


def bench_database_drop(old_name: str) -> None:
    """Drop the benchmark's database and point the connection back at `old_name`."""
    connection.close()
    connection.creation.destroy_test_db(old_name, verbosity=0)
    teardown_test_environment()


@contextlib.contextmanager
def bench_database(label: str) -> Iterator[str]:
    """`bench_database_create` and, whatever happens inside, `bench_database_drop`."""
    old_name = bench_database_create(label)
    try:
        yield connection.settings_dict["NAME"]
    finally:
        bench_database_drop(old_name)
