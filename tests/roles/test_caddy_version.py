"""api_stack refuses a Caddy older than 2.9: its Caddyfile steers which API Caddy serves with health checks sent to an
endpoint of its own (health_upstream) that name the upstream they check, which older ones refuse. The role's own
check ("Caddy 2.9 or later", tasks/caddy_next.yml) on what `caddy version` printed in the validating container comes
first, with the version in its message, and then whether Caddy accepted the configuration; evaluated by Ansible's
templating: the official image prints "v2.10.0 h1:...", Debian's "2.11.2"; Caddy's log lines follow."""

from __future__ import annotations

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from tests.roles.test_caddyfile import render_caddyfile, role_task

LOG = '{"level":"info","msg":"using config from file","file":"/etc/caddy/Caddyfile.next"}\nValid configuration\n'


def test_a_new_caddy_image_changes_the_caddyfile_so_it_is_checked():
    assert render_caddyfile(api_stack_caddy_image="caddy:2.10") != render_caddyfile(api_stack_caddy_image="caddy:2.8")


def _check() -> dict:
    return role_task("caddy_next.yml", "Caddy 2.9 or later")


def _passes(output: str) -> bool:
    task = _check()
    variables = {"__api_stack_caddy_validated": {"container": {"Output": output}}}
    templar = Templar(loader=DataLoader(), variables=variables)
    version = templar.template(trust_as_template(task["vars"]["__api_stack_caddy_version"]))
    templar = Templar(loader=DataLoader(), variables={**variables, "__api_stack_caddy_version": version})
    conditions = task["ansible.builtin.assert"]["that"]
    return all(templar.template(trust_as_template(f"{{{{ {that} }}}}")) for that in conditions)


@pytest.mark.parametrize("printed", ["v2.9.1 h1:xyz=", "v2.10.0 h1:abc=", "2.11.2", "v3.0.0"])
def test_caddy_2_9_and_later_pass(printed):
    assert _passes(f"{printed}\n{LOG}")


@pytest.mark.parametrize("printed", ["v2.8.4 h1:xyz=", "v2.7.6 h1:xyz=", "2.6.2", "sh: caddy: not found"])
def test_older_or_no_caddy_is_refused(printed):
    assert not _passes(f"{printed}\n{LOG}")


@pytest.mark.parametrize(
    ("validated", "checked"),
    [
        ({"changed": False, "skipped": True}, False),  # the configuration is unchanged: no container ran
        ({"changed": True, "container": {}}, False),  # a result without the container's output
        ({"changed": True, "container": {"Output": "2.11.2\n"}}, True),
    ],
)
def test_the_check_runs_only_where_caddy_ran(validated, checked):
    templar = Templar(loader=DataLoader(), variables={"__api_stack_caddy_validated": validated})
    assert templar.template(trust_as_template(f"{{{{ {_check()['when']} }}}}")) is checked


def _template(expression: str, validated: dict):
    templar = Templar(loader=DataLoader(), variables={"__api_stack_caddy_validated": validated})
    return templar.template(trust_as_template(f"{{{{ {expression} }}}}"))


REFUSED = {
    "failed": True,
    "status": 1,
    "msg": "v2.8.4 h1:x\nError: unrecognized subdirective health_upstream",
    "container": {"Output": "v2.8.4 h1:x\nError: unrecognized subdirective health_upstream"},
}


@pytest.mark.parametrize(
    ("validated", "task_fails", "accepted"),
    [
        ({"changed": False, "status": 0, "container": {"Output": f"2.11.2\n{LOG}"}}, False, True),
        # Caddy ran and refused the configuration: the version is checked first, then this is reported.
        (REFUSED, False, False),
        # No container ran (no image, no engine): the validating task fails itself, with the module's message.
        ({"failed": True, "msg": "Error pulling image caddy:9"}, True, True),
    ],
)
def test_a_refused_configuration_is_reported_after_caddys_version(validated, task_fails, accepted):
    validate = role_task(
        "caddy_next.yml", "Validate the new configuration before using it, with the version of Caddy that will run it"
    )
    assert _template(validate["failed_when"], validated) is task_fails
    accept = role_task("caddy_next.yml", "Caddy accepts the new configuration")
    assert _template(accept["ansible.builtin.assert"]["that"], validated) is accepted
    if not accepted:
        assert "unrecognized subdirective health_upstream" in Templar(
            loader=DataLoader(),
            variables={"__api_stack_caddy_validated": validated, "api_stack_caddy_image": "caddy:2.8"},
        ).template(trust_as_template(accept["ansible.builtin.assert"]["fail_msg"]))
        assert not _passes(validated["container"]["Output"])  # and the version check, before it, names 2.8.4
