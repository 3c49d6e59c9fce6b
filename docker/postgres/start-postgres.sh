#!/bin/sh
# The hub's PostgreSQL: on the first start (an empty volume) make the cluster, whose one role
# `jupyterhub` owns the database `jupyterhub` and logs in with the password from the Docker
# secret; then run the server, reachable by password (scram-sha-256) from the stack's
# private network only (the stack puts it on no other).
set -eu
password_file=${DB_PASSWORD_FILE:-/run/secrets/db_password}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    [ -s "$password_file" ] || { echo "start-postgres: no password at $password_file" >&2; exit 1; }
    initdb --username=jupyterhub --pwfile="$password_file" --auth-local=peer \
        --auth-host=scram-sha-256 --encoding=UTF8 --no-instructions >/dev/null
    echo "host all all 0.0.0.0/0 scram-sha-256" >>"$PGDATA/pg_hba.conf"
    # The database, made in single-user mode: no server listens yet.
    echo "CREATE DATABASE jupyterhub OWNER jupyterhub" |
        postgres --single -D "$PGDATA" postgres >/dev/null
    echo "start-postgres: made the database cluster in $PGDATA"
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/var/run/postgresql
