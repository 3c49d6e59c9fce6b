"""The profiles of the hub that the profile and browser tests share."""

# {alt} is the single-user image under a second name (the hub's own image is the same image
# by ID), so that profiles differ in image as well as in limits and placement.
PROFILES_CONFIG = """
c.SwarmSpawner.profile_list = [
    {{
        "display_name": "Small (0.5 CPU, 256 MB)",
        "slug": "small",
        "description": "The default server.",
        "default": True,
        "spawner_override": {{"cpu_limit": 0.5, "mem_limit": "256M"}},
    }},
    {{
        "display_name": "Medium on the manager",
        "slug": "medium",
        "description": "More memory, placed on a manager node.",
        "spawner_override": {{
            "image": {alt!r},
            "cpu_limit": 0.75,
            "cpu_guarantee": 0.1,
            "mem_guarantee": "32M",
            "placement_constraints": ["node.role == manager"],
            "placement_preferences": ["spread=node.labels.zone"],
            "environment": {{"PROFILE": "medium"}},
        }},
        "profile_options": {{
            "memory": {{
                "display_name": "Memory",
                "choices": {{
                    "384m": {{"display_name": "384 MB", "default": True,
                              "spawner_override": {{"mem_limit": "384M"}}}},
                    "512m": {{"display_name": "512 MB",
                              "spawner_override": {{"mem_limit": "512M"}}}},
                }},
                "unlisted_choice": {{
                    "enabled": True,
                    "display_name": "Other size in MB (100-600)",
                    "validation_regex": "[1-5][0-9][0-9]|600",
                    "spawner_override": {{"mem_limit": "{{value}}M"}},
                }},
            }},
        }},
    }},
    {{
        "display_name": "GPU node (none in this lab)",
        "slug": "nowhere",
        "description": "Needs a node labelled gpu=yes: the spawn fails and says why.",
        "spawner_override": {{"placement_constraints": ["node.labels.gpu == yes"]}},
    }},
    {{
        "display_name": "A command the image lacks",
        "slug": "nocommand",
        "description": "Runs a command that is not in the image: the server's own error shows.",
        "spawner_override": {{"cmd": ["/usr/local/bin/no-such-command"]}},
    }},
]
c.SwarmSpawner.unschedulable_timeout = 3
"""

# JupyterHub answers a spawn request once the spawn is done or after slow_spawn_timeout: a
# refusal by apply_user_options comes at once, so with JupyterHub's default (10 s) it is
# always the request's answer, an HTTP 400.
ANSWER_REJECTIONS = 'c.JupyterHub.tornado_settings = {"slow_spawn_timeout": 10}\n'


def assert_medium_profile(task, image):
    """The service task template the "medium" profile above must give."""
    assert task["ContainerSpec"]["Image"] == image
    assert task["Resources"] == {
        "Limits": {"NanoCPUs": 750_000_000, "MemoryBytes": 512 * 1024**2},
        "Reservations": {"NanoCPUs": 100_000_000, "MemoryBytes": 32 * 1024**2},
    }
    assert task["Placement"]["Constraints"] == ["node.role == manager"]
    assert task["Placement"]["Preferences"] == [{"Spread": {"SpreadDescriptor": "node.labels.zone"}}]
