"""A rotation (oxy_rotate_credentials) delivers to every consumer of each reset password in the same run, or is
refused before any write; a run that reset a password and then failed to deliver it says so, and the next run
delivers it. The DigitalOcean side alone (playbooks/digitalocean.yml) cannot reach the droplet's API, whose
credentials come only from its stack in site.yml: droplets here are rows only, no machines needed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.fixtures.credentials import APPS, DROPLET, MONGODB, app_secrets, assert_settings, clusters
from tests.fixtures.playbooks import Run, ansible_playbook

DIGITALOCEAN = "playbooks/digitalocean.yml"
ROOT = Path(__file__).resolve().parents[2]


def rotate(sandbox, playbook: str, names: list[str], *extra: str) -> Run:
    return ansible_playbook(sandbox, playbook, "-e", json.dumps({"oxy_rotate_credentials": names}), *extra)


def deployments(do) -> dict[str, int]:
    return {a["spec"]["name"]: len(do.apps.list_deployments(a["id"])["deployments"]) for a in do.apps.list()["apps"]}


def test_a_rotation_the_droplet_uses_is_refused_where_its_stack_does_not_run(sandbox):
    droplet, user, _database = DROPLET
    droplet_app = next(name for name, (app_user, *_rest) in APPS.items() if app_user == user)
    alone = "which this playbook does not deploy (only site.yml does"
    cases = [
        # The Valkey password: every app and the droplet use it.
        (DIGITALOCEAN, ["valkey"], (), "resetting the Valkey password would leave oxy-api-backend behind", alone),
        # The droplet's app (here by its name, beside another app's user): the droplet shares that app's
        # MongoDB user. The whole rotation is refused, the other app's user too.
        (
            DIGITALOCEAN,
            ["mention", droplet_app],
            (),
            f"resetting the password of MongoDB user {user} would leave {droplet} behind (its consumers: {droplet_app},"
            f" {droplet})",
            alone,
        ),
        # site.yml with the stack's tasks skipped cannot deliver to the droplet either.
        (
            "site.yml",
            ["all"],
            ("--skip-tags", "stack,verify"),
            "the Valkey password would leave oxy-api-backend behind",
            "whose tasks the tags of this run leave out (--tags/--skip-tags)",
        ),
        # Tags that leave out the apps' task leave the apps behind.
        (
            DIGITALOCEAN,
            ["mention"],
            ("--tags", "credentials"),
            "resetting the password of MongoDB user mention would leave mention-production behind",
            "The apps get theirs from the task tagged apps, which the tags of this run leave out",
        ),
    ]
    for playbook, names, extra, message, why in cases:
        run = rotate(sandbox, playbook, names, *extra)
        said = " ".join(run.out.split())
        assert run.rc != 0, run.out
        assert message in said and why in said, run.out[-3000:]
        # What to run instead: the command that delivers everywhere, with this rotation.
        assert f"""scripts/site -e '{{"oxy_rotate_credentials": {json.dumps(names)}}}'""" in said, run.out[-3000:]
        assert "Nothing was changed" in said
        assert "TASK [VPC]" not in run.out, "the refusal came after the run started writing"
    assert sandbox.summary()["writes"] == 0, sandbox.summary()


@pytest.mark.slow
def test_apps_only_rotation_goes_on_and_a_failed_delivery_is_reported_then_finished_by_the_next_run(sandbox, do):
    rc, out, _stats = ansible_playbook(sandbox, DIGITALOCEAN)
    assert rc == 0, out
    mongo = clusters(do)[MONGODB]

    def password(user: str) -> str:
        return do.databases.get_user(mongo["id"], user)["user"]["password"]

    # Two apps' own users: their consumers are those apps alone, which the DigitalOcean side delivers to. One
    # app's update is refused after both passwords were reset: the run fails saying what was reset and which
    # consumer has not received it (not the app that has), and that the next run delivers it.
    old, before = {u: password(u) for u in ("mention", "alia")}, deployments(do)
    mention = next(a["id"] for a in do.apps.list()["apps"] if a["spec"]["name"] == "mention-production")
    sandbox.faults(rate=1.0, statuses=[422], methods=["PUT"], path_regex=f"^/v2/apps/{mention}$", phase="before")
    rc, out, _stats = rotate(sandbox, DIGITALOCEAN, ["mention", "alia-production"])
    sandbox.faults()  # none from here on
    assert rc != 0
    assert all(password(u) != old[u] for u in old), "both passwords are reset before the apps are updated"
    said = " ".join(out.split())
    assert (
        "The rotation did not finish: this run reset the password of MongoDB user alia and the password of MongoDB"
        " user mention, then failed before every consumer received the new password. Not delivered:"
        " mention-production (the password of MongoDB user mention). Until they have it" in said
    ), out[-3000:]
    assert "the next run of site.yml (scripts/site, or the AWX job template Oxy apply)" in said
    assert_settings(do, "alia-production", app_secrets(do)["alia-production"], *APPS["alia-production"])
    assert password("mention") not in app_secrets(do)["mention-production"]["MONGODB_URI"]
    assert deployments(do) == {**before, "alia-production": before["alia-production"] + 1}

    # The next run, without a rotation, delivers the password the API holds now; nothing else moves.
    rc, out, _stats = ansible_playbook(sandbox, DIGITALOCEAN)
    assert rc == 0, out
    assert_settings(do, "mention-production", app_secrets(do)["mention-production"], *APPS["mention-production"])
    assert deployments(do) == {
        **before,
        "alia-production": before["alia-production"] + 1,
        "mention-production": before["mention-production"] + 1,
    }
    leaked = [s for s in sandbox.control("GET", "secrets")["secrets"] if s in out]
    assert not leaked, "a password reached the playbook's output"


def test_site_reports_a_reset_password_the_droplet_did_not_receive(sandbox, tmp_path):
    """site.yml's last play (playbooks/credentials_delivered.yml) after a run where the droplet was unreachable:
    the droplet answers nowhere here (a closed port), as a droplet does that fails after a rotation's reset."""
    droplet, user, _database = DROPLET
    rotated = {
        "the Valkey password": ["oxy-api", droplet],
        f"the password of MongoDB user {user}": ["oxy-api", droplet],
    }
    ends = []
    for reachable in (False, True):
        run = tmp_path / f"site-{reachable}.yml"
        run.write_text(
            json.dumps(
                [
                    {
                        "name": "What site.yml's plays leave behind",
                        "hosts": "digitalocean",
                        "gather_facts": False,
                        "tasks": [
                            {
                                "name": "The passwords reset",
                                "ansible.builtin.set_fact": {"app_credentials_rotated": rotated},
                            },
                            {
                                "name": "The droplet joins the run",
                                "ansible.builtin.add_host": {
                                    "name": droplet,
                                    "groups": ["api_backend"],
                                    **(
                                        {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
                                        if reachable
                                        else {"ansible_host": "127.0.0.1", "ansible_port": 9, "ansible_user": "root"}
                                    ),
                                },
                            },
                        ],
                    },
                    {
                        # As in site.yml, the controller is in the droplet's plays, so that the run goes on.
                        "name": "Its stack",
                        "hosts": "api_backend:digitalocean",
                        "gather_facts": False,
                        "tasks": [{"ansible.builtin.ping": {}, "when": "inventory_hostname in groups.api_backend"}],
                    },
                    {"ansible.builtin.import_playbook": str(ROOT / "playbooks/credentials_delivered.yml")},
                ]
            )
        )
        ends.append(ansible_playbook(sandbox, str(run)))
    unreachable, delivered = ends
    assert unreachable.rc != 0 and unreachable.hosts["localhost"]["failed"] == 1, unreachable.out
    assert (
        "The rotation did not finish: this run reset the Valkey password and the password of MongoDB user oxy, but"
        f" {droplet} (the droplet's API, a consumer of them) failed or was unreachable in this run, so its env file"
        " may still hold the old password, which no longer works. It is delivered by the next run of site.yml"
        in " ".join(unreachable.out.split())
    ), unreachable.out[-3000:]
    assert delivered.rc == 0 and delivered.hosts["localhost"]["failed"] == 0, delivered.out
    assert sandbox.summary()["writes"] == 0


ROTATED = {"the Valkey password": ["oxy-api", DROPLET[0]], f"the password of MongoDB user {DROPLET[1]}": ["oxy-api"]}


def after_the_droplets_preparation(tmp_path: Path, name: str, then: list[dict], controller_fails: bool) -> Path:
    """A playbook that leaves what site.yml's droplet preparation play leaves when the controller converged the
    services beside it: the passwords it reset (delivered to the apps), the droplet in the run (answering locally),
    and the controller failed in that play, or not; then ``then``."""
    run = tmp_path / name
    run.write_text(
        json.dumps(
            [
                {
                    "name": "What the droplet's preparation leaves behind",
                    "hosts": "digitalocean",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "name": "The passwords reset",
                            "ansible.builtin.set_fact": {"app_credentials_rotated": ROTATED},
                        },
                        {
                            "name": "The droplet joins the run",
                            "ansible.builtin.add_host": {
                                "name": DROPLET[0],
                                "groups": ["api_backend"],
                                "ansible_connection": "local",
                                "ansible_python_interpreter": sys.executable,
                            },
                        },
                    ],
                },
                {
                    "name": "The droplet's preparation, the controller's services beside it",
                    "hosts": "api_backend:digitalocean",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "name": "The services",
                            "ansible.builtin.fail": {"msg": "the services failed"},
                            "when": controller_fails and "inventory_hostname in groups.digitalocean",
                        }
                    ],
                },
                *then,
            ]
        )
    )
    return run


def test_the_stack_is_not_deployed_when_the_controller_failed_beside_the_droplet(sandbox, tmp_path):
    """site.yml converges DigitalOcean's services beside the droplet's preparation: when the controller failed there,
    the run would go on with the droplet alone, whose credentials, trusted sources or DKIM records may be missing. The
    stack's play refuses it first, naming the reset passwords the droplet has not received; nothing of it runs."""
    stack = {"ansible.builtin.import_playbook": str(ROOT / "playbooks/api_backend_stack.yml")}
    run = ansible_playbook(sandbox, str(after_the_droplets_preparation(tmp_path, "failed.yml", [stack], True)))
    assert run.rc != 0 and run.hosts[DROPLET[0]]["failed"] == 1, run.out
    said = " ".join(run.out.split())
    assert (
        f"Not deploying the stack of {DROPLET[0]}: the controller failed earlier in this run (see its error above)"
        in said
    ), run.out[-3000:]
    assert f"This run reset the Valkey password, which {DROPLET[0]} (the droplet's API) has not received." in said
    assert "TASK [oxy.infra.api_stack" not in run.out and "TASK [What api_stack manages" not in run.out
    assert sandbox.summary()["writes"] == 0


def test_a_failure_to_publish_the_records_after_a_rotation_names_the_droplet(sandbox, tmp_path):
    """The records' play follows the droplet's preparation in site.yml and ends the run when it fails, before the stack
    delivers the reset passwords to the droplet: it says which the droplet has not received. The same failure without
    a rotation says only what failed."""
    records = {
        "ansible.builtin.import_playbook": str(ROOT / "playbooks/digitalocean_services.yml"),
        "vars": {"__oxy_services_beside_machine": True},
    }
    sandbox.faults(rate=1.0, statuses=[422], methods=["GET", "POST"], path_regex="^/v2/domains/", phase="before")
    rotated = ansible_playbook(sandbox, str(after_the_droplets_preparation(tmp_path, "dns.yml", [records], False)))
    plain = tmp_path / "plain.yml"
    plain.write_text(json.dumps([records]))
    unrotated = ansible_playbook(sandbox, str(plain))
    sandbox.faults()
    assert rotated.rc != 0 and rotated.hosts["localhost"]["failed"] == 1, rotated.out
    said = " ".join(rotated.out.split())
    assert (
        "The rotation did not finish: this run reset the Valkey password, then publishing the zone's records failed"
        in said
    ), rotated.out[-3000:]
    assert f"so {DROPLET[0]} (the droplet's API, a consumer of them) has not received them" in said
    assert "422" in rotated.out  # the API's refusal, above the report
    assert "It is delivered by the next run of site.yml (scripts/site, or the AWX job template Oxy apply)" in said
    assert unrotated.rc != 0 and "The rotation did not finish" not in unrotated.out, unrotated.out[-3000:]
    assert "TASK [Publishing the zone's records failed]" in unrotated.out
