#!/usr/bin/env python3
"""Build the project's wheel into DIR and print its file name: ``scripts/wheel.py DIR``.

Byte-identical for the same source (a fixed SOURCE_DATE_EPOCH), so an image layer or a
copy onto a node changes only when the code did. Used by scripts/images.sh and the
Ansible stack role.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main():
    out = Path(sys.argv[1]).resolve()
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("swarmspawner-*.whl"):
        old.unlink()
    # setuptools stages the files in build/: what an earlier build left there (a module
    # since moved or removed) would end up in the wheel.
    for stale in (ROOT / "build" / "lib", *ROOT.glob("build/bdist.*")):
        shutil.rmtree(stale, ignore_errors=True)
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
         "--no-deps", "-w", str(out), str(ROOT)],
        capture_output=True, text=True, env={**os.environ, "SOURCE_DATE_EPOCH": "315532800"},
    )
    if build.returncode != 0:  # setuptools' warnings are shown only when the build fails
        sys.exit(f"wheel: pip wheel failed:\n{build.stdout}{build.stderr}")
    shutil.rmtree(ROOT / "build" / "lib", ignore_errors=True)
    print(next(out.glob("swarmspawner-*.whl")).name)


if __name__ == "__main__":
    main()
