"""The job templates of awx/oxy.yml run the way AWX runs them (tests/awx/awx_job.py): AWX's private data
directory (the project, the sandbox inventory as AWX imports it, the "DigitalOcean API" credential's
injectors, extra vars and survey answers, the command line) handed to ansible-runner, which runs the
job in the execution environment (OXY_IMAGE_EE) against the test sandbox.

The lifecycle test runs each job as a sandbox copy of its template with skip_tags "stack,verify" (AWX's
skip_tags field, ``--skip-tags=stack,verify`` on the job's command line), as tests/playbooks/test_plan.py
runs the DigitalOcean side, so that it needs no machines. test_apply_and_verify_with_the_droplets_stack
runs Oxy apply whole (the droplet's Docker stack over SSH with the Machine credential's key) and then
Oxy verify, on a sandbox whose droplets are machines.

In AWX the sandbox inventory needs the operators' public key for oxy_ssh_public_key
(inventory/sandbox reads ``OXY_SSH_KEY_FILE``'s ``.pub``): here the key's folder is exposed to the job
(AWX_ISOLATION_SHOW_PATHS, "Paths to expose to isolated jobs") and OXY_SSH_KEY_FILE set through
AWX_TASK_ENV ("Extra Environment Variables"), both AWX settings.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path

import pytest

from tests.awx import awx_job
from tests.fixtures import playbooks

SKIP = "stack,verify"


@pytest.fixture(scope="module")
def ee_image() -> str:
    image = os.environ.get("OXY_IMAGE_EE")
    if not image:
        pytest.skip('the execution environment is not built: eval "$(scripts/ee-build)" sets OXY_IMAGE_EE')
    if subprocess.run(["docker", "image", "inspect", image], capture_output=True, check=False).returncode:
        pytest.skip(f"the execution environment {image} is not on this machine's docker")
    return image


@pytest.fixture(scope="module")
def awx(ee_image, sandbox_process, tmp_path_factory) -> awx_job.Launcher:
    project = awx_job.copy_project(tmp_path_factory.mktemp("project"))
    source = next(s for s in awx_job.AWX["inventory_sources"] if s["inventory"]["name"] == "Oxy sandbox")
    imported = awx_job.import_inventory(project, source["source_path"], ee_image)
    key = Path(os.environ["OXY_SSH_KEY_FILE"])  # the sandbox fixture's operators' key pair
    ca = Path(sandbox_process.ca).read_text() if sandbox_process.ca else ""
    return awx_job.Launcher(
        image=ee_image,
        project=project,
        inventory=awx_job.inventory_script(imported),
        do_inputs={"token": "dop_v1_" + secrets.token_hex(32), "api_url": sandbox_process.url, "ca_bundle": ca},
        ssh={"username": "root", "ssh_key_data": key.read_text()},
        task_env={"OXY_SSH_KEY_FILE": str(key)},
        show_paths=[str(key.parent)],
        work=tmp_path_factory.mktemp("awx"),
    )


def changed(report: dict) -> dict[str, list[str]]:
    return {
        f"{r['kind']} {r['name']}": sorted(f["field"] for f in r["fields"])
        for r in report["resources"]
        if r["action"] != "no change"
    }


def test_the_credential_renders_as_awx_renders_it(tmp_path):
    (tmp_path / "env").mkdir()
    ctype = awx_job.credential_type("DigitalOcean API")
    env = awx_job.inject(ctype, {"token": "t0k", "api_url": "https://127.0.0.1:1", "ca_bundle": "PEM"}, tmp_path)
    ca_file = env["DIGITALOCEAN_CA_BUNDLE"]
    assert env["DIGITALOCEAN_TOKEN"] == "t0k" and env["DIGITALOCEAN_API_URL"] == "https://127.0.0.1:1"
    assert ca_file.startswith("/runner/env/")
    written = tmp_path / Path(ca_file).relative_to("/runner")
    assert written.read_text() == "PEM" and oct(written.stat().st_mode & 0o777) == "0o600"
    # Production: the URL as the credential holds it, no CA (the system's).
    (tmp_path / "prod").mkdir()
    (tmp_path / "prod/env").mkdir()
    env = awx_job.inject(ctype, {"token": "t0k", "api_url": ""}, tmp_path / "prod")
    assert env["DIGITALOCEAN_API_URL"] == "https://api.digitalocean.com" and env["DIGITALOCEAN_CA_BUNDLE"] == ""


def test_surveys_refuse_what_awx_refuses_at_launch():
    teardown = awx_job.job_template("Oxy teardown")
    with pytest.raises(ValueError, match="oxy_teardown_confirm"):
        awx_job.survey_extra_vars(teardown, {})
    assert awx_job.survey_extra_vars(teardown, {"oxy_teardown_confirm": "Oxy"}) == {"oxy_teardown_confirm": "Oxy"}
    rotate = awx_job.job_template("Oxy rotate credentials")
    with pytest.raises(ValueError, match="choices"):
        awx_job.survey_extra_vars(rotate, {"oxy_rotate_credentials": ["nobody"]})
    with pytest.raises(ValueError, match="oxy_teardown_orphans"):
        awx_job.survey_extra_vars(teardown, {"oxy_teardown_confirm": "Oxy", "oxy_teardown_orphans": "maybe"})
    answers = {"oxy_teardown_confirm": "Oxy", "oxy_teardown_orphans": "yes"}
    assert awx_job.survey_extra_vars(teardown, answers) == answers

    apply = awx_job.job_template("Oxy apply")
    assert awx_job.survey_extra_vars(apply, {}) == {}
    assert awx_job.survey_extra_vars(apply, {"oxy_confirm_replace": ["db-oxy"]}) == {"oxy_confirm_replace": ["db-oxy"]}
    with pytest.raises(ValueError, match="oxy_confirm_upgrade"):
        awx_job.survey_extra_vars(apply, {"oxy_confirm_upgrade": ["db-elsewhere"]})


@pytest.mark.slow
def test_the_job_templates_plan_apply_drift_rotate_and_tear_down(awx, sandbox, do):
    jobs = []

    def launch(name: str, answers: dict | None = None) -> awx_job.Job:
        job = awx.launch(name, answers, skip_tags=SKIP)
        jobs.append(job)
        return job

    # Oxy plan (job type Check) on an empty account: everything to create, nothing written.
    plan = launch("Oxy plan")
    assert plan.status == "successful", plan.stdout[-6000:]
    assert plan.plan["mode"] == "plan" and plan.plan["changes_pending"], plan.stdout[-4000:]
    assert set(changed(plan.plan)) and {r["action"] for r in plan.plan["resources"]} == {"create"}
    assert sandbox.summary()["writes"] == 0

    apply = launch("Oxy apply")
    assert apply.status == "successful", apply.stdout[-6000:]
    assert [d["name"] for d in do.droplets.list()["droplets"]] == ["oxy-api-backend"]

    plan = launch("Oxy plan")
    assert plan.status == "successful" and not plan.plan["changes_pending"], changed(plan.plan)

    drift = launch("Oxy drift report")
    assert drift.status == "successful" and "No drift" in drift.stdout, drift.stdout[-4000:]

    # Out of band, as in the console: a rule the definition does not have.
    firewall = do.firewalls.list()["firewalls"][0]
    do.firewalls.add_rules(
        firewall["id"],
        {"inbound_rules": [{"protocol": "tcp", "ports": "8080", "sources": {"addresses": ["0.0.0.0/0"]}}]},
    )
    mark = sandbox.log()[-1]["seq"]
    drift = launch("Oxy drift report")
    assert drift.status == "failed" and "The environment drifted from its definition" in drift.stdout
    assert set(changed(drift.plan)) == {"cloud firewall oxy-api-backend"}, changed(drift.plan)
    assert sandbox.summary(since=mark)["writes"] == 0
    # Oxy apply puts the firewall back as defined; the next drift report is clean.
    apply = launch("Oxy apply")
    assert apply.status == "successful", apply.stdout[-6000:]
    assert [r["ports"] for r in do.firewalls.get(firewall["id"])["firewall"]["inbound_rules"]].count("8080") == 0
    drift = launch("Oxy drift report")
    assert drift.status == "successful" and "No drift" in drift.stdout, drift.stdout[-4000:]

    # Oxy rotate credentials, survey ["mention"]: mention's MongoDB user gets a new password.
    mongo = next(c for c in do.databases.list_clusters()["databases"] if c["name"] == "db-oxy")
    before = do.databases.get_user(mongo["id"], "mention")["user"]["password"]
    rotate = launch("Oxy rotate credentials", {"oxy_rotate_credentials": ["mention"]})
    assert rotate.status == "successful", rotate.stdout[-6000:]
    assert do.databases.get_user(mongo["id"], "mention")["user"]["password"] != before

    held = {awx.do_inputs["token"], before, *sandbox.control("GET", "secrets")["secrets"]}

    # Oxy teardown: a survey answer that is not the environment's name is refused before any write.
    mark = sandbox.log()[-1]["seq"]
    refused = launch("Oxy teardown", {"oxy_teardown_confirm": "oxy"})
    assert refused.status == "failed" and "nothing was deleted" in refused.stdout, refused.stdout[-4000:]
    assert sandbox.summary(since=mark)["writes"] == 0
    teardown = launch("Oxy teardown", {"oxy_teardown_confirm": "Oxy"})
    assert teardown.status == "successful", teardown.stdout[-6000:]
    assert do.droplets.list()["droplets"] == [] and do.apps.list().get("apps", []) == []
    assert do.databases.list_clusters()["databases"] == [] and do.firewalls.list()["firewalls"] == []
    # The DNS zone stays (it may hold others' records), and with it the project that holds it.
    said = " ".join(teardown.stdout.split())
    assert "Project Oxy is left in place" in said and "do:domain:oxy.so" in said, teardown.stdout[-4000:]

    # What AWX stores of these jobs holds neither the token nor any password the sandbox handed out.
    held |= set(sandbox.control("GET", "secrets")["secrets"])
    assert len(held) == 9  # the token, two admin passwords, five app users and mention's old password
    for job in jobs:
        events = job.raw_events()
        assert events and not [s for s in held if s in events], f"a secret is in job {job.artifacts.name}'s events"


def recap(job: awx_job.Job, host: str) -> dict[str, int]:
    found = playbooks.recap(job.stdout)
    assert host in found, job.stdout[-4000:]
    return found[host]


def test_apply_and_verify_with_the_droplets_stack(awx, sandbox, do):
    """Oxy apply as AWX runs it, whole: every resource, then the droplet's stack over SSH (the Machine
    credential's key, through the execution environment's ssh), then the verification; Oxy verify alone
    passes after it; neither job's events hold a secret."""
    sandbox.with_the_stack()
    apply = awx.launch("Oxy apply")
    assert apply.status == "successful", apply.stdout[-6000:]
    droplet = recap(apply, "oxy-api-backend")
    assert droplet["changed"] > 0 and droplet["failed"] == droplet["unreachable"] == 0, droplet
    assert "Verify the environment from outside" in apply.stdout

    verify = awx.launch("Oxy verify")
    assert verify.status == "successful", verify.stdout[-6000:]
    assert "Check the droplet's public services" in verify.stdout
    assert "Every consumer's Valkey URL works" in verify.stdout
    assert recap(verify, "oxy-api-backend")["changed"] == 0

    held = {awx.do_inputs["token"], *sandbox.control("GET", "secrets")["secrets"]}
    for job in (apply, verify):
        events = job.raw_events()
        assert events and not [s for s in held if s in events], f"a secret is in job {job.artifacts.name}'s events"
