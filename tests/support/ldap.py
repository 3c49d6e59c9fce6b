"""The tests' directory: Debian's slapd in a container (slapd/: dc=example,dc=org with ann in
the group students, bob and cat outside it, and a reader account for searches)."""

import os
import subprocess
from pathlib import Path

IMAGE = "swarmspawner-test/slapd"
BASE = "dc=example,dc=org"
PEOPLE = f"ou=people,{BASE}"
STUDENTS = f"cn=students,ou=groups,{BASE}"
READER = (f"cn=reader,{BASE}", "reader-pass-4")
ANN, BOB = ("ann", "ann-pass-1234"), ("bob", "bob-pass-1234")  # in students; outside
CAT = ("cat", "cat-pass-1234")  # outside students: the tests make cat an admin


def build_image():
    """Build the directory's image on this machine's engine (cached after the first time)."""
    subprocess.run(["docker", "build", "-q", "--build-arg", "BASE_IMAGE=swarmspawner/base:bookworm",
                    "-t", IMAGE, str(Path(__file__).resolve().parent / "slapd")],
                   check=True, capture_output=True, env={**os.environ, "DOCKER_BUILDKIT": "0"})
    return IMAGE
