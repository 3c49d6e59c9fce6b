"""The benchmark's own images, built on the local engine without a registry.

- ``ssbench/hub-dockerspawner``: FROM the project's hub image, plus dockerspawner 14.x, whose
  wheels are downloaded on the host for the image's Python (docker/pip-target.env), as
  scripts/images.sh does for the project's images.
- ``ssbench/tiny``: a tiny HTTP server on port 8888 (docker/bench/tiny).

Both tags are the benchmark's only; ``remove_images`` takes them away again.
"""

import os
import shlex
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_HUB_TAG = "ssbench/hub-dockerspawner:latest"
TINY_TAG = "ssbench/tiny:latest"
DOCKERSPAWNER_REQ = "dockerspawner>=14,<15"
PIP_TARGET_FILE = ROOT / "docker" / "pip-target.env"


def pip_target_env():
    """docker/pip-target.env as PIP_* variables (pip reads its options from them)."""
    values = {}
    for line in PIP_TARGET_FILE.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            values[name.strip()] = value.strip().strip('"')
    return values


def _run(cmd, **kwargs):
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout[-3000:]}\n"
            f"{result.stderr[-3000:]}"
        )
    return result.stdout


def _build(tag, dockerfile, context, build_args):
    cmd = ["docker", "build", "-q", "-f", str(dockerfile), "-t", tag]
    for key, value in build_args.items():
        cmd += ["--build-arg", f"{key}={value}"]
    env = {**os.environ, "DOCKER_BUILDKIT": "0"}
    _run(cmd + [str(context)], env=env)
    return _run(["docker", "image", "inspect", "--format", "{{.Id}}", tag]).strip()


def download_dockerspawner(dest):
    """dockerspawner 14.x and its dependencies as wheels for the image's Python."""
    dest = Path(dest)
    if any(dest.glob("dockerspawner-14.*.whl")):
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    pip = shlex.split(os.environ.get("PIP", "python3 -m pip"))
    _run(pip + ["download", "--quiet", "--disable-pip-version-check", "-d", str(dest),
                DOCKERSPAWNER_REQ], env={**os.environ, **pip_target_env()})
    return dest


def build_images(hub_image, base_image, log=print):
    """Build both images; returns {"bench_hub": id, "tiny": id, "dockerspawner": version}."""
    context = ROOT / "build" / "bench-hub"
    log("bench images: downloading dockerspawner 14.x wheels (once)")
    download_dockerspawner(context / "wheels")
    log(f"bench images: building {BENCH_HUB_TAG} from {hub_image}")
    bench_hub = _build(BENCH_HUB_TAG, ROOT / "docker/bench/hub/Dockerfile", context,
                       {"HUB_IMAGE": hub_image, "DOCKERSPAWNER_REQ": DOCKERSPAWNER_REQ})
    log(f"bench images: building {TINY_TAG} from {base_image}")
    tiny = _build(TINY_TAG, ROOT / "docker/bench/tiny/Dockerfile", ROOT / "docker/bench/tiny",
                  {"BASE_IMAGE": base_image})
    version = _run(["docker", "run", "--rm", "--entrypoint", "python3", bench_hub, "-c",
                    "import dockerspawner; print(dockerspawner.__version__)"]).strip()
    return {"bench_hub": bench_hub, "tiny": tiny, "dockerspawner": version}


def remove_images():
    for tag in (BENCH_HUB_TAG, TINY_TAG):
        subprocess.run(["docker", "image", "rm", tag], capture_output=True)
