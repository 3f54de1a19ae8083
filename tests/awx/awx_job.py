"""A job template of awx/oxy.yml run the way AWX runs it: AWX's private data directory handed to
ansible-runner, which runs ansible-playbook inside the execution environment (docker).

What AWX does for a job, and what this does in its place:

- project: AWX syncs the project (a git checkout) into ``project/``; here the files git knows of
  (tracked and untracked-but-not-ignored) of the paths a job reads, copied with their symlinks.
- inventory: an SCM inventory source is imported by running ``ansible-inventory --list --export`` on its
  ``source_path`` in the execution environment; at job time AWX writes what it stored as the executable
  script ``inventory/hosts`` (host variables with ``remote_tower_*``). Here the same command in the same
  image, then the same script.
- credentials: each credential type's injectors rendered with Jinja's ImmutableSandboxedEnvironment, as
  AWX's ``CredentialType.inject_credential`` does: file injectors written 0600 into ``env/`` and named by
  their path in the container (``tower.filename.<label>`` is ``/runner/env/...``), env injectors into the
  job's environment; a Machine credential becomes ``env/ssh_key`` and ``-u <username>``.
- ``env/extravars``: the template's extra_vars, the survey answers, AWX's ``awx_*``/``tower_*`` variables.
- ``env/cmdline``: AWX's ``RunJob.build_args``: ``--check`` for job type Check, ``--diff``, ``-u``,
  ``-t <job_tags>``, ``--skip-tags=<skip_tags>``, ``-v``.
- ``env/envvars``: AWX's ``build_env``: JOB_ID, the collections and roles paths it prepends, the
  credentials' variables and the "Extra Environment Variables" setting (AWX_TASK_ENV).
- ``env/settings``: the job's timeout; output is kept as events (``artifacts/<ident>/job_events``).
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = Path(__file__).resolve().parents[2]
AWX = yaml.safe_load((ROOT / "awx/oxy.yml").read_text())
CONTAINER_ROOT = "/runner"
# What a job of this project reads: its playbooks, the inventories, ansible.cfg and the collection.
PROJECT_PATHS = ("ansible.cfg", "site.yml", "playbooks", "inventory", "collections", "requirements.yml")
# Job ids name the runner's containers (ansible_runner_<id>): unique on a machine shared with other runs.
_job_ids = itertools.count(secrets.randbelow(10**9) * 1000 + 1)


def job_template(name: str) -> dict:
    return next(t for t in AWX["job_templates"] if t["name"] == name)


def credential_type(name: str) -> dict:
    return next(t for t in AWX["credential_types"] if t["name"] == name)


def copy_project(dest: Path) -> Path:
    """The project as AWX's sync checks it out: what git holds of the paths a job reads."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *PROJECT_PATHS],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        src = ROOT / rel
        if not os.path.lexists(src):
            continue  # deleted in the working tree
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target, follow_symlinks=False)
    return dest


def import_inventory(project: Path, source_path: str, image: str) -> dict:
    """An SCM inventory source's import: ansible-inventory in the execution environment, unrendered."""
    out = subprocess.run(
        # As ansible-runner runs a container: as this user (who owns the project's copy).
        [
            "docker",
            "run",
            "--rm",
            "--network=none",
            f"--user={os.getuid()}",
            "-v",
            f"{project}:{CONTAINER_ROOT}/project:ro,z",
            "-w",
            f"{CONTAINER_ROOT}/project",
            image,
            "ansible-inventory",
            "-i",
            source_path,
            "--list",
            "--export",
            "--playbook-dir",
            f"{CONTAINER_ROOT}/project/{source_path}",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    imported = json.loads(out.stdout) if out.returncode == 0 else {}
    # ansible-inventory answers an empty inventory for a source it cannot read: that is a failed import.
    assert imported.get("_meta", {}).get("hostvars"), out.stderr
    return imported


def inventory_script(imported: dict) -> str:
    """``inventory/hosts`` as AWX writes it from what it imported (get_script_data with towervars)."""
    data = json.loads(json.dumps(imported))
    hostvars = data.setdefault("_meta", {}).setdefault("hostvars", {})
    for host_id, host in enumerate(sorted(hostvars), start=1):
        hostvars[host].update(remote_tower_enabled="true", remote_tower_id=host_id)
    return f"#! /usr/bin/env python3\n# -*- coding: utf-8 -*-\nprint({json.dumps(data)!r})\n"


def inject(ctype: dict, inputs: dict, private_data_dir: Path) -> dict[str, str]:
    """AWX's CredentialType.inject_credential for env and file injectors: the job's variables."""
    namespace: dict = {}
    for field_spec in ctype["inputs"]["fields"]:
        if field_spec.get("type") == "boolean" and field_spec["id"] not in inputs:
            namespace[field_spec["id"]] = False
    namespace.update(inputs)
    tower = SimpleNamespace()
    namespace["tower"] = namespace["awx"] = tower
    jinja = ImmutableSandboxedEnvironment()
    for label, template in ctype["injectors"].get("file", {}).items():
        handle, path = tempfile.mkstemp(dir=private_data_dir / "env")
        with os.fdopen(handle, "w") as file:
            file.write(jinja.from_string(template).render(**namespace))
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        in_container = f"{CONTAINER_ROOT}/{Path(path).relative_to(private_data_dir)}"
        if "." not in label:
            tower.filename = in_container
        else:
            if not hasattr(tower, "filename"):
                tower.filename = SimpleNamespace()
            setattr(tower.filename, label.split(".", 1)[1], in_container)
    return {var: jinja.from_string(tmpl).render(**namespace) for var, tmpl in ctype["injectors"].get("env", {}).items()}


def survey_extra_vars(template: dict, answers: dict) -> dict:
    """The survey's answers as extra vars, refused as AWX refuses a launch (required, min/max, choices)."""
    spec = template.get("related", {}).get("survey_spec", {}).get("spec", []) if template.get("survey_enabled") else []
    found = {}
    for question in spec:
        var = question["variable"]
        if var not in answers or answers[var] in ("", [], None):
            if question.get("required"):
                raise ValueError(f"survey: '{var}' value missing")
            continue
        value = answers[var]
        if question["type"] == "text" and not question.get("min", 0) <= len(value) <= question.get("max", 1024):
            raise ValueError(f"survey: '{var}' has the wrong length")
        if question["type"] == "multiselect" and not set(value) <= set(question["choices"]):
            raise ValueError(f"survey: '{var}' is not among the choices")
        if question["type"] == "multiplechoice" and value not in question["choices"]:
            raise ValueError(f"survey: '{var}' is not among the choices")
        found[var] = value
    return found


@dataclass
class Job:
    """A finished job: its status, its events (AWX's job events), its plan and its stdout."""

    status: str
    rc: int
    artifacts: Path
    events: list[dict] = field(default_factory=list)

    @property
    def stdout(self) -> str:
        return "".join(e.get("stdout", "") + "\n" for e in self.events)

    @property
    def plan(self) -> dict:
        path = self.artifacts / "plan.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def raw_events(self) -> str:
        """The job_events files as written: what AWX stores and shows."""
        return "".join(p.read_text() for p in sorted((self.artifacts / "job_events").glob("*.json")))


@dataclass
class Launcher:
    """Launches job templates against one inventory and the credentials' inputs, in ``image``."""

    image: str
    project: Path
    inventory: str  # the inventory/hosts script
    do_inputs: dict
    ssh: dict | None = None  # the Machine credential: username, ssh_key_data
    task_env: dict = field(default_factory=dict)  # AWX_TASK_ENV ("Extra Environment Variables")
    show_paths: list[str] = field(default_factory=list)  # AWX_ISOLATION_SHOW_PATHS
    work: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="awx_")))

    def private_data_dir(self, template: dict, answers: dict, job_id: int, skip_tags: str) -> Path:
        pdd = self.work / f"awx_{job_id}"
        (pdd / "env").mkdir(parents=True)
        (pdd / "inventory").mkdir()
        shutil.copytree(self.project, pdd / "project", symlinks=True)
        hosts = pdd / "inventory/hosts"
        hosts.write_text(self.inventory)
        hosts.chmod(stat.S_IRUSR | stat.S_IWUSR | stat.S_IXUSR)

        credentials = template["related"]["credentials"]
        env = {
            "JOB_ID": str(job_id),
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_SSH_CONTROL_PATH_DIR": f"{CONTAINER_ROOT}/cp",
            # AWX prepends its requirements folders to ansible.cfg's paths and the defaults.
            "ANSIBLE_COLLECTIONS_PATH": f"{CONTAINER_ROOT}/requirements_collections:./collections"
            ":~/.ansible/collections:/usr/share/ansible/collections",
            "ANSIBLE_ROLES_PATH": f"{CONTAINER_ROOT}/requirements_roles:./roles:./collections/ansible_collections"
            "/oxy/infra/roles:~/.ansible/roles:/usr/share/ansible/roles:/etc/ansible/roles",
            # The plan callback's JSON, among the job's artifacts.
            "OXY_PLAN_JSON": f"{CONTAINER_ROOT}/artifacts/{job_id}/plan.json",
            **self.task_env,
        }
        args = []
        if template["job_type"] == "check":
            args.append("--check")
        for cred in credentials:
            if cred["credential_type"]["name"] == "DigitalOcean API":
                env.update(inject(credential_type("DigitalOcean API"), self.do_inputs, pdd))
            elif cred["credential_type"]["kind"] == "ssh" and self.ssh:
                args += ["-u", self.ssh["username"]]
                (pdd / "env/ssh_key").write_text(self.ssh["ssh_key_data"])
        if template.get("diff_mode"):
            args.append("--diff")
        if template.get("verbosity"):
            args.append("-" + "v" * min(5, template["verbosity"]))
        if template.get("job_tags"):
            args += ["-t", template["job_tags"]]
        if skip_tags or template.get("skip_tags"):
            args.append(f"--skip-tags={skip_tags or template['skip_tags']}")

        extra_vars = yaml.safe_load(template.get("extra_vars") or "") or {}
        extra_vars.update(survey_extra_vars(template, answers))
        for prefix in ("awx", "tower"):
            extra_vars.update(
                {
                    f"{prefix}_job_id": job_id,
                    f"{prefix}_job_launch_type": "manual",
                    f"{prefix}_job_template_name": template["name"],
                    f"{prefix}_project_revision": "",
                    f"{prefix}_inventory_name": "Oxy sandbox",
                }
            )
        (pdd / "env/extravars").write_text(yaml.safe_dump(extra_vars))
        (pdd / "env/envvars").write_text(yaml.safe_dump(env))
        (pdd / "env/cmdline").write_text(" ".join(args))
        (pdd / "env/settings").write_text(yaml.safe_dump({"job_timeout": 900, "suppress_ansible_output": True}))
        (pdd / "artifacts").mkdir()
        return pdd

    def launch(self, name: str, answers: dict | None = None, skip_tags: str = "") -> Job:
        """Launch the job template ``name``: ``skip_tags`` stands for the template's own field (AWX's
        skip_tags), which a sandbox copy of the template sets where droplets have no machines."""
        import ansible_runner

        template = job_template(name)
        job_id = next(_job_ids)
        pdd = self.private_data_dir(template, answers or {}, job_id, skip_tags)
        result = ansible_runner.run(
            private_data_dir=str(pdd),
            ident=str(job_id),
            playbook=template["playbook"],
            process_isolation=True,
            process_isolation_executable="docker",
            container_image=self.image,
            container_options=["--network=host"],
            container_volume_mounts=[f"{p}:{p}:ro" for p in self.show_paths],
            quiet=True,
        )
        artifacts = pdd / "artifacts" / str(job_id)
        events = [json.loads(p.read_text()) for p in (artifacts / "job_events").glob("*.json")]
        events.sort(key=lambda e: e.get("counter", 0))
        return Job(result.status, result.rc, artifacts, events)
