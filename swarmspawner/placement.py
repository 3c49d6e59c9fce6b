"""Which nodes may run a service: swarm placement constraints read against a node, ahead of
the scheduler (the hub's boot admission counts the nodes a server may start on; the playbook
puts each image only where it may run).

The rules are swarmkit's: every constraint must hold; ``==`` and ``!=`` compare without
regard to case; a node or engine label the node lacks never equals anything.
"""

import re

_CONSTRAINT = re.compile(r"^\s*([\w.-]+)\s*(==|!=)\s*(.*?)\s*$")


def _attribute(node, key):
    """A node's value for a constraint's key (None when it has none), from `docker node inspect`."""
    description = node.get("Description") or {}
    spec = node.get("Spec") or {}
    platform = description.get("Platform") or {}
    fixed = {
        "node.id": node.get("ID"),
        "node.hostname": description.get("Hostname"),
        "node.role": spec.get("Role"),
        "node.platform.os": platform.get("OS"),
        "node.platform.arch": platform.get("Architecture"),
    }
    # Swarm reads the keys without regard to case; label names as written.
    if key.lower() in fixed:
        return fixed[key.lower()]
    for prefix, labels in (("node.labels.", spec.get("Labels")),
                           ("engine.labels.", (description.get("Engine") or {}).get("Labels"))):
        if key.lower().startswith(prefix):
            return (labels or {}).get(key[len(prefix):])
    raise ValueError(f"{key!r} is not a placement attribute swarm knows (node.id, node.hostname,"
                     " node.role, node.platform.os, node.platform.arch, node.labels.*,"
                     " engine.labels.*)")


def _parse(constraint):
    found = _CONSTRAINT.match(constraint) if isinstance(constraint, str) else None
    if not found or not found.group(3):
        raise ValueError(f"{constraint!r} is not a placement constraint (KEY == VALUE or"
                         " KEY != VALUE)")
    key, operator, wanted = found.groups()
    _attribute({}, key)
    return key, operator, wanted


def check(constraints):
    """The constraints, each checked to be one the swarm accepts (ValueError saying why)."""
    for constraint in constraints:
        _parse(constraint)
    return constraints


def matches(constraints, node):
    """Whether the swarm may place a task with these constraints on this node."""
    for constraint in constraints or ():
        key, operator, wanted = _parse(constraint)
        value = _attribute(node, key)
        equal = value is not None and value.lower() == wanted.lower()
        if equal != (operator == "=="):
            return False
    return True
