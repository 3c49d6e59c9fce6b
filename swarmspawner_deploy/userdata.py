"""Where each user's files live: ``swarmspawner-userdata list [--json]``.

Runs in the hub's container, which sees the hub's database and, with shared storage, the
users' directories (``swarmspawner-stack userdata`` runs it there from a manager). For
node-local volumes it names the node each user's servers are kept on, from the servers'
saved state.
"""

import argparse
import json
import os
import sys

from swarmspawner import slugs
from swarmspawner.objects import expand_template

from .envfile import load
from .hubdb import hub_url


def volume_name(template, username):
    return expand_template(template, slugs.template_fields(username))


def locations(env, users):
    """One row per user: ``users`` is (name, {server name: saved state}) pairs."""
    rows = []
    for name, states in users:
        row = {"user": name, "storage": env.USER_STORAGE}
        if env.USER_STORAGE == "shared":
            path = os.path.join(env.USER_STORAGE_PATH, slugs.user_slug(name))
            row["directory"] = path
            if os.path.isdir(path):
                info = os.stat(path)
                row["owner"] = f"{info.st_uid}:{info.st_gid}"
                row["mode"] = oct(info.st_mode & 0o777)
            else:
                row["directory_missing"] = True  # made at the user's first start
        elif env.USER_STORAGE == "local":
            row["volume"] = volume_name(env.USER_VOLUME, name)
            nodes = sorted({s["volume_node"].get("name") or s["volume_node"]["id"]
                            for s in states.values() if s.get("volume_node")})
            row["node"] = nodes[0] if len(nodes) == 1 else nodes or None
        rows.append(row)
    return rows


def read_users(db_url):
    from jupyterhub import orm  # the hub's own database layer; only in the hub's image

    session = orm.new_session_factory(db_url)()
    try:
        return [(user.name, {name: dict(s.state or {}) for name, s in user.orm_spawners.items()})
                for user in session.query(orm.User).order_by(orm.User.name)]
    finally:
        session.close()


def describe(row):
    if row["storage"] == "shared":
        where = row["directory"] + (" (not made yet: no start so far)"
                                    if row.get("directory_missing")
                                    else f" (owner {row['owner']}, mode {row['mode']})")
    elif row["storage"] == "local":
        where = f"volume {row['volume']} on node {row['node'] or '(none yet: no start so far)'}"
    else:
        where = "nothing kept (USER_STORAGE=none)"
    return f"{row['user']}\t{row['storage']}\t{where}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["list"])
    parser.add_argument("--env", default=os.environ.get("SWARMSPAWNER_ENV_FILE", ".env"))
    parser.add_argument("--json", action="store_true", help="one JSON list of rows")
    args = parser.parse_args(argv)
    env = load(args.env, check_files=False)
    rows = locations(env, read_users(hub_url(env)))
    if args.json:
        json.dump(rows, sys.stdout, indent=1)
        print()
    else:
        for row in rows:
            print(describe(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
