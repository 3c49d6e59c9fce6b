"""The hub's whole configuration, from the deployment's env file.

The stack mounts the env file as a Docker config and the secrets as Docker secrets;
nothing here needs editing. Extra Python configuration goes in the file HUB_EXTRA_CONFIG
names (a Docker secret too: it may hold anything).
"""

import json
import os
import sys

from swarmspawner import proxy
from swarmspawner_deploy.envfile import load
from swarmspawner_deploy import hubdb, profilesfile
from swarmspawner_deploy.login import login_config
from swarmspawner_deploy.netaddr import address_in

ENV_FILE = os.environ.get("SWARMSPAWNER_ENV_FILE", "/etc/swarmspawner/env")
SECRETS = "/run/secrets"
env = load(ENV_FILE, check_files=False)


def secret(name):
    with open(os.path.join(SECRETS, name)) as f:
        return f.read().strip()


def has_secret(name):
    return os.path.isfile(os.path.join(SECRETS, name))


c = get_config()  # noqa: F821

# --- hub and proxy ------------------------------------------------------------
# The hub's own port listens on the stack's private network only (CONTROL_SUBNET): the proxy
# and the hub's services reach it there, by its name on that network; users' servers, on the
# other network, cannot. A name, not the address: while a restarted hub is not up, the name
# has no address and a request fails at once, where one sent to the old address would hang.
# (hub_bind_url, as JupyterHub binds to the connect address when hub_ip is not a wildcard.)
c.JupyterHub.hub_bind_url = f"http://{address_in(os.environ['CONTROL_SUBNET'])}:8081"
c.JupyterHub.hub_connect_ip = "hub-api"
c.JupyterHub.db_url = hubdb.hub_url(env, SECRETS)
if c.JupyterHub.db_url.startswith("postgresql"):
    # The stack's own PostgreSQL (DB_SERVICE=postgres) starts beside the hub. Not longer than
    # the image's start period (60 s): a hub that gives up says why before Swarm would kill
    # it as unhealthy, and the deploy shows that line.
    hubdb.wait_for_server(c.JupyterHub.db_url, timeout=45)
    # A restarted database leaves the pool's connections dead: test each before use.
    c.JupyterHub.db_kwargs = {"pool_pre_ping": True}
if c.JupyterHub.db_url.startswith("sqlite:"):
    hubdb.tune_sqlite(env.SQLITE_SYNCHRONOUS)
c.JupyterHub.cookie_secret = bytes.fromhex(secret("cookie_secret"))
c.CryptKeeper.keys = [secret("crypt_key")]
# The proxy is its own service; the hub only configures it.
c.ConfigurableHTTPProxy.should_start = False
# A restarted proxy has no routes and a new address: the hub looks the proxy up afresh and
# puts the routes back within seconds, not minutes.
c.JupyterHub.proxy_class = "swarmspawner.proxy.RouteKeepingProxy"
c.JupyterHubHTTPClient.connector_options = proxy.fresh_lookups()
# Its API listens on the stack's private network only, under this name.
c.ConfigurableHTTPProxy.api_url = "http://proxy-api:8001"
c.ConfigurableHTTPProxy.auth_token = secret("proxy_token")
# Servers outlive hub restarts: the hub adopts them again when it comes back.
c.JupyterHub.cleanup_servers = False
c.JupyterHub.cleanup_proxy = False
c.JupyterHub.allow_named_servers = env.ALLOW_NAMED_SERVERS
c.JupyterHub.named_server_limit_per_user = env.NAMED_SERVER_LIMIT
if env.ACTIVE_SERVER_LIMIT:
    c.JupyterHub.active_server_limit = env.ACTIVE_SERVER_LIMIT
c.JupyterHub.concurrent_spawn_limit = env.CONCURRENT_SPAWN_LIMIT

# --- login: AUTHENTICATOR and its settings (swarmspawner_deploy/login.py) ---------
for section, traits in login_config(env, secret).items():
    for trait, value in traits.items():
        setattr(c[section], trait, value)

if env.IDLE_TIMEOUT:
    c.JupyterHub.services = [
        {
            "name": "idle-culler",
            "command": [
                sys.executable,
                "-m",
                "jupyterhub_idle_culler",
                f"--timeout={int(env.IDLE_TIMEOUT)}",
            ],
        }
    ]
    c.JupyterHub.load_roles = [
        {
            "name": "idle-culler",
            "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
            "services": ["idle-culler"],
        }
    ]

# --- servers ------------------------------------------------------------------
c.JupyterHub.spawner_class = "swarm"
# Each image as the deploy named it: by its ID with PIN_LOCAL_IMAGES, so no node tries a pull.
IMAGE_REFS = json.loads(os.environ.get("IMAGE_REFS") or "{}")
c.SwarmSpawner.image = IMAGE_REFS.get(env.SINGLEUSER_IMAGE, env.SINGLEUSER_IMAGE)
c.SwarmSpawner.hub_id = env.STACK_NAME
c.SwarmSpawner.service_prefix = env.SERVICE_PREFIX
c.SwarmSpawner.networks = [env.NETWORK_NAME]
# Servers reach the hub's API through the proxy's port on the proxy's node (published in host
# mode): that address stays valid when the hub or the proxy restarts, while a service name's
# address changes and servers' HTTP clients keep the old one for 600 s (aiodns keeps the
# engine's DNS answers). The name is the fallback should the proxy have no running task.
c.SwarmSpawner.hub_connect_service = f"{env.STACK_NAME}_proxy"
c.SwarmSpawner.hub_connect_url = "http://proxy:8000"
c.Spawner.cpu_limit = env.CPU_LIMIT
c.Spawner.mem_limit = env.MEM_LIMIT
c.Spawner.cpu_guarantee = env.CPU_GUARANTEE
c.Spawner.mem_guarantee = env.MEM_GUARANTEE
c.SwarmSpawner.user_cpu_guarantee_total = env.USER_CPU_GUARANTEE_TOTAL
c.SwarmSpawner.user_mem_guarantee_total = env.USER_MEM_GUARANTEE_TOTAL
c.SwarmSpawner.placement_constraints = env.PLACEMENT_CONSTRAINTS
c.Spawner.start_timeout = int(env.START_TIMEOUT)
c.SwarmSpawner.boot_limit_per_node = env.BOOT_LIMIT_PER_NODE
c.Spawner.poll_interval = int(env.POLL_INTERVAL)

# --- users' files: JupyterLab opens where they are kept --------------------------
if env.USER_STORAGE != "none":
    c.Spawner.notebook_dir = env.USER_VOLUME_TARGET
if env.USER_STORAGE == "shared":
    # The stack mounts USER_STORAGE_PATH into the hub at the same path as on the nodes.
    c.SwarmSpawner.shared_home_root = env.USER_STORAGE_PATH
    c.SwarmSpawner.home_target = env.USER_VOLUME_TARGET
    c.SwarmSpawner.home_uid = env.USER_UID
    c.SwarmSpawner.home_gid = env.USER_GID
    c.SwarmSpawner.home_mode = env.USER_DIR_MODE
elif env.USER_STORAGE == "local":
    c.SwarmSpawner.mounts = [
        {"type": "volume", "source": env.USER_VOLUME, "target": env.USER_VOLUME_TARGET}
    ]
    c.SwarmSpawner.volume_driver = env.VOLUME_DRIVER
    c.SwarmSpawner.volume_driver_options = env.VOLUME_DRIVER_OPTIONS
    c.SwarmSpawner.volume_node_sticky = True
    c.SwarmSpawner.volume_node_fallback = env.LOCAL_STORAGE_FALLBACK

# The profiles file (PROFILES_FILE), checked again here: a user sees the profiles of their groups.
PROFILES = profilesfile.pin_images(profilesfile.load(
    os.environ.get("SWARMSPAWNER_PROFILES_FILE", "/etc/swarmspawner/profiles.yaml")), IMAGE_REFS)
if PROFILES:
    c.SwarmSpawner.profile_list = lambda spawner: profilesfile.for_groups(
        PROFILES, {group.name for group in spawner.user.groups})

if has_secret("extra_config"):
    load_subconfig(os.path.join(SECRETS, "extra_config"))  # noqa: F821
