"""The hub's database: its password from a secret; SQLite committing without waiting for
the disk on every transaction.

JupyterHub commits its database on its one event loop, several times per spawn and per stop.
With SQLite's defaults each commit waits for fsync; on a busy 2-core node that was 30-70 ms,
so 100 users stopping at once kept the loop blocked for seconds (benchmarks/results/README.md).
In WAL mode with ``synchronous=NORMAL`` a commit is written to the log without fsync: the
database stays consistent, and what a power cut can lose is the last moments of commits.
"""

#: The `synchronous` settings the hub may run with (the env file's SQLITE_SYNCHRONOUS).
SQLITE_SYNCHRONOUS = ("NORMAL", "FULL")


def tune_sqlite(synchronous="NORMAL"):
    """For every SQLite database the hub opens from now on: WAL, and this ``synchronous``."""
    # Imported here: the env file's checks need the list above, not SQLAlchemy.
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if synchronous not in SQLITE_SYNCHRONOUS:
        raise ValueError(f"synchronous must be one of {', '.join(SQLITE_SYNCHRONOUS)}")

    @event.listens_for(Engine, "connect")
    def _on_connect(dbapi_connection, _record):
        if type(dbapi_connection).__module__.split(".")[0] != "sqlite3":
            return
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.close()


def with_password(url, password):
    """DB_URL (which holds no password: the env file is a Docker config) with the password
    from DB_PASSWORD_FILE's secret, for SQLAlchemy."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(password=password).render_as_string(hide_password=False)
