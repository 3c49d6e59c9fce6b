"""The floor: N servers created straight through the Docker API, each timed until it answers HTTP.

Runs *inside* a container on the benchmark's overlay network (benchmarks/run.py starts it from
the hub image, with the engine's socket), so it reaches servers the way a hub does. No hub is
in between; the services are the ones our spawner makes (same image, args, dnsrr endpoint,
network, health check off, restart none).

How a server is timed: from just before its `create_service` request to the first HTTP
response (any status) from its task's address on the overlay network. One thread lists the
run's tasks every 0.1 s; a server is probed only once its task runs, by address, never by
name: a name the engine's DNS does not know yet is forwarded to the upstream resolver, and
each miss costs seconds. Services are created concurrently, one thread each.

A notebook server (`jupyterhub-singleuser`) checks its hub's API before it listens; this
script answers that API itself (a stub on port 8081 that says "JupyterHub 6.1.1"), so the
notebook servers start as they would under a hub that answers at once.

Prints one JSON object on stdout.
"""

import argparse
import http.server
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import docker

LABEL = "ssbench.floor"


class StubHubAPI(http.server.BaseHTTPRequestHandler):
    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = b'{"version": "6.1.1"}'
        self.send_response(200)
        self.send_header("X-JupyterHub-Version", "6.1.1")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


def answers(url, timeout=1.0):
    try:
        urllib.request.urlopen(url, timeout=timeout).read()
        return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer counts, as for the hub's own wait
    except Exception:
        return False


def task_address(task, network):
    for attachment in task.get("NetworksAttachments") or []:
        net = attachment["Network"]
        if network in (net["Spec"]["Name"], net["ID"]) and attachment["Addresses"]:
            return attachment["Addresses"][0].split("/")[0]
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--image", required=True)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--network", required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--cmd", default='["jupyterhub-singleuser"]', help="JSON list")
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--constraint", action="append", default=[],
                        help="a placement constraint (repeatable), e.g. node.role==worker")
    args = parser.parse_args()
    # This container's address on its one network: where the servers find the stub hub API.
    args.self_ip = socket.gethostbyname(socket.gethostname())

    stub = http.server.ThreadingHTTPServer(("0.0.0.0", 8081), StubHubAPI)
    stub.daemon_threads = True
    threading.Thread(target=stub.serve_forever, daemon=True).start()

    client = docker.APIClient(version="auto", timeout=120, max_pool_size=max(10, args.n))
    names = [f"ssbench-floor-{args.run_id}-{i}" for i in range(args.n)]
    cmd = json.loads(args.cmd)
    labels = {LABEL: args.run_id}

    def spec(i, name):
        user = f"floor{i}"
        prefix = f"/user/{user}/"
        env = {
            "JUPYTERHUB_API_TOKEN": "ssbench",
            "JUPYTERHUB_CLIENT_ID": f"jupyterhub-user-{user}",
            "JUPYTERHUB_API_URL": f"http://{args.self_ip}:8081/hub/api",
            "JUPYTERHUB_ACTIVITY_URL": f"http://{args.self_ip}:8081/hub/api/users/{user}/activity",
            "JUPYTERHUB_USER": user,
            "JUPYTERHUB_SERVER_NAME": "",
            "JUPYTERHUB_BASE_URL": "/",
            "JUPYTERHUB_SERVICE_PREFIX": prefix,
            "JUPYTERHUB_SERVICE_URL": f"http://0.0.0.0:{args.port}{prefix}",
            "JUPYTERHUB_OAUTH_CALLBACK_URL": f"{prefix}oauth_callback",
            "JUPYTERHUB_HOST": "",
        }
        return {
            "name": name,
            "labels": labels,
            "task_template": {
                "ContainerSpec": {
                    "Image": args.image,
                    "Args": cmd,
                    "Env": [f"{k}={v}" for k, v in sorted(env.items())],
                    "Labels": labels,
                    "HealthCheck": {"Test": ["NONE"]},
                    "StopGracePeriod": 10_000_000_000,
                },
                "RestartPolicy": {"Condition": "none"},
                "Placement": {"Constraints": args.constraint},
                "Networks": [{"Target": args.network}],
            },
            "mode": {"Replicated": {"Replicas": 1}},
            "endpoint_spec": {"Mode": "dnsrr"},
        }

    started = {}
    ready = {}
    errors = {}
    service_ids = {}
    probing = set()
    lock = threading.Lock()
    done = threading.Event()

    def probe(name, address):
        url = f"http://{address}:{args.port}/user/floor{names.index(name)}/"
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            if answers(url):
                with lock:
                    ready[name] = time.monotonic()
                return
            time.sleep(0.05)
        with lock:
            errors[name] = "did not answer HTTP"

    def watch():
        by_service = {}
        while not done.is_set():
            try:
                tasks = client.tasks(filters={"label": f"{LABEL}={args.run_id}"})
            except Exception:
                time.sleep(0.1)
                continue
            for task in tasks:
                by_service.setdefault(task["ServiceID"], []).append(task)
            with lock:
                ids = dict(service_ids)
            for name, sid in ids.items():
                if name in probing or name in errors:
                    continue
                for task in by_service.get(sid, []):
                    state = task["Status"]["State"]
                    if state == "running" and task.get("DesiredState") == "running":
                        address = task_address(task, args.network)
                        if address:
                            probing.add(name)
                            threading.Thread(target=probe, args=(name, address), daemon=True).start()
                    elif state in ("failed", "rejected", "complete", "shutdown"):
                        with lock:
                            errors[name] = task["Status"].get("Err") or state
            by_service.clear()
            with lock:
                if len(ready) + len(errors) >= args.n:
                    return
            time.sleep(0.1)

    def create(i, name):
        with lock:
            started[name] = time.monotonic()
        try:
            created = client.create_service(**spec(i, name))
            with lock:
                service_ids[name] = created["ID"]
        except Exception as e:  # noqa: BLE001 - reported as an error of this server
            with lock:
                errors[name] = f"create: {e}"

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=args.n) as pool:
        for i, name in enumerate(names):
            pool.submit(create, i, name)
    watcher.join(args.timeout)
    done.set()

    latencies = sorted(ready[n] - started[n] for n in ready)
    all_ready = (max(ready.values()) - t0) if ready and not errors else None

    # Stop: remove every service at once; stopped when the run has no task left.
    s0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, min(args.n, 32))) as pool:
        list(pool.map(lambda sid: _remove(client, sid), service_ids.values()))
    stop_seconds = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if not client.tasks(filters={"label": f"{LABEL}={args.run_id}"}):
            stop_seconds = time.monotonic() - s0
            break
        time.sleep(0.1)

    print(json.dumps({
        "n": args.n,
        "latencies": latencies,
        "all_ready": all_ready,
        "errors": list(errors.values()),
        "stop_seconds": stop_seconds,
    }))


def _remove(client, service_id):
    try:
        client.remove_service(service_id)
    except docker.errors.NotFound:
        pass


if __name__ == "__main__":
    main()
