"""Whether a deploy's new tasks came up and, if one did not, why: Docker's reason and the
task's own last lines, as soon as Swarm knows, not a wait that ends in "see docker service ps".

The stack's hub, proxy and Docker proxy roll back when a new task fails (stack.yml's
`update_config`): a redeploy whose settings break the hub leaves the previous hub serving.
"""

import subprocess
import time
import urllib.request

#: Update states after a new task failed: Swarm rolls back (the stack's choice) or pauses.
FAILED_UPDATE = ("paused", "rollback_started", "rollback_paused", "rollback_completed")
FAILED_TASK = ("failed", "rejected")


def stack_services(client, stack):
    return client.services.list(filters={"label": f"com.docker.stack.namespace={stack}"})


def snapshot(client, stack):
    """Each service before a deploy, to tell what the deploy did: name -> (its spec, when its
    last update started, the IDs of its tasks). A service's spec moves only when a deploy
    changed it (its version also moves when Swarm records an update's progress)."""
    return {service.name: (service.attrs["Spec"],
                           (service.attrs.get("UpdateStatus") or {}).get("StartedAt"),
                           {task["ID"] for task in service.tasks()})
            for service in stack_services(client, stack)}


def progress(client, stack, before, crash_loop=2):
    """``(failure, converged)`` from one listing of the stack's services and tasks.

    ``failure`` is ``(service, what happened, last failed task or None)`` for the first
    service whose new tasks failed since ``before``: an update Swarm rolled back or paused,
    or, with nothing to roll back to (a first deploy), ``crash_loop`` new tasks failed.
    ``converged``: every service runs tasks of its current spec and no update is under way.
    Right after a redeploy the old hub still answers, so its health check alone would pass
    before the new one has even started.
    """
    converged = True
    for service in stack_services(client, stack):
        tasks = service.tasks()
        found = _failure(service, tasks, before.get(service.name), crash_loop)
        if found:
            return found, False
        converged = converged and _converged(service, tasks)
    return None, converged


def _failure(service, tasks, before, crash_loop):
    _, started, old_tasks = before or (None, None, set())
    failed = sorted((task for task in tasks
                     if task["ID"] not in old_tasks and task["Status"]["State"] in FAILED_TASK),
                    key=lambda task: task["CreatedAt"])
    status = service.attrs.get("UpdateStatus") or {}
    if status.get("State") in FAILED_UPDATE and status.get("StartedAt") != started:
        what = ("its new task failed, and Swarm is putting back what ran before"
                if status["State"].startswith("rollback") else
                f"its update stopped: {status.get('Message', '')}")
        return service.name, what, failed[-1] if failed else None
    if len(failed) >= crash_loop:
        return service.name, f"{len(failed)} of its tasks failed in a row", failed[-1]
    return None


def _converged(service, tasks):
    if (service.attrs.get("UpdateStatus") or {}).get("State") in ("updating", "rollback_started"):
        return False
    template = {k: v for k, v in service.attrs["Spec"]["TaskTemplate"].items() if k != "Runtime"}
    running = [task for task in tasks if task["DesiredState"] == "running"]
    return bool(running) and all(
        task["Status"]["State"] == "running"
        and {k: v for k, v in task["Spec"].items() if k != "Runtime"} == template
        for task in running)


def task_output(task_id, lines=20):
    """A task's last lines of output, from whichever node ran it."""
    try:
        done = subprocess.run(["docker", "service", "logs", "--raw", "--tail", str(lines), task_id],
                              capture_output=True, text=True, timeout=30)
        return (done.stdout + done.stderr).strip()
    except (OSError, subprocess.SubprocessError) as e:
        return f"(its output could not be read: {e})"


def explain(found):
    service, what, task = found
    message = f"{service}: {what}"
    if task is not None:
        message += f". Docker: {task['Status'].get('Err') or task['Status']['State']}"
        output = task_output(task["ID"])
        if output:
            message += "\nIts last lines:\n" + "\n".join("  " + line for line in output.splitlines())
    return message


def wait_until_up(env, client, before, fail, log, timeout=300):
    """Until the deployed stack converged and its hub answers through the proxy's own port on
    this node; ``fail`` with the reason as soon as a service's new tasks failed."""
    port = env.PUBLIC_PORT if env.TLS == "off" else env.INTERNAL_PORT
    url = f"http://127.0.0.1:{port}/hub/health"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found, converged = progress(client, env.STACK_NAME, before)
        if found:
            fail(explain(found))
        if not converged:
            time.sleep(1)
            continue
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                if response.status == 200:
                    log("hub is up")
                    return
        except Exception:
            pass
        time.sleep(1)
    fail(f"the hub did not answer at {url} within {timeout} s; see docker service ps "
         f"{env.STACK_NAME}_hub")
