"""A droplet renamed in place (oxy.infra.droplet with its id, as site.yml does after a rename in the
definition) stays the one machine, behind its cloud firewall, checked from the sandbox's outside address.

Needs a Docker engine and the droplet image, like the other machine tests (skipped without them).
"""

from __future__ import annotations

import time

import pytest

from tests.machines import test_machines
from tests.machines.test_machines import USER_DATA, address, container, reaches

# The machine tests' fixtures: a sandbox with machines on, the operators' key, an account with a VPC.
machines, key_pair, account = test_machines.machines, test_machines.key_pair, test_machines.account


@pytest.mark.slow
def test_a_renamed_droplet_is_the_same_machine_behind_its_firewall(machines, do, key_pair, account, run_module):
    fingerprint = do.ssh_keys.list()["ssh_keys"][0]["fingerprint"]
    base = dict(region="ams3", size="s-1vcpu-1gb", image="ubuntu-24-04-x64", vpc="default-ams3", tags=["oxy", "api"])
    created = run_module("droplet", name="oxy-api-backend", ssh_keys=[fingerprint], user_data=USER_DATA, **base)
    droplet = created["droplet"]
    public = address(droplet, "public")
    operator, outside = machines["operator_address"], machines["outside_address"]
    anywhere = {"addresses": ["0.0.0.0/0", "::/0"]}
    run_module(
        "firewall",
        name="oxy-api-backend",
        droplets=["oxy-api-backend"],
        inbound_rules=[
            {"protocol": "tcp", "ports": "22", "sources": {"addresses": [f"{operator}/32"]}},
            *({"protocol": "tcp", "ports": p, "sources": anywhere} for p in ("80", "443")),
        ],
        outbound_rules=[{"protocol": "tcp", "ports": "all", "destinations": anywhere}],
    )
    deadline = time.monotonic() + 30
    while not reaches(outside, public, 443) and time.monotonic() < deadline:
        time.sleep(0.5)  # user_data's listeners start after SSH
    machine = container(machines, droplet["id"])

    renamed = run_module("droplet", name="oxy-api-backend-2", id=str(droplet["id"]), wait=False, **base)
    assert renamed["changed"] and renamed["plan_action"] == "rename"
    assert [w for w in renamed.writes if w[0] == "POST"] == [("POST", "/v2/droplets/{droplet_id}/actions")]

    droplets = do.droplets.list()["droplets"]
    assert [(d["id"], d["name"]) for d in droplets] == [(droplet["id"], "oxy-api-backend-2")]
    assert address(droplets[0], "public") == public
    running = container(machines, droplet["id"])
    assert running["Id"] == machine["Id"] and running["State"]["Running"]  # the same machine, never restarted
    assert running["State"]["StartedAt"] == machine["State"]["StartedAt"]
    assert do.firewalls.list()["firewalls"][0]["droplet_ids"] == [droplet["id"]]
    # Behind its firewall still: from outside, 443 answers, 22 and 25 do not.
    assert reaches(outside, public, 443)
    assert not reaches(outside, public, 22) and not reaches(outside, public, 25)
    assert reaches(operator, public, 22)
