"""The file naming the API Caddy serves, as api_stack's tasks write it, is what its Caddyfile's map reads: the
address for every slot and port, with or without the last newline (Caddy 2.8 keeps it, later ones drop it); and the
live slot is read back from it, or from the slot alone that the file held before Caddy read it."""

from __future__ import annotations

import base64
import re

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from tests.roles.test_caddyfile import ROLE, render_caddyfile, role_task


def _template(text: str, **variables) -> str:
    loader = DataLoader()
    for path in (ROLE / "defaults/main.yml", ROLE / "vars/main.yml"):
        variables = {**loader.load_from_file(str(path), trusted_as_template=True), **variables}
    return Templar(loader=loader, variables=variables).template(trust_as_template(text))


def _map() -> re.Pattern:
    """The input pattern of the Caddyfile's map from the upstream file to the API's address."""
    lines = render_caddyfile().splitlines()
    start = lines.index("\tmap {file./etc/caddy/upstream} {oxy_api} {")
    pattern, address = lines[start + 1].split()
    assert address == "${1}" and pattern.startswith("~")
    return re.compile(pattern[1:])


def _written(serving: str, port: int) -> str:
    task = role_task("caddy.yml", "Switch to the healthy API")
    return _template(task["ansible.builtin.copy"]["content"], __api_stack_serving=serving, api_stack_api_port=port)


@pytest.mark.parametrize(("slot", "port"), [("blue", 3000), ("green", 3000), ("green", 8080)])
@pytest.mark.parametrize("newline", ["", "\n"])
def test_what_the_switch_writes_is_what_caddy_reads(slot, port, newline):
    written = _written(slot, port)
    assert not written.endswith("\n")
    match = _map().fullmatch(written + newline)
    assert match and match.groups() == (f"oxy-api-{slot}:{port}",), written


@pytest.mark.parametrize(
    ("content", "live"),
    [("oxy-api-green:3000", "green"), ("oxy-api-blue:8080\n", "blue"), ("blue\n", "blue"), ("", "")],
)
def test_the_live_slot_is_read_back_from_the_address_or_the_slot_alone(content, live):
    task = role_task("api.yml", "Name the live slot")
    slurped = {"content": base64.b64encode(content.encode()).decode()} if content else {}
    expression = task["ansible.builtin.set_fact"]["__api_stack_live"]
    assert _template(expression, __api_stack_upstream=slurped).strip() == live


@pytest.mark.parametrize(
    ("content", "written"),
    [("", True), ("blue\n", True), ("oxy-api-blue:3000", False), ("oxy-api-green:8080", False)],
)
def test_the_address_is_written_before_caddy_reads_it_only_where_it_is_missing(content, written):
    # A new host has no file; one whose Caddy named its slot in the Caddyfile has the slot alone (before Caddy read
    # the file); either gets the address before a Caddy that reads the file starts. A file with an address is left
    # to the switch, so that a new port never reaches the API still serving before the switch.
    facts = role_task("api.yml", "Name the live slot")["ansible.builtin.set_fact"]
    slurped = {"content": base64.b64encode(content.encode()).decode()} if content else {}
    variables = {name: _template(value, __api_stack_upstream=slurped).strip() for name, value in facts.items()}
    task = role_task(
        "caddy.yml", "The address of the API Caddy serves, for its first start or its first configuration that reads it"
    )
    assert _template(f"{{{{ {task['when']} }}}}", **variables) is written
