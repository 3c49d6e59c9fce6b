"""The playbook's Ansible settings (ansible/ansible.cfg), on a real ansible-playbook run."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PLAY = textwrap.dedent("""\
    - name: A run that fails after a change that needs a restart
      hosts: localhost
      connection: local
      gather_facts: false
      tasks:
        - name: Change the engine's settings
          ansible.builtin.command: "true"
          changed_when: true
          notify: Restart the engine
        - name: Fail before the handlers' turn
          ansible.builtin.fail:
            msg: a later task failed
      handlers:
        - name: Restart the engine
          ansible.builtin.file:
            path: "{{ restarted }}"
            state: touch
            mode: "0644"
""")


def test_a_failed_run_still_applies_the_restarts_it_made_necessary(tmp_path):
    """Otherwise the next run finds daemon.json unchanged and the engine never restarts."""
    (tmp_path / "play.yml").write_text(PLAY)
    restarted = tmp_path / "restarted"
    run = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,",
         str(tmp_path / "play.yml"), "-e", f"restarted={restarted}",
         "-e", f"ansible_python_interpreter={sys.executable}"],
        env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible/ansible.cfg")},
        capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode != 0, run.stdout
    assert "a later task failed" in run.stdout
    assert restarted.exists(), run.stdout + run.stderr
