"""The spawner library carries no deployment code and needs none of its dependencies."""

import subprocess
import sys
import textwrap


def run_isolated(code):
    """Run code in a fresh interpreter where python-dotenv cannot be imported."""
    blocker = textwrap.dedent("""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name == "dotenv" or name.startswith(("dotenv.", "swarmspawner_deploy")):
                    raise ImportError(f"{name} is blocked in this test")
        sys.meta_path.insert(0, Block())
    """)
    return subprocess.run([sys.executable, "-c", blocker + code], capture_output=True, text=True)


def test_the_spawner_imports_without_python_dotenv_or_the_deploy_package():
    result = run_isolated(
        "import swarmspawner, cassinyspawner\n"
        "from swarmspawner import SwarmSpawner\n"
        "import swarmspawner.spawner\n"
        "assert 'swarmspawner_deploy' not in sys.modules\n"
        "print(SwarmSpawner.__name__)"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "SwarmSpawner"


def test_the_deploy_tooling_needs_no_jupyterhub():
    # As on a manager node: the env loader and the stack command without JupyterHub.
    result = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name in ("jupyterhub", "tornado", "sqlalchemy"):
                    raise ImportError(f"{name} is blocked in this test")
        sys.meta_path.insert(0, Block())
        import swarmspawner_deploy.envfile, swarmspawner_deploy.stack
        print(swarmspawner_deploy.envfile.parse({}, check_files=False).MEM_LIMIT)
    """)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(2 * 1024**3)
