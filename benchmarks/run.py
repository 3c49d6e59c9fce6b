"""`make bench`: this spawner against dockerspawner 14.x's SwarmSpawner and the raw swarm floor.

One run on this machine's single-node swarm. Both spawners run in a real JupyterHub 6.1.1 in a
container of the same hub image (the benchmark's copy adds dockerspawner), on the same overlay
network, with the same notebook image, and are driven only through the hub's REST API. Each
hub talks to the engine through a counting proxy (tests/support/docker_socket_counter.py).
The floor creates the same services straight through the Docker API (benchmarks/floor.py).

Phases, interleaved system by system so that load from elsewhere on the machine hits all
three alike: for each image and N, the floor, then this spawner, then dockerspawner:
N servers asked for at once, each timed from its request to ready; then, with the N servers
running, the engine requests and the hub's CPU over an idle window; then all N stopped at once.

    python -m benchmarks.run [--notebook-n 1,10,30] [--tiny-n 30,100] [--idle-n 500]
                             [--out benchmarks/results]

N's also come from BENCH_NOTEBOOK_N / BENCH_TINY_N / BENCH_IDLE_N (comma-separated; empty
skips that phase). The idle phase (none by default) has each hub hold N tiny servers: their
requests and the hub's CPU and memory while they idle, the hub restarted to adopt them, then
all stopped.
"""

import argparse
import collections
import contextlib
import datetime
import json
import os
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import textwrap
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker

from benchmarks import images, report
from benchmarks.lab import SERVER_CONSTRAINTS, Lab
from swarmspawner_deploy.images import BASE_IMAGE, HUB_IMAGE, POSTGRES_IMAGE, SINGLEUSER_IMAGE
from tests.support.docker_socket_counter import DockerSocketCounter
from tests.support.hub import Hub

ROOT = Path(__file__).resolve().parent.parent
# The hubs' logs of the last run (not results: they name users and addresses).
LOGS = ROOT / "build" / "bench"
NETWORK = "ssbench-overlay"
SUBNET = "10.213.12.0/22"
TINY_CMD = ["python3", "/usr/local/bin/ssbench-httpd"]
#: Every system the benchmark knows, in the order it runs them. swarmspawner-pg: this spawner
#: with its hub on PostgreSQL (the stack's DB_SERVICE=postgres image) instead of SQLite;
#: swarmspawner-dp: this spawner reaching the engine through the stack's Docker proxy
#: (swarmspawner-docker-proxy), as the deployed hub does; swarmspawner-bootK (any K, e.g.
#: swarmspawner-boot4): this spawner with boot_limit_per_node = K (0: no limit); jupyterhub:
#: JupyterHub with a spawner that starts nothing, the hub's own floor
#: (benchmarks/jupyterhub_alone.py).
SYSTEMS = ("floor", "jupyterhub", "swarmspawner", "swarmspawner-dp", "swarmspawner-pg",
           "dockerspawner")
BOOT_SYSTEM = re.compile(r"^swarmspawner-boot(\d+)$")
#: What `make bench` runs unless BENCH_SYSTEMS says otherwise: this spawner as configured by
#: default (boot admission on) and without boot admission.
DEFAULT_SYSTEMS = ("floor", "swarmspawner", "swarmspawner-boot0", "dockerspawner")
#: Each hub's code in its names (services, containers).
CODES = {"jupyterhub": "jh", "swarmspawner": "ss", "swarmspawner-dp": "sd",
         "swarmspawner-pg": "sp", "dockerspawner": "ds"}
#: Hubs in one run, at most (each has an address of its own).
MAX_HUBS = 8


def code(kind):
    boot = BOOT_SYSTEM.match(kind)
    return f"b{boot.group(1)}" if boot else CODES[kind]


def parse_systems(text):
    """The systems asked for, in the benchmark's order (boot limits by K, after swarmspawner)."""
    asked = [s for s in text.replace(" ", "").split(",") if s]
    unknown = [s for s in asked if s not in SYSTEMS and not BOOT_SYSTEM.match(s)]
    if unknown:
        raise SystemExit(f"unknown systems {', '.join(unknown)}: the benchmark knows"
                         f" {', '.join(SYSTEMS)} and swarmspawner-bootK")
    boots = sorted((s for s in set(asked) if BOOT_SYSTEM.match(s)),
                   key=lambda s: int(BOOT_SYSTEM.match(s).group(1)))
    systems = [s for s in SYSTEMS if s in asked]
    after = [s for s in ("swarmspawner", "floor") if s in systems]
    at = systems.index(after[0]) + 1 if after else 0
    systems[at:at] = boots
    hubs = [s for s in systems if s != "floor"]
    if len(hubs) > MAX_HUBS:
        raise SystemExit(f"at most {MAX_HUBS} hubs in one run")
    return systems


# Hubs get fixed addresses at the top of the subnet (services are given the low ones), eight
# per run id so that two runs at once do not collide.
def hub_ip(run_id, index):
    slot = int(run_id, 16) % 30
    return f"10.213.15.{2 + MAX_HUBS * slot + index}"

# Both hubs: no spawn limit, long timeouts (100 at once on 2 cores), the image per user name.
COMMON_CONFIG = """
c.JupyterHub.concurrent_spawn_limit = 0
c.JupyterHub.api_page_default_limit = 200
c.Spawner.start_timeout = 300
c.Spawner.http_timeout = {server_timeout}
c.Spawner.poll_interval = {poll_interval}
_TINY_CMD = {tiny_cmd!r}
def _bench_image(spawner):
    if spawner.user.name.startswith("tiny"):
        # The tiny image's current ID: the driver rebuilds it should it go missing.
        with open("/srv/jupyterhub/tiny-image") as f:
            spawner.image = f.read().strip()
        spawner.cmd = list(_TINY_CMD)
c.Spawner.pre_spawn_hook = _bench_image
"""

# This spawner with its defaults, but its idle listing at half the poll interval as by
# default (watch_interval 15 s, poll_interval 30 s), scaled to the benchmark's poll interval.
SWARMSPAWNER_CONFIG = """
c.SwarmSpawner.watch_interval = {watch_interval}
"""

# The hub's database on PostgreSQL, as the stack's DB_SERVICE=postgres runs it (its image, the
# same driver and pool settings), in a container of its own on the benchmark's network.
POSTGRES_CONFIG = """
c.JupyterHub.db_url = {url!r}
c.JupyterHub.db_kwargs = {{"pool_pre_ping": True}}
"""

# JupyterHub alone: its servers are one shared answer in its container (the module's docstring).
JUPYTERHUB_ALONE_CONFIG = """
import sys
sys.path.insert(0, "/srv/jupyterhub")
from jupyterhub_alone import NoServerSpawner, start_answering
start_answering()
c.JupyterHub.spawner_class = NoServerSpawner
"""
# The files it needs in the hub's folder.
JUPYTERHUB_ALONE_FILES = (ROOT / "benchmarks" / "jupyterhub_alone.py",
                          ROOT / "docker" / "bench" / "tiny" / "ssbench-httpd.py")

# dockerspawner 14.x's SwarmSpawner as its documentation configures it for a swarm: the overlay
# network (network_name; use_internal_ip follows), here endpoint mode dnsrr (no IPVS here) and
# the image's HEALTHCHECK off, as this spawner and the floor run it (otherwise the task stays
# "starting", and out of DNS, until the first check passes ~30 s later).
DOCKERSPAWNER_CONFIG = """
c.JupyterHub.spawner_class = "dockerspawner.SwarmSpawner"
c.SwarmSpawner.network_name = {network!r}
c.SwarmSpawner.prefix = {prefix!r}
c.SwarmSpawner.extra_endpoint_spec = {{"mode": "dnsrr"}}
c.SwarmSpawner.extra_container_spec = {{"healthcheck": {{"Test": ["NONE"]}}}}
"""


# On a lab: the hub reaches the engine through the counting proxy on this machine, by TCP, and
# users' servers run on the workers.
LAB_CONFIG = {
    "swarmspawner": """
c.SwarmSpawner.docker_host = {url!r}
c.SwarmSpawner.placement_constraints = {constraints!r}
""",
    "dockerspawner": """
c.SwarmSpawner.client_kwargs = {{"base_url": {url!r}}}
c.SwarmSpawner.extra_placement_spec = {{"constraints": {constraints!r}}}
""",
}


def log(*args):
    print(time.strftime("%H:%M:%S"), *args, flush=True)


def parse_ns(text):
    return [int(x) for x in text.replace(" ", "").split(",") if x]


def summarize(latencies):
    if not latencies:
        return {"p50": None, "p95": None, "max": None}
    ordered = sorted(latencies)
    # nearest-rank percentiles
    def pct(p):
        return ordered[max(0, min(len(ordered) - 1, -(-len(ordered) * p // 100) - 1))]
    return {"p50": statistics.median(ordered), "p95": pct(95), "max": ordered[-1]}


# --- set-up -------------------------------------------------------------------------------


def ensure_network(client):
    try:
        net = client.networks.get(NETWORK)
        if net.attrs["IPAM"]["Config"][0]["Subnet"] == SUBNET:
            return
        net.remove()
    except docker.errors.NotFound:
        pass
    client.networks.create(
        NETWORK, driver="overlay", attachable=True,
        ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=SUBNET)]),
    )


def container_cpu_seconds(client, container_id):
    """CPU seconds the container has used: its cgroup's cpuacct, or the engine's stats."""
    for path in (f"/sys/fs/cgroup/cpuacct/docker/{container_id}/cpuacct.usage",
                 f"/sys/fs/cgroup/cpu,cpuacct/docker/{container_id}/cpuacct.usage"):
        try:
            return int(Path(path).read_text()) / 1e9
        except OSError:
            pass
    for path in (f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope/cpu.stat",
                 f"/sys/fs/cgroup/docker/{container_id}/cpu.stat"):
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith("usage_usec"):
                    return int(line.split()[1]) / 1e6
        except OSError:
            pass
    stats = client.api.stats(container_id, stream=False, one_shot=True)
    return stats["cpu_stats"]["cpu_usage"]["total_usage"] / 1e9


# Run inside the hub's container (so the same on a lab node): each process's command line, CPU
# seconds (utime + stime) and resident MB, from /proc.
_PROCESS_PROBE = r"""
import json, os
tick, page = os.sysconf("SC_CLK_TCK"), os.sysconf("SC_PAGE_SIZE")
found = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().replace(b"\0", b" ").decode(errors="replace")
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/statm") as f:
            rss = int(f.read().split()[1])
    except OSError:
        continue
    found.append([args, (int(stat[11]) + int(stat[12])) / tick, rss * page / 2**20])
print(json.dumps(found))
"""


def hub_processes(container, attempts=3):
    """The hub's container split by process: {"hub": (CPU s, RSS MB), "proxy": (...)}, the
    hub being JupyterHub's process and the proxy the configurable-http-proxy it started (in
    the deployed stack the proxy is a service of its own)."""
    for attempt in range(1, attempts + 1):
        # On the lab the exec's output crosses an SSH-forwarded socket, and it once came back
        # empty: asked again.
        result = container.exec_run(["python3", "-c", _PROCESS_PROBE])
        try:
            found = json.loads(result.output)
            break
        except ValueError:
            if attempt == attempts:
                raise RuntimeError(f"the process probe in {container.name} printed"
                                   f" {result.output[:200]!r} (exit {result.exit_code})") from None
            time.sleep(0.5)
    split = {}
    for args, cpu, rss in found:
        role = ("proxy" if "configurable-http-proxy" in args
                else "hub" if "jupyterhub" in args else None)
        if role:
            seconds, mb = split.get(role, (0.0, 0.0))
            split[role] = (seconds + cpu, max(mb, rss))  # max: the hub, not a shell that ran it
    return split


# --- the spawners, through the hub's REST API ---------------------------------------------


def wait_until_ready(container, check, timeout):
    """Run ``check`` in the container until it exits 0."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if container.exec_run(check).exit_code == 0:
            return
        time.sleep(0.5)
    raise RuntimeError(f"{container.name}: {' '.join(check)} did not pass within {timeout} s")


class Postgres:
    """The PostgreSQL of the stack's DB_SERVICE=postgres, as a container on the benchmark's
    network; its password in a file mounted where the stack mounts its secret."""

    def __init__(self, client, workdir, run_id):
        self.client = client
        self.name = f"ssbench-pg-{run_id}"
        self.password_file = Path(workdir) / "db_password"
        self.password_file.parent.mkdir(parents=True, exist_ok=True)
        self.password_file.write_text(secrets.token_hex(16) + "\n")
        self.password_file.chmod(0o644)  # read by the image's postgres user
        password = self.password_file.read_text().strip()
        self.url = f"postgresql+psycopg2://jupyterhub:{password}@{self.name}:5432/jupyterhub"
        self.container = None

    def start(self, timeout=120):
        self.container = self.client.containers.run(
            POSTGRES_IMAGE, name=self.name, detach=True, network=NETWORK,
            volumes={str(self.password_file): {"bind": "/run/secrets/db_password", "mode": "ro"}})
        wait_until_ready(self.container, ["pg_isready", "-q", "-h", "127.0.0.1", "-U",
                                          "jupyterhub", "-d", "jupyterhub"], timeout)
        return self

    def remove(self):
        if self.container is not None:
            with contextlib.suppress(docker.errors.NotFound):
                self.container.remove(force=True, v=True)


class DockerProxy:
    """The stack's Docker proxy (swarmspawner-docker-proxy, from the hub image) in a container
    on the benchmark's network, in front of the counting proxy's socket: what the deployed hub
    reaches the engine through."""

    def __init__(self, client, image, socket_path, hub_id, run_id):
        self.client = client
        self.image = image
        self.socket_path = socket_path
        self.hub_id = hub_id
        self.name = f"ssbench-dp-{run_id}"
        self.url = f"tcp://{self.name}:2375"
        self.container = None

    def start(self, timeout=60):
        self.container = self.client.containers.run(
            self.image, ["swarmspawner-docker-proxy", "--hub-id", self.hub_id,
                         "--network", NETWORK],
            name=self.name, detach=True, network=NETWORK,
            volumes={self.socket_path: {"bind": "/var/run/docker.sock", "mode": "rw"}})
        wait_until_ready(self.container, ["python3", "/usr/local/bin/healthcheck",
                                          "http://localhost:2375/_ping"], timeout)
        return self

    def remove(self):
        if self.container is not None:
            LOGS.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(Exception):
                (LOGS / "docker-proxy.log").write_bytes(self.container.logs())
            with contextlib.suppress(docker.errors.NotFound):
                self.container.remove(force=True)


class HubSystem:
    def __init__(self, kind, client, workdir, run_id, hub_image, notebook_image, tiny_image,
                 poll_interval, index, lab=None, server_timeout=600):
        self.kind = kind
        self.client = client
        self.poll_interval = poll_interval
        self.lab = lab
        if lab is None:
            self.counter = DockerSocketCounter(str(Path(workdir) / f"{kind}.sock")).start()
        else:  # the hub is on the lab's manager: it reaches the counter here by TCP
            self.counter = DockerSocketCounter(f"tcp://{lab.local_address}:0",
                                               engine_path=str(lab.socket)).start()
        extra = COMMON_CONFIG.format(poll_interval=poll_interval, tiny_cmd=TINY_CMD,
                                     server_timeout=server_timeout)
        self.database = None
        boot = BOOT_SYSTEM.match(kind)
        if boot:
            extra += f"c.SwarmSpawner.boot_limit_per_node = {int(boot.group(1))}\n"
        if kind.startswith("swarmspawner"):
            extra += SWARMSPAWNER_CONFIG.format(watch_interval=poll_interval / 2)
        elif kind == "jupyterhub":
            extra += JUPYTERHUB_ALONE_CONFIG
        else:
            extra += DOCKERSPAWNER_CONFIG.format(network=NETWORK, prefix=f"ssbench-ds{run_id}")
        if lab is not None:
            extra += LAB_CONFIG["dockerspawner" if kind == "dockerspawner" else "swarmspawner"]\
                .format(url=self.counter.url, constraints=SERVER_CONSTRAINTS)
        # Each hub its own label value: two swarmspawner hubs must not adopt each other's.
        self.hub_id = f"ssbench-{run_id}" + ("" if kind in ("swarmspawner", "dockerspawner")
                                            else f"-{code(kind)}")
        if kind == "swarmspawner-pg":
            self.database = Postgres(client, Path(workdir) / "postgres", run_id)
            extra += POSTGRES_CONFIG.format(url=self.database.url)
        self.docker_proxy = None
        if kind == "swarmspawner-dp":
            self.docker_proxy = DockerProxy(client, hub_image, self.counter.listen_path,
                                            self.hub_id, run_id)
            extra += f"c.SwarmSpawner.docker_host = {self.docker_proxy.url!r}\n"
        self.run_id = run_id
        self.hub = Hub(
            client, Path(workdir) / kind, image=hub_image, singleuser_image=notebook_image,
            network=NETWORK, hub_id=self.hub_id, prefix=f"ssbench-{code(kind)}{run_id}",
            name=f"ssbench-hub-{kind}-{run_id}", extra_config=textwrap.dedent(extra),
            docker_socket=None if self.docker_proxy or lab else self.counter.listen_path,
            ip=hub_ip(run_id, index), publish_ip=lab.publish_ip if lab else "127.0.0.1",
        )
        if kind == "jupyterhub":
            for source in JUPYTERHUB_ALONE_FILES:
                shutil.copy(source, self.hub.workdir)
        self.set_tiny_image(tiny_image)

    def start(self):
        for part in (self.database, self.docker_proxy):
            if part:
                part.start()
        if self.lab:
            self.lab.push(self.hub.workdir)
        self.hub.start(timeout=120)
        return self

    def set_tiny_image(self, image_id):
        (self.hub.workdir / "tiny-image").write_text(image_id + "\n")
        if self.lab and self.hub.container is not None:
            self.lab.push(self.hub.workdir)

    def close(self):
        # Kept for reading where the time went (timestamps of each spawn and stop step).
        LOGS.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(Exception):
            (LOGS / f"hub-{self.kind}.log").write_text(self.hub.logs())
        self.hub.remove()
        for part in (self.database, self.docker_proxy):
            if part:
                part.remove()
        self.counter.stop()

    def service_prefix(self):
        return f"ssbench-{code(self.kind)}{self.run_id}-"

    def _spawn_one(self, user, timeout):
        started = time.monotonic()
        try:
            response = self.hub.api("POST", f"/users/{user}/server", json={})
            if response.status_code not in (201, 202):
                return None, None, f"{user}: HTTP {response.status_code} {response.text[:200]}"
            if response.status_code == 202:
                ready, events = self.hub.follow_progress(user, timeout=timeout)
                if not ready:
                    return None, None, f"{user}: {events[-1].get('message') if events else 'no events'}"
            return started, time.monotonic(), None
        except Exception as e:  # noqa: BLE001 - one user's failure is a figure, not a crash
            return None, None, f"{user}: {e!r}"

    def phase(self, users, idle_window, timeout=900):
        response = self.hub.api("POST", "/users", json={"usernames": users})
        assert response.status_code in (201, 409), response.text
        result = {}
        barrier = threading.Barrier(len(users))

        def go(user):
            barrier.wait()
            return self._spawn_one(user, timeout)

        with ThreadPoolExecutor(max_workers=len(users)) as pool:
            outcomes = list(pool.map(go, users))
        done = [(start, end) for start, end, _ in outcomes if end is not None]
        latencies = sorted(end - start for start, end in done)
        errors = [e for _, _, e in outcomes if e]
        result["latencies"] = latencies
        result["errors"] = errors
        # From the first request to the last server ready.
        result["all_ready"] = (max(e for _, e in done) - min(s for s, _ in done)
                               if done and not errors else None)
        result.update(summarize(latencies))
        result["server_nodes"] = self.server_nodes()

        # N servers running, nothing starting: the engine requests and the hub's CPU.
        if idle_window > 0 and latencies:
            time.sleep(min(3.0, self.poll_interval))  # let the busy listings of the spawns end
            result.update(self.idle_sample(idle_window))

        result.update(self.stop_all(users))
        return result

    def server_nodes(self):
        """Where this hub's servers run now: node hostname -> how many (straight from the
        engine, not through the counting proxy)."""
        api = self.client.api
        services = {s["ID"] for s in api.services(filters={"name": self.service_prefix()})}
        names = {n["ID"]: n["Description"]["Hostname"] for n in api.nodes()}
        found = collections.Counter(
            names.get(task.get("NodeID"), "?")
            for task in api.tasks(filters={"desired-state": "running"})
            if task["ServiceID"] in services)
        return dict(sorted(found.items()))

    def idle_sample(self, window):
        """Over ``window`` seconds of nothing starting: the engine requests, the hub's CPU, and
        its memory at the end."""
        container = self.hub.container
        cpu0, split0 = container_cpu_seconds(self.client, container.id), hub_processes(container)
        since = time.monotonic()
        time.sleep(window)
        until = time.monotonic()
        cpu1, split1 = container_cpu_seconds(self.client, container.id), hub_processes(container)
        count = self.counter.count(since=since, until=until)

        def percent(role):
            if role not in split0 or role not in split1:
                return None  # not running at one end of the window
            return 100 * (split1[role][0] - split0[role][0]) / (until - since)

        return {"idle_window": until - since, "requests": count,
                "requests_per_poll": count / ((until - since) / self.poll_interval),
                "requests_by_path": dict(self.counter.by_path(since).most_common(8)),
                "hub_cpu_percent": percent("hub"), "proxy_cpu_percent": percent("proxy"),
                "container_cpu_percent": 100 * (cpu1 - cpu0) / (until - since),
                "hub_rss_mb": split1.get("hub", (None, None))[1]}

    def hold(self, n, idle_window, samples=3, in_flight=100, timeout=1800):
        """N tiny servers held: started with at most ``in_flight`` requests at once; while they
        idle, ``samples`` windows of requests, CPU and memory; the hub restarted ``samples``
        times, each until it shows all N ready again (adoption); then all N stopped at once."""
        users = [f"tiny{n}hold{i}" for i in range(n)]
        response = self.hub.api("POST", "/users", json={"usernames": users}, timeout=120)
        assert response.status_code in (201, 409), response.text
        s0 = time.monotonic()
        with ThreadPoolExecutor(max_workers=min(n, in_flight)) as pool:
            outcomes = list(pool.map(lambda user: self._spawn_one(user, timeout), users))
        errors = [e for _, _, e in outcomes if e]
        ends = [end for _, end, _ in outcomes if end is not None]
        result = {"in_flight": in_flight, "errors": errors,
                  "latencies": sorted(end - start for start, end, _ in outcomes if end),
                  "all_ready": max(ends) - s0 if ends and not errors else None}
        result.update(summarize(result["latencies"]))
        # Idle: one poll interval after the last start, so the first window is not the tail
        # of the starts (each start's own checks and the hub's commits end within it).
        time.sleep(self.poll_interval)
        idle = [self.idle_sample(idle_window) for _ in range(samples)]
        adopt = [self.restart_until_ready(n, timeout) for _ in range(samples)]
        # ...and idle again after the last restart: what a restarted hub costs.
        time.sleep(self.poll_interval)
        idle.append(self.idle_sample(idle_window))
        result["idle_samples"] = idle
        result["adopt_seconds_samples"] = adopt
        for key in ("requests_per_poll", "hub_cpu_percent", "proxy_cpu_percent",
                    "container_cpu_percent", "hub_rss_mb"):
            values = [s[key] for s in idle if s[key] is not None]
            result[key] = statistics.median(values) if values else None
        result["requests_by_path"] = idle[-1]["requests_by_path"]
        result["adopt_seconds"] = statistics.median(a for a in adopt if a is not None) if all(
            a is not None for a in adopt) else None
        result.update(self.stop_all(users, timeout=timeout))
        return result

    def restart_until_ready(self, n, timeout):
        """Seconds from restarting the hub's container until its API lists all N servers ready."""
        started = time.monotonic()
        self.hub.restart_container()
        deadline = started + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                response = self.hub.api(
                    "GET", "/users?state=ready&limit=1",
                    headers={"Accept": "application/jupyterhub-pagination+json"}, timeout=10)
                if (response.status_code == 200
                        and response.json()["_pagination"]["total"] >= n):
                    return time.monotonic() - started
            time.sleep(0.5)
        return None

    def stop_all(self, users, timeout=300):
        """Stop every server at once; stopped when each user's DELETE says so (204), or for a
        202, when that user's model shows no server. Not by listing all users in a tight loop:
        that request costs the hub more than a stop does, and both hubs would be measured
        answering the benchmark instead of stopping servers."""
        s0 = time.monotonic()

        def delete(user):
            code = self.hub.api("DELETE", f"/users/{user}/server").status_code
            return user, code, time.monotonic()

        with ThreadPoolExecutor(max_workers=min(len(users), 32)) as pool:
            answers = list(pool.map(delete, users))
        stopped = [t for _, code, t in answers if code == 204]
        pending = {user for user, code, _ in answers if code == 202}
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            for user in sorted(pending):
                model = self.hub.api("GET", f"/users/{user}").json()
                if not model.get("servers", {}).get(""):
                    pending.discard(user)
                    stopped.append(time.monotonic())
            time.sleep(0.25)
        stop_seconds = max(stopped) - s0 if stopped and not pending else None
        codes = [code for _, code, _ in answers]
        # ...and until the engine has no container of theirs left.
        gone_seconds = None
        # (On a lab the servers' containers are on the workers: their engines are not asked.)
        while self.lab is None and time.monotonic() < deadline:
            # The low-level listing: the high-level one inspects each container, and one
            # that goes away in between raises NotFound.
            left = self.client.api.containers(
                all=True, filters={"name": self.service_prefix()})
            if not left:
                gone_seconds = time.monotonic() - s0
                break
            time.sleep(0.1)
        bad = [c for c in codes if c not in (202, 204)]
        return {"stop_seconds": stop_seconds, "stop_gone_seconds": gone_seconds,
                "stop_errors": [f"DELETE answered {c}" for c in bad]}


# --- the floor, in a container on the overlay network -------------------------------------


class FloorSystem:
    kind = "floor"

    def __init__(self, client, run_id, probe_image, constraints=(), bench_dir=None):
        self.client = client
        self.bench_dir = bench_dir or ROOT / "benchmarks"
        self.constraints = list(constraints)
        self.run_id = run_id
        self.probe_image = probe_image
        self.count = 0

    def start(self):
        return self

    def close(self):
        pass

    def phase(self, image, n, cmd, timeout=900):
        self.count += 1
        tag = f"{self.run_id}-{self.count}"
        api = self.client.api
        name = f"ssbench-floor-{tag}"
        command = ["/bench/floor.py", "--image", image, "--n", str(n), "--network", NETWORK,
                   "--run-id", tag, "--timeout", str(timeout)]
        if cmd:
            command += ["--cmd", json.dumps(cmd)]
        for constraint in self.constraints:
            command += ["--constraint", constraint]
        created = api.create_container(
            self.probe_image, command, entrypoint=["python3"], name=name,
            host_config=api.create_host_config(
                binds={"/var/run/docker.sock": {"bind": "/var/run/docker.sock", "mode": "rw"},
                       str(self.bench_dir): {"bind": "/bench", "mode": "ro"}},
                network_mode=NETWORK,
            ),
        )
        try:
            api.start(created["Id"])
            status = api.wait(created["Id"], timeout=timeout + 200)
            out = api.logs(created["Id"], stdout=True, stderr=False).decode()
            if status.get("StatusCode") != 0:
                err = api.logs(created["Id"], stdout=False, stderr=True).decode()
                raise RuntimeError(f"floor run failed: {err[-2000:]}")
        finally:
            api.remove_container(created["Id"], force=True)
            for service in self.client.services.list(filters={"label": f"ssbench.floor={tag}"}):
                service.remove()
        data = json.loads(out.strip().splitlines()[-1])
        latencies = data["latencies"]
        result = {"latencies": latencies, "errors": data["errors"],
                  "all_ready": data["all_ready"], "stop_seconds": data["stop_seconds"],
                  "stop_gone_seconds": data["stop_seconds"]}
        result.update(summarize(latencies))
        return result


# --- the run --------------------------------------------------------------------------------


def cleanup(client, run_id, systems):
    """Remove every service and container this run made (names carry the run's id)."""
    hubs = [code(kind) for kind in systems if kind != "floor"]
    prefixes = tuple(f"ssbench-{what}{run_id}" for what in (*hubs, "floor-", "hub-", "pg-",
                                                             "dp-"))
    for service in client.services.list():
        if service.name.startswith(prefixes):
            service.remove()
    for container in client.api.containers(all=True, filters={"name": "ssbench-"}):
        name = container["Names"][0].lstrip("/")
        if name.startswith(prefixes) or (name.startswith("ssbench-hub-") and name.endswith(run_id)):
            try:
                client.api.remove_container(container["Id"], force=True)
            except docker.errors.NotFound:
                pass


def median_of_repeats(results):
    """N=1 is run a few times, one after another: its figures are the medians."""
    merged = {"latencies": sorted(x for r in results for x in r["latencies"]),
              "errors": [e for r in results for e in r["errors"]], "repeats": len(results)}
    for key in ("all_ready", "p50", "p95", "max", "stop_seconds", "stop_gone_seconds",
                "requests_per_poll", "hub_cpu_percent", "proxy_cpu_percent",
                "container_cpu_percent"):
        values = [r[key] for r in results if r.get(key) is not None]
        merged[key] = statistics.median(values) if values else None
    for key in ("requests_by_path", "idle_window", "requests"):
        if key in results[-1]:
            merged[key] = results[-1][key]
    return merged


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebook-n", default=os.environ.get("BENCH_NOTEBOOK_N", "1,10,30"))
    parser.add_argument("--tiny-n", default=os.environ.get("BENCH_TINY_N", "30,100"))
    parser.add_argument("--idle-n", default=os.environ.get("BENCH_IDLE_N", ""),
                        help="tiny servers each hub holds in the idle phase (e.g. 500)")
    parser.add_argument("--idle-in-flight", type=int,
                        default=int(os.environ.get("BENCH_IDLE_IN_FLIGHT", "100")),
                        help="idle phase: at most this many start requests at once")
    parser.add_argument("--idle-samples", type=int,
                        default=int(os.environ.get("BENCH_IDLE_SAMPLES", "3")),
                        help="idle phase: idle windows, and hub restarts, per hub")
    parser.add_argument("--systems",
                        default=os.environ.get("BENCH_SYSTEMS", ",".join(DEFAULT_SYSTEMS)),
                        help=f"comma-separated, of {', '.join(SYSTEMS)}")
    parser.add_argument("--repeats-single", type=int,
                        default=int(os.environ.get("BENCH_REPEATS_SINGLE", "3")),
                        help="how often N=1 is run (its figures are the medians)")
    parser.add_argument("--poll-interval", type=float,
                        default=float(os.environ.get("BENCH_POLL_INTERVAL", "10")))
    parser.add_argument("--idle-window", type=float,
                        default=float(os.environ.get("BENCH_IDLE_WINDOW", "20")),
                        help="seconds of counting requests and CPU with N servers running")
    parser.add_argument("--server-timeout", type=float,
                        default=float(os.environ.get("BENCH_SERVER_TIMEOUT", "600")),
                        help="seconds a hub waits for a started server to answer (http_timeout)"
                             " before it counts an error")
    parser.add_argument("--out", default=os.environ.get("BENCH_OUT", str(ROOT / "benchmarks/results")))
    parser.add_argument("--keep-images", action="store_true")
    parser.add_argument("--lab", default=os.environ.get("BENCH_LAB", ""),
                        help="an Ansible inventory (e.g. lab/inventory.ini of make up): run on"
                             " its swarm, hubs and floor on the first manager, servers on workers")
    args = parser.parse_args(argv)

    systems = parse_systems(args.systems)
    if args.lab and set(systems) & {"swarmspawner-dp", "swarmspawner-pg"}:
        sys.exit("on a lab the benchmark runs the floor, swarmspawner(-bootK) and dockerspawner")
    local = docker.from_env(version="auto", timeout=300)
    workdir = Path(tempfile.mkdtemp(prefix="ssbench-"))
    lab = None
    try:
        lab = Lab(args.lab, workdir, log=log) if args.lab else None
        return run_once(args, systems, local, workdir, lab)
    finally:
        if lab:
            lab.close()
        shutil.rmtree(workdir, ignore_errors=True)


def run_once(args, systems, local, workdir, lab):
    """One run: on this machine's engine (``local``), or on the lab's swarm."""
    notebook_ns, tiny_ns = parse_ns(args.notebook_n), parse_ns(args.tiny_n)
    idle_ns = parse_ns(args.idle_n)
    client = lab.client if lab else local
    if client.info()["Swarm"]["LocalNodeState"] != "active":
        sys.exit("make bench needs the engine in swarm mode (make engine)")

    run_id = secrets.token_hex(3)
    meta = {
        "run_id": run_id,
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "load_average_start": os.getloadavg(),
        "cpus": os.cpu_count(),
        "engine": client.version()["Version"],
        "poll_interval": args.poll_interval,
        "idle_window": args.idle_window,
        "server_timeout": args.server_timeout,
        "repeats_single": args.repeats_single,
        "notebook_n": notebook_ns,
        "tiny_n": tiny_ns,
        "idle_n": idle_ns,
        "idle_in_flight": args.idle_in_flight,
        "idle_samples": args.idle_samples,
        "systems": systems,
        "lab": args.lab or None,
        "nodes": len(client.nodes.list()),
    }
    log(f"bench {run_id}: load average {meta['load_average_start']}")
    built = images.build_images(HUB_IMAGE, BASE_IMAGE, log=log)
    notebook_image = local.images.get(SINGLEUSER_IMAGE).id
    hub_image = local.images.get(HUB_IMAGE).id
    meta.update({"dockerspawner_version": built["dockerspawner"], "hub_image": hub_image,
                 "bench_hub_image": built["bench_hub"], "notebook_image": notebook_image,
                 "tiny_image": built["tiny"]})
    if lab:
        lab.put_images({"managers": [hub_image, built["bench_hub"]],
                        "workers": [notebook_image, built["tiny"]]})
        # The floor's script, bound into its container from the same path on the manager.
        bench_dir = workdir / "benchmarks"
        shutil.copytree(ROOT / "benchmarks", bench_dir,
                        ignore=shutil.ignore_patterns("results", "__pycache__"))
        lab.push(bench_dir)
    ensure_network(client)

    running = {}
    phases = []
    try:
        for kind in systems:
            if kind == "floor":
                running[kind] = FloorSystem(
                    client, run_id, hub_image, SERVER_CONSTRAINTS if lab else (),
                    bench_dir=workdir / "benchmarks" if lab else ROOT / "benchmarks").start()
            else:
                log(f"starting the {kind} hub")
                running[kind] = HubSystem(
                    kind, client, workdir, run_id,
                    built["bench_hub"] if kind == "dockerspawner" else hub_image,
                    notebook_image, built["tiny"], args.poll_interval,
                    index=[s for s in systems if s != "floor"].index(kind), lab=lab,
                    server_timeout=args.server_timeout).start()
        plan = [("notebook", n) for n in notebook_ns] + [("tiny", n) for n in tiny_ns]
        for image_kind, n in plan:
            if image_kind == "tiny" and not lab:
                # Another session's clean-up may have removed it: build it again.
                try:
                    client.images.get(built["tiny"])
                except docker.errors.ImageNotFound:
                    log("the tiny image went missing: building it again")
                    built.update(images.build_images(HUB_IMAGE, BASE_IMAGE, log=log))
                    for system in running.values():
                        if isinstance(system, HubSystem):
                            system.set_tiny_image(built["tiny"])
                    meta["tiny_image"] = built["tiny"]
            image = notebook_image if image_kind == "notebook" else built["tiny"]
            cmd = None if image_kind == "notebook" else TINY_CMD
            repeats = args.repeats_single if n == 1 else 1
            for kind in systems:
                system = running[kind]
                results = []
                for r in range(repeats):
                    log(f"{kind}: {n} x {image_kind}" + (f" (run {r + 1}/{repeats})" if repeats > 1 else ""))
                    if kind == "floor":
                        res = system.phase(image, n, cmd)
                    else:
                        prefix = "tiny" if image_kind == "tiny" else "nb"
                        users = [f"{prefix}{n}r{r}u{i}" for i in range(n)]
                        res = system.phase(users, args.idle_window)
                    results.append(res)
                    log(f"{kind}: {n} x {image_kind}: p50 {_fmt(res['p50'])} all "
                        f"{_fmt(res['all_ready'])} stop {_fmt(res['stop_seconds'])} "
                        f"req/poll {_fmt(res.get('requests_per_poll'))} errors {len(res['errors'])}")
                res = median_of_repeats(results) if repeats > 1 else results[0]
                phases.append({"system": kind, "image": image_kind, "n": n, **res})
                # Written after every phase, so that a run that stops keeps what it measured.
                report.write(Path(args.out), {**meta, "partial": True}, phases)
        for n in idle_ns:
            for kind in systems:
                if kind == "floor":
                    continue  # the floor holds nothing: no hub to poll, restart or stop
                log(f"{kind}: holding {n} x tiny ({args.idle_in_flight} requests at once)")
                res = running[kind].hold(n, args.idle_window, args.idle_samples,
                                         args.idle_in_flight)
                log(f"{kind}: {n} x tiny held: all {_fmt(res['all_ready'])} req/poll "
                    f"{_fmt(res['requests_per_poll'])} CPU {_fmt(res['hub_cpu_percent'])} % (proxy "
                    f"{_fmt(res['proxy_cpu_percent'])} %) "
                    f"RSS {_fmt(res['hub_rss_mb'])} MB adopt {_fmt(res['adopt_seconds'])} stop "
                    f"{_fmt(res['stop_seconds'])} errors {len(res['errors'])}")
                phases.append({"system": kind, "image": "idle", "n": n, **res})
                report.write(Path(args.out), {**meta, "partial": True}, phases)
    except Exception:
        traceback.print_exc()
        for system in running.values():
            if isinstance(system, HubSystem):
                log(f"{system.kind} hub log tail:\n{system.hub.logs()[-3000:]}")
        raise
    finally:
        for system in running.values():
            system.close()
        cleanup(client, run_id, systems)
        if not args.keep_images:
            images.remove_images()

    meta["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    meta["load_average_end"] = os.getloadavg()
    out = report.write(Path(args.out), meta, phases)
    log(f"results in {out['markdown']}, {out['json']}, {out['png']}")
    return out


def _fmt(x):
    return "-" if x is None else f"{x:.2f}"


if __name__ == "__main__":
    main()
