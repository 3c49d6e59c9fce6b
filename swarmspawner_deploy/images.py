"""The images this project builds, by name: the one home of the names every tool uses.

The hub, single-user and database names are the env file's defaults (HUB_IMAGE,
SINGLEUSER_IMAGE, POSTGRES_IMAGE); each can be overridden from the environment, as
scripts/images.sh, the tests and the benchmark all read them from here:

    python -m swarmspawner_deploy.images     # NAME=value lines for a shell's eval
"""

import os
import shlex

from .envfile import BY_NAME

#: The Debian base every image is built FROM (made with debootstrap, no registry needed).
BASE_IMAGE = os.environ.get("BASE_IMAGE", "swarmspawner/base:bookworm")
HUB_IMAGE = os.environ.get("HUB_IMAGE", BY_NAME["HUB_IMAGE"].default)
SINGLEUSER_IMAGE = os.environ.get("SINGLEUSER_IMAGE", BY_NAME["SINGLEUSER_IMAGE"].default)
POSTGRES_IMAGE = os.environ.get("POSTGRES_IMAGE", BY_NAME["POSTGRES_IMAGE"].default)


def main():
    for name in ("BASE_IMAGE", "HUB_IMAGE", "SINGLEUSER_IMAGE", "POSTGRES_IMAGE"):
        print(f"{name}={shlex.quote(globals()[name])}")


if __name__ == "__main__":
    main()
