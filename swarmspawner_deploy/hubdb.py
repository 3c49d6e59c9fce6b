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


def sqlalchemy_url(url, password=None):
    """DB_URL (which holds no password: the env file is a Docker config) for SQLAlchemy: with
    the password from its secret, and a bare postgresql:// naming the driver the hub image has
    (psycopg2; SQLAlchemy 2.1 would pick psycopg 3)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg2")
    if password is not None:
        parsed = parsed.set(password=password)
    return parsed.render_as_string(hide_password=False)


#: Where the hub finds the stack's own PostgreSQL (DB_SERVICE=postgres): its service `db`, on
#: the stack's private network. No password here: it comes from the secret.
SERVICE_URL = "postgresql://jupyterhub@db:5432/jupyterhub"


def hub_url(env, secrets_dir="/run/secrets"):
    """The hub's database, for SQLAlchemy, as the hub and its tools in its container reach it:
    the stack's own (DB_SERVICE=postgres) or DB_URL, with the password secret if there is one."""
    import os

    path = os.path.join(secrets_dir, "db_password")
    password = open(path).read().strip() if os.path.isfile(path) else None
    return sqlalchemy_url(SERVICE_URL if env.DB_SERVICE == "postgres" else env.DB_URL, password)


def wait_for_server(url, timeout=120, interval=1.0, log=print):
    """Wait until the database's host accepts connections: the hub and its database start
    together, and a hub that finds no database at start-up exits. True when it does."""
    import socket
    import time

    from sqlalchemy.engine import make_url

    target = make_url(url)
    if not target.host:
        return True
    deadline = time.monotonic() + timeout
    said = False
    while True:
        try:
            socket.create_connection((target.host, target.port or 5432), timeout=interval).close()
            return True
        except OSError as error:
            if time.monotonic() >= deadline:
                log(f"the database at {target.host}:{target.port or 5432} did not answer within"
                    f" {timeout} s: {error}")
                return False
            if not said:
                log(f"waiting for the database at {target.host}:{target.port or 5432}: {error}")
                said = True
            time.sleep(interval)
