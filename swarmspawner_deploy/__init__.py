"""Deploying JupyterHub with SwarmSpawner: the tooling, apart from the spawner library.

- :mod:`.envfile`: the deployment's ``.env`` schema and its one loader (``swarmspawner-env``);
- :mod:`.stack`: deploy and remove the stack (``swarmspawner-stack``), with ``stack.yml``;
- :mod:`.hubdb`: the hub's SQLite tuning, used by the hub's configuration;
- :mod:`.lab`: hosts on this machine for the Ansible playbook (``swarmspawner-lab``).

The spawner (:mod:`swarmspawner`) imports nothing from here.
"""
